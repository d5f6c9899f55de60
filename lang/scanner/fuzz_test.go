package scanner

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/fuzzcheck"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// FuzzScan scans arbitrary bytes: the scanner must not panic or hang, must
// return a well formed token stream (one final EOF, offsets in order and
// inside the file, values equal to the source they cover, balanced
// Indent/Dedent), and well formed diagnostics that format without panic.
func FuzzScan(f *testing.F) {
	fuzzcheck.Fuzz(f, "../..", scanProperties)
}

// scanProperties scans src and checks every property FuzzScan asserts.
func scanProperties(src []byte) error {
	f := token.NewFile("fuzz.sock", src)
	c := diag.NewCollector(f)
	res := Scan(f, c)
	if err := checkTokens(f, res); err != nil {
		return err
	}
	if err := checkComments(src, res.Comments); err != nil {
		return err
	}
	if err := fuzzcheck.CheckDiagnostics(f, c.List()); err != nil {
		return err
	}
	return formatAnywhere(f)
}

// checkTokens asserts what the parser relies on in a token stream.
func checkTokens(f *token.File, res Result) error {
	src := f.Source()
	toks := res.Tokens
	if len(toks) == 0 || toks[len(toks)-1].Kind != token.EOF {
		return fmt.Errorf("token stream does not end with EOF")
	}
	// open is the index of a content token whose line has not ended yet:
	// the parser relies on a Newline after the last token of every line,
	// before any Indent, Dedent or EOF.
	depth, prev, open := 0, 0, -1
	for i, t := range toks {
		switch t.Kind {
		case token.Newline:
			open = -1
		case token.Keyword, token.Ident, token.Int, token.IPv4, token.Punct:
			open = i
		default: // Indent, Dedent, EOF
			if open >= 0 {
				return fmt.Errorf("token %d %q: its line does not end with a Newline before token %d", open, toks[open].Text, i)
			}
		}
		off := t.Pos.Offset()
		if t.Kind == token.EOF && i != len(toks)-1 {
			return fmt.Errorf("token %d: EOF before the end of the stream", i)
		}
		if off < prev || off > len(src) {
			return fmt.Errorf("token %d %q: offset %d, previous %d, file %d bytes", i, t.Text, off, prev, len(src))
		}
		prev = off
		switch t.Kind {
		case token.Indent:
			depth++
		case token.Dedent:
			depth--
			if depth < 0 {
				return fmt.Errorf("token %d: Dedent without an open Indent", i)
			}
		case token.Keyword, token.Ident, token.Int, token.IPv4, token.Punct:
			if !bytes.HasPrefix(src[off:], []byte(t.Text)) || t.Text == "" {
				return fmt.Errorf("token %d: value %q is not the source at offset %d", i, t.Text, off)
			}
			if (t.Kind == token.Keyword || t.Kind == token.Ident) && (t.Kind == token.Keyword) != IsKeyword(t.Text) {
				return fmt.Errorf("token %d: %q is a keyword: %v, typed as one: %v", i, t.Text, IsKeyword(t.Text), t.Kind == token.Keyword)
			}
		}
	}
	if depth != 0 {
		return fmt.Errorf("%d Indent tokens left open at EOF", depth)
	}
	return nil
}

// checkComments asserts that each comment is the source at its position.
func checkComments(src []byte, cs []Comment) error {
	for _, c := range cs {
		off := c.Pos.Offset()
		if !strings.HasPrefix(c.Text, "#") || strings.Contains(c.Text, "\n") || !bytes.HasPrefix(src[off:], []byte(c.Text)) {
			return fmt.Errorf("comment %q at offset %d is not the source there", c.Text, off)
		}
	}
	return nil
}

// formatAnywhere formats diagnostics at spans across the whole file,
// including the end, past the end, reversed spans and no position:
// whatever a caller reports, Format must not panic and its caret must stay
// on the line. The spots are character boundaries, as every position the
// compiler reports is (checkDiagnostic): inside a character the caret
// cannot be aligned.
func formatAnywhere(f *token.File) error {
	n := len(f.Source())
	spot := func(off int) token.Pos { return token.PosOf(fuzzcheck.CharStart(f, off)) }
	spots := []token.Pos{token.NoPos, spot(0), spot(n / 2), spot(n - 1), spot(n), token.PosOf(n + 1)}
	c := diag.NewCollector(f)
	for i, pos := range spots {
		for j, end := range spots {
			c.Add(diag.Error, pos, end, "h", "m%d.%d", i, j)
		}
	}
	for _, d := range c.List() {
		if err := fuzzcheck.CheckFormat(d); err != nil {
			return err
		}
	}
	return nil
}
