package sockc_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestMain removes the sockc binary that the tests built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	binErr    error
)

// sockcBinary builds the sockc command, once per test binary and only
// for the tests that run it.
func sockcBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "sockc-badinput-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "sockc")
		out, err := exec.Command("go", "build", "-o", binPath, "./cmd/sockc").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build sockc: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}
