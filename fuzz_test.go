package sockc_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/codegen"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// fuzzMaxInput bounds fuzz inputs: longer ones only slow the fuzzer down.
const fuzzMaxInput = 64 << 10

// fuzzDeadline is how long one input may run before the target reports a
// hang. Go's fuzzer has no per-input timeout (a hung worker just stalls
// the run), so each input runs in a goroutine watched by a timer. A 64 KiB
// input compiles twice in about two seconds; ten seconds is a hang by
// a wide margin, even on a loaded 2-core machine.
const fuzzDeadline = 10 * time.Second

// FuzzCompile compiles arbitrary bytes with sockc.Build: source in, either
// diagnostics or a spec out. Build turns a panic into an "internal
// compiler error" diagnostic; the target fails on it (and on the other
// internal errors of docs/language.md §11.14), and re-runs the stages
// without Build's recover to show the panic's stack. It also asserts that
// the diagnostics are well formed and format without panic; that
// compiling twice gives the same diagnostics and, when clean, the same
// object bytes; and that a file the checker accepts compiles, unless it
// has no handler or passes a size limit of code generation.
func FuzzCompile(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > fuzzMaxInput {
			t.Skip("input over 64 KiB")
		}
		if err := withDeadline(func() error { return compileProperties(src) }); err != nil {
			t.Fatalf("input %q:\n%v", clip(src), err)
		}
	})
}

// internalError matches the diagnostics that report a bug in sockc rather
// than in the file (docs/language.md §11.14).
var internalError = regexp.MustCompile(`^(internal compiler error|internal error|syntax error|code generation): `)

// cleanFailure matches the errors a file may get from Build after the
// checker accepted it: no handler, or a size limit of code generation.
var cleanFailure = regexp.MustCompile(`^(the file (has|declares maps but) no handler|program \S+ (is too large|has too many conditions): )`)

// compileProperties compiles src and asserts every property FuzzCompile
// names.
func compileProperties(src []byte) error {
	const name = "fuzz.sock"
	out, err := sockc.Build(name, src)
	diags, obj, err := result(out, err)
	if err != nil {
		return err
	}
	for _, d := range diags {
		if internalError.MatchString(d.Message) {
			return fmt.Errorf("%s: %s%s", d.Pos, d.Message, stagesStack(name, src))
		}
	}
	f := token.NewFile(name, src)
	if len(diags) == 1 && !diags[0].Pos.IsValid() {
		// A verdict on the whole file (an ELF object given for its
		// source) stands alone and has no position; every other
		// diagnostic points into the file.
		if d := diags[0]; d.Message == "" || d.Pos.Filename != name {
			return fmt.Errorf("whole-file diagnostic %q without a message or file name", d.Error())
		}
		if err := checkFormat(diags[0]); err != nil {
			return err
		}
	} else if err := checkDiagnostics(f, diags); err != nil {
		return err
	}

	out2, err2 := sockc.Build(name, src)
	diags2, obj2, err := result(out2, err2)
	if err != nil {
		return err
	}
	if a, b := formatted(diags), formatted(diags2); a != b {
		return fmt.Errorf("two compilations disagree on the diagnostics:\n%s\n---\n%s", a, b)
	}
	if !bytes.Equal(obj, obj2) {
		return fmt.Errorf("two compilations give different objects: %d and %d bytes", len(obj), len(obj2))
	}

	if out != nil {
		return nil
	}
	c := diag.NewCollector(f)
	check.Check(parser.ParseFile(f, c), c)
	if c.HasErrors() {
		return nil
	}
	for _, d := range diags.Errors() {
		if !cleanFailure.MatchString(d.Message) {
			return fmt.Errorf("the checker accepts the file, but Build fails: %s", d.Error())
		}
	}
	return nil
}

// result splits what Build returned into its diagnostics and, for a
// clean compile, the object bytes; err is set when Build broke its
// contract.
func result(out *sockc.Output, err error) (diag.List, []byte, error) {
	var diags diag.List
	switch {
	case err == nil && out == nil:
		return nil, nil, fmt.Errorf("Build returned neither an output nor an error")
	case err == nil:
		if out.Warnings.HasErrors() {
			return nil, nil, fmt.Errorf("Build succeeded with errors: %v", out.Warnings)
		}
		obj, oerr := sockc.Object(out.Spec)
		if oerr != nil {
			return nil, nil, fmt.Errorf("Build succeeded, but the object writer fails: %w", oerr)
		}
		return out.Warnings, obj, nil
	case !errors.As(err, &diags):
		return nil, nil, fmt.Errorf("Build failed with a %T, not a diag.List: %w", err, err)
	case !diags.HasErrors():
		return nil, nil, fmt.Errorf("Build failed with no error among its diagnostics: %v", diags)
	}
	return diags, nil, nil
}

func formatted(l diag.List) string {
	var b strings.Builder
	l.Format(&b)
	return b.String()
}

// stagesStack runs Build's stages without its recover, to find where an
// "internal compiler error" panicked; it returns the stack, or "" if
// nothing panics outside Build.
func stagesStack(name string, src []byte) (trace string) {
	defer func() {
		if r := recover(); r != nil {
			trace = fmt.Sprintf("\npanic outside Build: %v\n%s", r, stack())
		}
	}()
	f := token.NewFile(name, src)
	c := diag.NewCollector(f)
	prog := check.Check(parser.ParseFile(f, c), c)
	if !c.HasErrors() && len(prog.Handlers) > 0 {
		if spec, err := codegen.Generate(prog, f); err == nil {
			_, _ = sockc.Object(spec)
		}
	}
	return ""
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
	for _, pattern := range []string{"examples/*.sock", "testdata/golden/*.sock"} {
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
