package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sockc/sockc/runtime"
)

// BPFFSRoot is where bpffs is expected to be mounted.
const BPFFSRoot = runtime.BPFFSRoot

// Tool returns the path of an external program a kernel test needs, or
// skips (fails when required) if it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, fmt.Sprintf("%s is not installed (.ci/run installs it)", name))
	}
	return p
}

// PinDir returns a fresh directory on bpffs for the test's pins, mounting
// bpffs first if needed. The directory and every pin in it are removed when
// the test ends, pass or fail.
func PinDir(t testing.TB) string {
	t.Helper()
	Require(t)
	if err := runtime.EnsureBPFFS(BPFFSRoot); err != nil {
		Unavailable(t, err.Error())
	}
	dir, err := os.MkdirTemp(BPFFSRoot, "sockc-test-")
	if err != nil {
		t.Fatalf("create pin directory: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove pins in %s: %v", dir, err)
		}
	})
	return dir
}

// Run runs a command and fails the test with its output if it fails.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return out
}
