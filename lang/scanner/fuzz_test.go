package scanner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// fuzzMaxInput bounds fuzz inputs: longer ones only slow the fuzzer down,
// and the scanner is linear, so they find nothing a short one does not.
const fuzzMaxInput = 64 << 10

// fuzzDeadline is how long one input may run before the target reports a
// hang. Go's fuzzer has no per-input timeout (a hung worker just stalls
// the run), so each input runs in a goroutine watched by a timer. A 64 KiB
// input scans in a fraction of a second; ten seconds is a hang by a wide
// margin, even on a loaded 2-core machine.
const fuzzDeadline = 10 * time.Second

// FuzzScan scans arbitrary bytes: the scanner must not panic or hang, must
// return a well formed token stream (one final EOF, offsets in order and
// inside the file, values equal to the source they cover, balanced
// Indent/Dedent), and well formed diagnostics that format without panic.
func FuzzScan(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > fuzzMaxInput {
			t.Skip("input over 64 KiB")
		}
		if err := withDeadline(func() error { return scanProperties(src) }); err != nil {
			t.Fatalf("input %q:\n%v", clip(src), err)
		}
	})
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
	if err := checkDiagnostics(f, c.List()); err != nil {
		return err
	}
	return formatAnywhere(f)
}

// checkTokens asserts what the parser relies on in a token stream.
func checkTokens(f *token.File, res Result) error {
	src := f.Source()
	toks := res.Tokens
	if len(toks) == 0 || !toks[len(toks)-1].EOF() {
		return fmt.Errorf("token stream does not end with EOF")
	}
	// open is the index of a content token whose line has not ended yet:
	// the parser relies on a Newline after the last token of every line,
	// before any Indent, Dedent or EOF.
	depth, prev, open := 0, 0, -1
	for i, t := range toks {
		switch t.Type {
		case Newline:
			open = -1
		case Keyword, Ident, Int, IPv4, Punct:
			open = i
		default: // Indent, Dedent, EOF
			if open >= 0 {
				return fmt.Errorf("token %d %q: its line does not end with a Newline before token %d", open, toks[open].Value, i)
			}
		}
		off := t.Pos.Offset
		if t.EOF() && i != len(toks)-1 {
			return fmt.Errorf("token %d: EOF before the end of the stream", i)
		}
		if off < prev || off > len(src) {
			return fmt.Errorf("token %d %q: offset %d, previous %d, file %d bytes", i, t.Value, off, prev, len(src))
		}
		prev = off
		if p := f.Position(token.PosOf(off)); p.Line != t.Pos.Line || p.Column != t.Pos.Column {
			return fmt.Errorf("token %d %q at offset %d: line:col %d:%d, the file says %d:%d", i, t.Value, off, t.Pos.Line, t.Pos.Column, p.Line, p.Column)
		}
		switch t.Type {
		case Indent:
			depth++
		case Dedent:
			depth--
			if depth < 0 {
				return fmt.Errorf("token %d: Dedent without an open Indent", i)
			}
		case Keyword, Ident, Int, IPv4, Punct:
			if !bytes.HasPrefix(src[off:], []byte(t.Value)) || t.Value == "" {
				return fmt.Errorf("token %d: value %q is not the source at offset %d", i, t.Value, off)
			}
			if (t.Type == Keyword || t.Type == Ident) && (t.Type == Keyword) != IsKeyword(t.Value) {
				return fmt.Errorf("token %d: %q is a keyword: %v, typed as one: %v", i, t.Value, IsKeyword(t.Value), t.Type == Keyword)
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
	spot := func(off int) token.Pos { return token.PosOf(charStart(f, off)) }
	spots := []token.Pos{token.NoPos, spot(0), spot(n / 2), spot(n - 1), spot(n), token.PosOf(n + 1)}
	c := diag.NewCollector(f)
	for i, pos := range spots {
		for j, end := range spots {
			c.Add(diag.Error, pos, end, "h", "m%d.%d", i, j)
		}
	}
	for _, d := range c.List() {
		if err := checkFormat(d); err != nil {
			return err
		}
	}
	return nil
}

// checkDiagnostics asserts that every diagnostic is well formed: a
// non-empty message, a position inside the file whose line and column
// agree with its offset, a span that does not end before it starts, the
// source line of its position, the list sorted by position, and a Format
// that does not panic and puts the caret on the line.
func checkDiagnostics(f *token.File, l diag.List) error {
	prev := 0
	for _, d := range l {
		if err := checkDiagnostic(f, d); err != nil {
			return fmt.Errorf("%w\n  in diagnostic %q", err, d.Error())
		}
		if d.Pos.Offset < prev {
			return fmt.Errorf("diagnostics out of order: offset %d after %d", d.Pos.Offset, prev)
		}
		prev = d.Pos.Offset
	}
	var buf bytes.Buffer
	l.Format(&buf)
	if len(l) > 0 && buf.Len() == 0 {
		return fmt.Errorf("Format of %d diagnostics wrote nothing", len(l))
	}
	return nil
}

func checkDiagnostic(f *token.File, d diag.Diagnostic) error {
	switch {
	case d.Message == "":
		return fmt.Errorf("empty message")
	case d.Severity != diag.Error && d.Severity != diag.Warning:
		return fmt.Errorf("severity %d", d.Severity)
	case d.Pos.Filename != f.Name():
		return fmt.Errorf("file name %q, want %q", d.Pos.Filename, f.Name())
	case !d.Pos.IsValid():
		return fmt.Errorf("no position")
	case d.Pos.Offset < 0 || d.Pos.Offset > len(f.Source()):
		return fmt.Errorf("offset %d outside the file of %d bytes", d.Pos.Offset, len(f.Source()))
	case d.Pos != f.Position(token.PosOf(d.Pos.Offset)):
		return fmt.Errorf("position %+v disagrees with its offset: %+v", d.Pos, f.Position(token.PosOf(d.Pos.Offset)))
	case d.Line != f.Line(d.Pos.Line):
		return fmt.Errorf("source line %q, line %d is %q", d.Line, d.Pos.Line, f.Line(d.Pos.Line))
	case charStart(f, d.Pos.Offset) != d.Pos.Offset:
		return fmt.Errorf("offset %d is inside a character", d.Pos.Offset)
	}
	if d.End.IsValid() {
		switch {
		case d.End.Offset < d.Pos.Offset || d.End.Offset > len(f.Source()):
			return fmt.Errorf("span end offset %d, start %d, file %d bytes", d.End.Offset, d.Pos.Offset, len(f.Source()))
		case d.End != f.Position(token.PosOf(d.End.Offset)):
			return fmt.Errorf("span end %+v disagrees with its offset", d.End)
		case charStart(f, d.End.Offset) != d.End.Offset:
			return fmt.Errorf("span end offset %d is inside a character", d.End.Offset)
		}
	}
	return checkFormat(d)
}

// charStart returns the start of the character that holds byte offset
// off (clamped to the file), characters being what ranging over the line
// yields: a rune, or one byte of an invalid sequence.
func charStart(f *token.File, off int) int {
	src := f.Source()
	off = min(max(off, 0), len(src))
	p := f.Position(token.PosOf(off))
	i := off - (p.Column - 1)
	for i < off {
		_, size := utf8.DecodeRune(src[i:])
		if i+size > off {
			break
		}
		i += size
	}
	return i
}

// caretLine is the marker line of a formatted diagnostic.
var caretLine = regexp.MustCompile(`^[ \t]*\^~*$`)

// checkFormat formats d alone and checks the result: valid UTF-8 whatever
// the source held, and for a positioned diagnostic, a caret line of blanks
// and tabs aligned with the shown source line, then ^ and ~ that stay on
// it.
func checkFormat(d diag.Diagnostic) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Format panicked: %v\n%s", r, stack())
		}
	}()
	var buf bytes.Buffer
	d.Format(&buf)
	out := buf.String()
	if !utf8.ValidString(out) {
		return fmt.Errorf("Format wrote invalid UTF-8: %q", out)
	}
	if !d.Pos.IsValid() {
		return nil
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 {
		return fmt.Errorf("Format wrote %d lines: %q", len(lines), out)
	}
	shown := []rune(strings.TrimPrefix(lines[1], "    "))
	caret := []rune(strings.TrimPrefix(lines[2], "    "))
	if !caretLine.MatchString(string(caret)) {
		return fmt.Errorf("caret line %q", string(caret))
	}
	at := strings.IndexRune(string(caret), '^') // bytes == runes before it: blanks and tabs
	for i := 0; i < at; i++ {
		if i >= len(shown) {
			return fmt.Errorf("caret at column %d after the end of %q", at+1, string(shown))
		}
		if (caret[i] == '\t') != (shown[i] == '\t') {
			return fmt.Errorf("caret line %q not aligned with %q at rune %d", string(caret), string(shown), i)
		}
	}
	if len(caret) > max(len(shown), at+1) {
		return fmt.Errorf("marker %q runs past the end of %q", string(caret), string(shown))
	}
	return nil
}

// withDeadline runs fn in a goroutine and returns its error, its panic
// with the stack, or a hang report with every goroutine's stack once
// fuzzDeadline passes. A hung fn is left running: the test fails, and the
// fuzzer records the input.
func withDeadline(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v\n%s", r, stack())
			}
		}()
		done <- fn()
	}()
	timer := time.NewTimer(fuzzDeadline)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		buf := make([]byte, 1<<20)
		return fmt.Errorf("hang: still running after %v\n%s", fuzzDeadline, buf[:runtime.Stack(buf, true)])
	}
}

func stack() []byte {
	buf := make([]byte, 64<<10)
	return buf[:runtime.Stack(buf, false)]
}

// clip shortens an input for a failure message; the fuzzer keeps the
// whole input under testdata/fuzz.
func clip(src []byte) []byte {
	if len(src) > 512 {
		return append(src[:512:512], "..."...)
	}
	return src
}

// addSeeds adds every example and golden test file as a seed, read at test
// time so that new ones join the corpus without a change here.
func addSeeds(f *testing.F) {
	n := 0
	for _, pattern := range []string{"../../examples/*.sock", "../../testdata/golden/*.sock"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
			n++
		}
	}
	if n < 10 {
		f.Fatalf("only %d seed files found; run the test from its package directory", n)
	}
}
