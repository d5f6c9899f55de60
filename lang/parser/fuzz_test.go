package parser

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

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// fuzzMaxInput bounds fuzz inputs: longer ones only slow the fuzzer down.
const fuzzMaxInput = 64 << 10

// fuzzDeadline is how long one input may run before the target reports a
// hang. Go's fuzzer has no per-input timeout (a hung worker just stalls
// the run), so each input runs in a goroutine watched by a timer. A 64 KiB
// input parses in under a second; ten seconds is a hang by a wide
// margin, even on a loaded 2-core machine.
const fuzzDeadline = 10 * time.Second

// FuzzParse parses arbitrary bytes: the parser must not panic or hang; it
// returns a tree whose every node spans source inside its parent's span,
// whose names and literals are the source they span, and which has no
// broken item when no error was reported; and its diagnostics are well
// formed and format without panic.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > fuzzMaxInput {
			t.Skip("input over 64 KiB")
		}
		if err := withDeadline(func() error { return parseProperties(src) }); err != nil {
			t.Fatalf("input %q:\n%v", clip(src), err)
		}
	})
}

// parseProperties parses src and checks every property FuzzParse asserts.
func parseProperties(src []byte) error {
	f := token.NewFile("fuzz.sock", src)
	c := diag.NewCollector(f)
	file := ParseFile(f, c)
	if file == nil {
		return fmt.Errorf("ParseFile returned nil")
	}
	diags := c.List()
	if err := checkDiagnostics(f, diags); err != nil {
		return err
	}
	tc := &treeChecker{src: src}
	tc.file(file, !diags.HasErrors())
	return tc.err
}

// treeChecker walks a syntax tree and keeps the first broken property.
type treeChecker struct {
	src []byte
	err error
}

func (tc *treeChecker) fail(n ast.Node, format string, args ...any) {
	if tc.err == nil {
		tc.err = fmt.Errorf("%T at %d..%d: %s", n, n.Pos(), n.End(), fmt.Sprintf(format, args...))
	}
}

// text returns the source a span covers, or "" if the span is not inside
// the file.
func (tc *treeChecker) text(s ast.Span) string {
	if !s.From.IsValid() || s.From > s.To || s.To.Offset() > len(tc.src) {
		return ""
	}
	return string(tc.src[s.From.Offset():s.To.Offset()])
}

// span checks that n covers a non-empty stretch of the file inside
// parent, and after the sibling that ended at *prev; it returns false if
// n is nil.
func (tc *treeChecker) span(n ast.Node, parent ast.Node, prev *token.Pos) bool {
	if n == nil || tc.err != nil {
		return false
	}
	switch {
	case !n.Pos().IsValid() || n.End() <= n.Pos() || n.End().Offset() > len(tc.src):
		tc.fail(n, "span not inside the file of %d bytes", len(tc.src))
	case parent != nil && (n.Pos() < parent.Pos() || n.End() > parent.End()):
		tc.fail(n, "span outside its parent %T at %d..%d", parent, parent.Pos(), parent.End())
	case prev != nil && n.Pos() < *prev:
		tc.fail(n, "starts before its previous sibling ends at %d", *prev)
	}
	if prev != nil {
		*prev = n.End()
	}
	return tc.err == nil
}

// spells checks that the source n spans is exactly s.
func (tc *treeChecker) spells(n ast.Node, s string) {
	if got := tc.text(ast.Span{From: n.Pos(), To: n.End()}); got != s && tc.err == nil {
		tc.fail(n, "spans %q, holds %q", got, s)
	}
}

func (tc *treeChecker) file(f *ast.File, clean bool) {
	var prev token.Pos
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.MapDecl:
			if tc.span(d, nil, &prev) {
				tc.ident(d.Name, d, nil)
				if d.Key != nil && tc.span(d.Key, d, nil) {
					tc.ident(d.Key.Scalar, d.Key, nil)
					var p token.Pos
					for _, c := range d.Key.Components {
						tc.ident(c, d.Key, &p)
					}
				}
				if d.Max != nil {
					tc.expr(d.Max, d, nil)
				}
			}
		case *ast.Handler:
			if tc.span(d, nil, &prev) {
				var p token.Pos
				for _, w := range d.Hook {
					tc.ident(w, d.HookSpan, &p)
				}
				tc.span(d.HookSpan, d, nil)
				tc.mapRef(d.Map, d)
				tc.block(d.Body, d)
			}
		case *ast.BadDecl:
			if clean {
				tc.fail(d, "a broken item in a file without errors")
			}
			if d.From.IsValid() && tc.span(d, nil, &prev) {
				tc.mapRef(d.Map, d)
			}
		default:
			tc.fail(d, "unknown declaration")
		}
	}
	for _, c := range f.Comments {
		if tc.span(c, nil, nil) {
			tc.spells(c, c.Text)
		}
	}
}

