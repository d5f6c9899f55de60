// Package golden holds the -update flag shared by every test package, so
// that `go test ./... -update` works across the module, and compares output
// with golden files.
package golden

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

// update is registered in every test binary that imports this package.
var update = flag.Bool("update", false, "rewrite golden files with the current output")

// Updating reports whether -update was given.
func Updating() bool { return *update }

// Check compares got with the file at path, or rewrites the file under
// -update. A missing file is an error unless updating.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update and review the diff):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
