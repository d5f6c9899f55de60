package parser

import (
	"fmt"
	"strings"
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// parse parses src as file p.sock.
func parse(t *testing.T, src string) (*ast.File, diag.List) {
	t.Helper()
	f := token.NewFile("p.sock", []byte(src))
	c := diag.NewCollector(f)
	file := ParseFile(f, c)
	if file == nil {
		t.Fatalf("ParseFile(%q) = nil", src)
	}
	return file, c.List()
}

// parseClean parses src and fails the test on any diagnostic.
func parseClean(t *testing.T, src string) *ast.File {
	t.Helper()
	file, diags := parse(t, src)
	if len(diags) != 0 {
		t.Fatalf("parse %q:\n%s", src, messages(diags))
	}
	return file
}

// messages renders diagnostics as line:col: message, one per line.
func messages(l diag.List) string {
	var out []string
	for _, d := range l {
		s := fmt.Sprintf("%d:%d: %s", d.Pos.Line, d.Pos.Column, d.Message)
		if d.Severity == diag.Warning {
			s = fmt.Sprintf("%d:%d: warning: %s", d.Pos.Line, d.Pos.Column, d.Message)
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

// exprString prints e fully parenthesized: every binary, not and in
// expression in (), source parentheses as paren(...).
func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case nil:
		return "<nil>"
	case *ast.IntLit:
		return e.Raw
	case *ast.IPv4Lit:
		return e.Raw
	case *ast.Name:
		return e.Name
	case *ast.ParenExpr:
		return "paren" + "(" + exprString(e.X) + ")"
	case *ast.NotExpr:
		return "(not " + exprString(e.X) + ")"
	case *ast.BinaryExpr:
		return "(" + exprString(e.X) + " " + e.Op.String() + " " + exprString(e.Y) + ")"
	case *ast.InExpr:
		set := "<no set>"
		switch {
		case e.CIDR != nil:
			set = exprString(e.CIDR.Addr) + "/" + exprString(e.CIDR.Bits)
		case e.Range != nil:
			set = exprString(e.Range.Lo) + ".." + exprString(e.Range.Hi)
		}
		return "(" + exprString(e.X) + " in " + set + ")"
	}
	return fmt.Sprintf("<%T>", e)
}

func keyString(k *ast.KeyExpr) string {
	if k == nil {
		return "<nil key>"
	}
	args := make([]string, len(k.Args))
	for i, a := range k.Args {
		args[i] = exprString(a)
	}
	return "key(" + strings.Join(args, ", ") + ")"
}

// blockString prints a block as {s1; s2}, inline blocks as {: s}.
func blockString(b *ast.Block) string {
	if b == nil {
		return "<nil block>"
	}
	stmts := make([]string, len(b.Stmts))
	for i, s := range b.Stmts {
		stmts[i] = stmtString(s)
	}
	if b.Inline {
		return "{: " + strings.Join(stmts, "; ") + "}"
	}
	return "{" + strings.Join(stmts, "; ") + "}"
}

func stmtString(s ast.Stmt) string {
	switch s := s.(type) {
	case *ast.RedirectStmt:
		out := "redirect"
		if s.Map != nil {
			out += " " + s.Map.Name
		}
		if s.Peer {
			out += " peer"
			if s.Key != nil {
				out += " <key with peer>"
			}
		} else {
			out += " " + keyString(s.Key)
		}
		if s.Ingress {
			out += " ingress"
		}
		return out
	case *ast.PassStmt:
		return "pass"
	case *ast.DropStmt:
		return "drop"
	case *ast.IfStmt:
		out := "if " + exprString(s.Cond) + " " + blockString(s.Then)
		if s.Else != nil {
			out += " else " + blockString(s.Else)
		}
		return out
	case *ast.ApplyStmt:
		return "apply " + exprString(s.Bytes)
	case *ast.CorkStmt:
		return "cork " + exprString(s.Bytes)
	case *ast.LengthStmt:
		if s.X == nil {
			return "length"
		}
		return "length " + exprString(s.X)
	case *ast.UpdateStmt:
		return "update " + s.Map.Name + " " + keyString(s.Key)
	case *ast.CountStmt:
		return "count " + s.Name.Name
	}
	return fmt.Sprintf("<%T>", s)
}

func declString(d ast.Decl) string {
	switch d := d.(type) {
	case *ast.MapDecl:
		out := d.Kind.String() + " " + d.Name.Name
		if d.Key != nil {
			out += " key " + d.Key.String()
		}
		if d.Max != nil {
			out += " max " + d.Max.Raw
		}
		return out
	case *ast.Handler:
		out := "on " + strings.Join(d.HookWords(), " ")
		if d.Map != nil {
			out += " to " + d.Map.String()
		}
		return out + " " + blockString(d.Body)
	case *ast.BadDecl:
		if d.Map != nil {
			return "bad(" + d.Map.Kind.String() + " " + d.Map.Name.Name + ")"
		}
		return "bad"
	}
	return fmt.Sprintf("<%T>", d)
}

func fileString(f *ast.File) string {
	out := make([]string, len(f.Decls))
	for i, d := range f.Decls {
		out[i] = declString(d)
	}
	return strings.Join(out, "\n")
}