func (tc *treeChecker) ident(id *ast.Ident, parent ast.Node, prev *token.Pos) {
	if id != nil && tc.span(id, parent, prev) {
		tc.spells(id, id.Name)
	}
}

func (tc *treeChecker) mapRef(m *ast.MapRef, parent ast.Node) {
	if m != nil && tc.span(m, parent, nil) {
		tc.ident(m.Name, m, nil)
	}
}

func (tc *treeChecker) block(b *ast.Block, parent ast.Node) {
	if b == nil {
		tc.fail(parent, "no body")
		return
	}
	if !tc.span(b, parent, nil) {
		return
	}
	if len(b.Stmts) == 0 {
		tc.fail(b, "empty block")
	}
	var prev token.Pos
	for _, s := range b.Stmts {
		if s == nil {
			tc.fail(b, "nil statement")
			return
		}
		tc.stmt(s, b, &prev)
	}
}

func (tc *treeChecker) stmt(s ast.Stmt, parent ast.Node, prev *token.Pos) {
	if !tc.span(s, parent, prev) {
		return
	}
	switch s := s.(type) {
	case *ast.RedirectStmt:
		if m := s.Map; m != nil {
			tc.ident(m, s, nil)
		}
		tc.key(s.Key, s)
	case *ast.IfStmt:
		tc.expr(s.Cond, s, nil)
		tc.block(s.Then, s)
		if s.Else != nil {
			tc.block(s.Else, s)
		}
	case *ast.ApplyStmt:
		tc.expr(s.Bytes, s, nil)
	case *ast.CorkStmt:
		tc.expr(s.Bytes, s, nil)
	case *ast.LengthStmt:
		if s.X != nil {
			tc.expr(s.X, s, nil)
		}
	case *ast.UpdateStmt:
		tc.ident(s.Map, s, nil)
		tc.key(s.Key, s)
	case *ast.CountStmt:
		tc.ident(s.Name, s, nil)
	}
}

func (tc *treeChecker) key(k *ast.KeyExpr, parent ast.Node) {
	if k != nil && tc.span(k, parent, nil) {
		var prev token.Pos
		for _, a := range k.Args {
			tc.expr(a, k, &prev)
		}
	}
}

func (tc *treeChecker) expr(e ast.Expr, parent ast.Node, prev *token.Pos) {
	if e == nil {
		tc.fail(parent, "nil expression")
		return
	}
	if !tc.span(e, parent, prev) {
		return
	}
	switch e := e.(type) {
	case *ast.IntLit:
		tc.spells(e, e.Raw)
	case *ast.IPv4Lit:
		tc.spells(e, e.Raw)
	case *ast.Name:
		tc.spells(e, e.Name)
	case *ast.BinaryExpr:
		var p token.Pos
		tc.expr(e.X, e, &p)
		if e.OpPos < p || !strings.HasPrefix(tc.text(ast.Span{From: e.OpPos, To: e.End()}), e.Op) {
			tc.fail(e, "operator %q not at %d", e.Op, e.OpPos)
		}
		p = e.OpPos + ast.OpLen(e.Op)
		tc.expr(e.Y, e, &p)
	case *ast.NotExpr:
		tc.expr(e.X, e, nil)
	case *ast.ParenExpr:
		tc.expr(e.X, e, nil)
	case *ast.InExpr:
		tc.expr(e.X, e, nil)
		switch {
		case (e.CIDR == nil) == (e.Range == nil):
			tc.fail(e, "needs exactly one of a CIDR and a range")
		case e.CIDR != nil && tc.span(e.CIDR, e, nil):
			tc.expr(e.CIDR.Addr, e.CIDR, nil)
			tc.expr(e.CIDR.Bits, e.CIDR, nil)
		case e.Range != nil && tc.span(e.Range, e, nil):
			tc.expr(e.Range.Lo, e.Range, nil)
			tc.expr(e.Range.Hi, e.Range, nil)
		}
	default:
		tc.fail(e, "unknown expression")
	}
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
