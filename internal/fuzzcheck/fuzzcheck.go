// Package fuzzcheck holds what the sockc fuzz targets share: the run loop with its input bound and hang deadline, the seed corpus, and the checks that diagnostics are well formed and format cleanly.
package fuzzcheck

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

// MaxInput bounds fuzz inputs: longer ones only slow the fuzzer down, and
// the stages are linear in their input, so they find nothing a short one
// does not.
const MaxInput = 64 << 10

// Deadline is how long one input may run before the target reports a
// hang. Go's fuzzer has no per-input timeout (a hung worker just stalls
// the run), so each input runs in a goroutine watched by a timer. The
// slowest target, FuzzCompile, compiles a 64 KiB input twice in about two
// seconds; ten seconds is a hang by a wide margin, even on a loaded 2-core
// machine.
const Deadline = 10 * time.Second

// Fuzz adds the seed corpus found under root, the module's root directory
// relative to the test's package (see AddSeeds), and fuzzes properties:
// each input up to MaxInput bytes must make it return nil, without a panic
// and within Deadline.
func Fuzz(f *testing.F, root string, properties func(src []byte) error) {
	AddSeeds(f, root)
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > MaxInput {
			t.Skip("input over 64 KiB")
		}
		if err := WithDeadline(func() error { return properties(src) }); err != nil {
			t.Fatalf("input %q:\n%v", Clip(src), err)
		}
	})
}

// CheckDiagnostics asserts that every diagnostic is well formed: a
// non-empty message, a position inside the file whose line and column
// agree with its offset, a span that does not end before it starts, the
// source line of its position, the list sorted by position, and a Format
// that does not panic and puts the caret on the line.
func CheckDiagnostics(f *token.File, l diag.List) error {
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

// checkDiagnostic checks one diagnostic of CheckDiagnostics.
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
	case CharStart(f, d.Pos.Offset) != d.Pos.Offset:
		return fmt.Errorf("offset %d is inside a character", d.Pos.Offset)
	}
	if d.End.IsValid() {
		switch {
		case d.End.Offset < d.Pos.Offset || d.End.Offset > len(f.Source()):
			return fmt.Errorf("span end offset %d, start %d, file %d bytes", d.End.Offset, d.Pos.Offset, len(f.Source()))
		case d.End != f.Position(token.PosOf(d.End.Offset)):
			return fmt.Errorf("span end %+v disagrees with its offset", d.End)
		case CharStart(f, d.End.Offset) != d.End.Offset:
			return fmt.Errorf("span end offset %d is inside a character", d.End.Offset)
		}
	}
	return CheckFormat(d)
}

// CharStart returns the start of the character that holds byte offset
// off (clamped to the file), characters being what ranging over the line
// yields: a rune, or one byte of an invalid sequence.
func CharStart(f *token.File, off int) int {
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

// CheckFormat formats d alone and checks the result: valid UTF-8 whatever
// the source held, and for a positioned diagnostic, a caret line of blanks
// and tabs aligned with the shown source line, then ^ and ~ that stay on
// it.
func CheckFormat(d diag.Diagnostic) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Format panicked: %v\n%s", r, Stack())
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

// WithDeadline runs fn in a goroutine and returns its error, its panic
// with the stack, or a hang report with every goroutine's stack once
// Deadline passes. A hung fn is left running: the test fails, and the
// fuzzer records the input.
func WithDeadline(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v\n%s", r, Stack())
			}
		}()
		done <- fn()
	}()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		buf := make([]byte, 1<<20)
		return fmt.Errorf("hang: still running after %v\n%s", Deadline, buf[:runtime.Stack(buf, true)])
	}
}

// Stack returns the calling goroutine's stack, for a panic report.
func Stack() []byte {
	buf := make([]byte, 64<<10)
	return buf[:runtime.Stack(buf, false)]
}

// clip shortens an input for a failure message; the fuzzer keeps the
// whole input under testdata/fuzz.
func Clip(src []byte) []byte {
	if len(src) > 512 {
		return append(src[:512:512], "..."...)
	}
	return src
}

// AddSeeds adds every example and golden test file as a seed, read at test
// time so that new ones join the corpus without a change here. root is the
// module's root directory relative to the test's package: tests run in
// their package directory.
func AddSeeds(f *testing.F, root string) {
	n := 0
	for _, pattern := range []string{"examples/*.sock", "testdata/golden/*.sock"} {
		paths, err := filepath.Glob(filepath.Join(root, pattern))
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
		f.Fatalf("only %d seed files found under %s; run the test from its package directory", n, root)
	}
}
