package doctest

import (
	"testing"

	"github.com/sockc/sockc/internal/mdfence"
)

// readFences returns the fenced blocks of a Markdown file, for the tests
// that read docs/language.md block by block.
func readFences(t *testing.T, path string) []mdfence.Block {
	t.Helper()
	blocks, err := mdfence.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}
