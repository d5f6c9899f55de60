package format

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/token"
)

// codeLine is one line of code of the output: a map declaration, a handler
// header, an if or else line, or a statement. Every one of them is exactly
// one line of the source, because sockc has no line continuation.
type codeLine struct {
	src   int    // its 1-based line in the source
	depth int    // block nesting, 0 for top-level items
	text  string // the canonical text, without indentation
	opens bool   // it ends with ':' and an indented block follows
}

// printer walks a syntax tree and collects its lines of code.
type printer struct {
	file  *token.File
	lines []codeLine
}

func (p *printer) add(pos token.Pos, depth int, text string, opens bool) {
	p.lines = append(p.lines, codeLine{src: p.file.Position(pos).Line, depth: depth, text: text, opens: opens})
}

func (p *printer) decl(d ast.Decl) error {
	switch d := d.(type) {
	case *ast.MapDecl:
		p.add(d.Pos(), 0, mapDecl(d), false)
		return nil
	case *ast.Handler:
		head := handlerHead(d)
		if d.Body.Inline {
			if len(d.Body.Stmts) != 1 {
				return fmt.Errorf("one-line body with %d statements", len(d.Body.Stmts))
			}
			s, err := lineStmt(d.Body.Stmts[0])
			if err != nil {
				return err
			}
			p.add(d.Pos(), 0, head+" "+s, false)
			return nil
		}
		p.add(d.Pos(), 0, head, true)
		return p.block(d.Body, 1)
	}
	return fmt.Errorf("unexpected top-level item %T", d)
}

// block adds the lines of an indented block at depth.
func (p *printer) block(b *ast.Block, depth int) error {
	for _, s := range b.Stmts {
		if err := p.stmt(s, depth); err != nil {
			return err
		}
	}
	return nil
}

func (p *printer) stmt(s ast.Stmt, depth int) error {
	is, ok := s.(*ast.IfStmt)
	if !ok {
		text, err := simple(s)
		if err != nil {
			return err
		}
		p.add(s.Pos(), depth, text, false)
		return nil
	}
	head := "if " + ast.ExprString(is.Cond) + ":"
	if err := p.body(is.Pos(), depth, head, is.Then); err != nil {
		return err
	}
	if is.Else == nil {
		return nil
	}
	if !is.ElsePos.IsValid() {
		return fmt.Errorf("else body at offset %d without an else keyword", is.Else.Pos().Offset())
	}
	return p.body(is.ElsePos, depth, "else:", is.Else)
}

// body adds an if or else line with its body: one statement on the same
// line, or an indented block.
func (p *printer) body(pos token.Pos, depth int, head string, b *ast.Block) error {
	if b.Inline {
		if len(b.Stmts) != 1 {
			return fmt.Errorf("one-line body with %d statements", len(b.Stmts))
		}
		text, err := simple(b.Stmts[0])
		if err != nil {
			return err
		}
		p.add(pos, depth, head+" "+text, false)
		return nil
	}
	p.add(pos, depth, head, true)
	return p.block(b, depth+1)
}

func mapDecl(d *ast.MapDecl) string {
	s := d.Kind.String() + " " + d.Name.Name
	type opt struct {
		pos  token.Pos
		text string
	}
	var opts []opt
	if d.Key != nil {
		opts = append(opts, opt{d.Key.Pos(), "key " + d.Key.String()})
	}
	if d.Max != nil {
		opts = append(opts, opt{d.Max.Pos(), "max " + d.Max.Raw})
	}
	if len(opts) == 0 {
		return s
	}
	sort.Slice(opts, func(i, j int) bool { return opts[i].pos < opts[j].pos })
	texts := make([]string, len(opts))
	for i, o := range opts {
		texts[i] = o.text
	}
	return s + ": " + strings.Join(texts, ", ")
}

func handlerHead(h *ast.Handler) string {
	s := "on " + strings.Join(h.HookWords(), " ")
	if h.Map != nil {
		s += " to " + h.Map.String()
	}
	return s + ":"
}

// lineStmt prints the one-line body of a handler: a simple statement, or
// an if with a simple statement.
func lineStmt(s ast.Stmt) (string, error) {
	is, ok := s.(*ast.IfStmt)
	if !ok {
		return simple(s)
	}
	if is.Else != nil || !is.Then.Inline || len(is.Then.Stmts) != 1 {
		return "", fmt.Errorf("if in a one-line body without a one-line then")
	}
	then, err := simple(is.Then.Stmts[0])
	if err != nil {
		return "", err
	}
	return "if " + ast.ExprString(is.Cond) + ": " + then, nil
}

// simple prints a statement other than if.
func simple(s ast.Stmt) (string, error) {
	switch s := s.(type) {
	case *ast.RedirectStmt:
		t := "redirect"
		switch {
		case s.Peer:
			t += " peer"
		case s.Key == nil:
			return "", fmt.Errorf("redirect without key or peer")
		default:
			if s.Map != nil {
				t += " " + s.Map.Name
			}
			t += " " + s.Key.String()
		}
		if s.Ingress {
			t += " ingress"
		}
		return t, nil
	case *ast.UpdateStmt:
		return "update " + s.Map.Name + " " + s.Key.String(), nil
	case *ast.ApplyStmt:
		return "apply " + ast.ExprString(s.Bytes), nil
	case *ast.CorkStmt:
		return "cork " + ast.ExprString(s.Bytes), nil
	case *ast.LengthStmt:
		if s.X == nil {
			return "length", nil
		}
		return "length " + ast.ExprString(s.X), nil
	case *ast.CountStmt:
		return "count " + s.Name.Name, nil
	case *ast.PassStmt:
		return "pass", nil
	case *ast.DropStmt:
		return "drop", nil
	}
	return "", fmt.Errorf("unexpected statement %T", s)
}
