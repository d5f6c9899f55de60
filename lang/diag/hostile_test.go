package diag

import (
	"strings"
	"testing"

	"github.com/sockc/sockc/lang/token"
)

// formatAt collects one error at offset off of src, spanning n bytes, and
// returns the shown source line and the caret line of its Format.
func formatAt(t *testing.T, src string, off, n int) (shown, caret string) {
	t.Helper()
	f := token.NewFile("h.sock", []byte(src))
	c := NewCollector(f)
	c.Errorf(token.PosOf(off), token.PosOf(off+n), "m")
	var b strings.Builder
	c.List()[0].Format(&b)
	lines := strings.Split(b.String(), "\n")
	return lines[1], lines[2]
}

// TestFormatHidesControlCharacters checks that the shown source line holds
// no control character a terminal would act on, one U+FFFD for each, with
// the caret still under the spot.
func TestFormatHidesControlCharacters(t *testing.T) {
	src := "on \x1b[2J\x00\r\u009b x: drop\n"
	shown, caret := formatAt(t, src, strings.Index(src, "x:"), 1)
	if want := "    on \uFFFD[2J\uFFFD\uFFFD\uFFFD x: drop"; shown != want {
		t.Errorf("shown line %q, want %q", shown, want)
	}
	if want := "    " + strings.Repeat(" ", len("on ")+len("_[2J___ ")) + "^"; caret != want {
		t.Errorf("caret line %q, want %q", caret, want)
	}
}

// TestFormatSkipsBOM checks that a byte order mark at the start of the
// file is not shown and does not push the caret right.
func TestFormatSkipsBOM(t *testing.T) {
	src := "\uFEFFsockhash m: max 0\n"
	shown, caret := formatAt(t, src, strings.Index(src, "0"), 1)
	if want := "    sockhash m: max 0"; shown != want {
		t.Errorf("shown line %q, want %q", shown, want)
	}
	if want := "    " + strings.Repeat(" ", len("sockhash m: max ")) + "^"; caret != want {
		t.Errorf("caret line %q, want %q", caret, want)
	}
}
