package doctest

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests from the module's root, the directory the docs
// write their paths from (docs/language.md, testdata/golden/NAME.sock,
// ./cmd/sockc), so that a test reads a path as the doc names it and
// reports it so.
func TestMain(m *testing.M) {
	if err := os.Chdir(".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := os.Stat("go.mod"); err != nil {
		fmt.Fprintln(os.Stderr, "doctest: the parent directory is not the module's root:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
