package parser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/fuzzcheck"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// FuzzParse parses arbitrary bytes: the parser must not panic or hang; it
// returns a tree whose every node spans source inside its parent's span,
// whose names and literals are the source they span, and which has no
// broken item when no error was reported; and its diagnostics are well
// formed and format without panic.
func FuzzParse(f *testing.F) {
	fuzzcheck.Fuzz(f, "../..", parseProperties)
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
	if err := fuzzcheck.CheckDiagnostics(f, diags); err != nil {
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
		switch {
		case s.Else == nil && s.ElsePos.IsValid():
			tc.fail(s, "else at %d without an else body", s.ElsePos)
		case s.Else != nil && (s.ElsePos < s.Then.End() || s.ElsePos >= s.Else.Pos() || !strings.EqualFold(tc.text(ast.Span{From: s.ElsePos, To: s.ElsePos + 4}), "else")):
			tc.fail(s, "else not at %d, between the bodies %d..%d and %d..%d", s.ElsePos, s.Then.Pos(), s.Then.End(), s.Else.Pos(), s.Else.End())
		}
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
		// A keyword operator may be miscased in the source ("And"):
		// the parser reports that and parses it as the keyword.
		if at := tc.text(ast.Span{From: e.OpPos, To: e.End()}); e.OpPos < p || len(at) < int(e.Op.Len()) || !strings.EqualFold(at[:e.Op.Len()], e.Op.String()) {
			tc.fail(e, "operator %q not at %d", e.Op, e.OpPos)
		}
		p = e.OpPos + e.Op.Len()
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
