package runtime_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sockc/sockc/internal/kerneltest"
)

// buildClangObject compiles a C BPF program with clang -O2 -target bpf.
func buildClangObject(t *testing.T, src string) string {
	t.Helper()
	clang := kerneltest.Tool(t, "clang")
	if _, err := os.Stat("/usr/include/bpf/bpf_helpers.h"); err != nil {
		kerneltest.Unavailable(t, "libbpf headers are not installed (Debian: libbpf-dev)")
	}
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	out := filepath.Join(t.TempDir(), "prog.o")
	cmd := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-I/usr/include/"+arch+"-linux-gnu", "-c", src, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, b)
	}
	return out
}
