package ast

import "fmt"

// A Visitor's Visit method is called by Walk for each node it meets. If
// the result w is not nil, Walk visits each child of the node with w, then
// calls w.Visit(nil).
type Visitor interface {
	Visit(node Node) (w Visitor)
}

// Walk traverses a syntax tree in depth-first order, as go/ast.Walk does:
// it calls v.Visit(node); if that returns a visitor w other than nil, Walk
// is called with w for each of the node's children that is present, in
// source order, followed by a call of w.Visit(nil).
//
// The children of a node are its fields that are nodes: a File's Decls (not
// its Comments, which are not attached to the tree), a Handler's hook
// words, map and body, an IfStmt's condition and blocks, and so on down to
// the literals and names. Absent optional parts (a nil Else, Key or Max)
// are skipped. Walk panics on a node type it does not know: a new node
// type needs its case here, and TestWalkVisitsEveryNode fails until it has
// one.
func Walk(v Visitor, node Node) {
	if v = v.Visit(node); v == nil {
		return
	}
	switch n := node.(type) {
	case *File:
		for _, d := range n.Decls {
			Walk(v, d)
		}

	// Declarations.
	case *MapDecl:
		Walk(v, n.Name)
		if n.Key != nil {
			Walk(v, n.Key)
		}
		if n.Max != nil {
			Walk(v, n.Max)
		}
	case *KeyType:
		if n.Scalar != nil {
			Walk(v, n.Scalar)
		}
		for _, c := range n.Components {
			Walk(v, c)
		}
	case *Handler:
		for _, w := range n.Hook {
			Walk(v, w)
		}
		if n.Map != nil {
			Walk(v, n.Map)
		}
		if n.Body != nil {
			Walk(v, n.Body)
		}
	case *MapRef:
		Walk(v, n.Name)
	case *BadDecl:
		if n.Map != nil {
			Walk(v, n.Map)
		}
	case *Ident, *Comment:
		// No children.

	// Statements.
	case *Block:
		for _, s := range n.Stmts {
			Walk(v, s)
		}
	case *RedirectStmt:
		if n.Map != nil {
			Walk(v, n.Map)
		}
		if n.Key != nil {
			Walk(v, n.Key)
		}
	case *PassStmt, *DropStmt:
		// No children.
	case *IfStmt:
		Walk(v, n.Cond)
		Walk(v, n.Then)
		if n.Else != nil {
			Walk(v, n.Else)
		}
	case *ApplyStmt:
		Walk(v, n.Bytes)
	case *CorkStmt:
		Walk(v, n.Bytes)
	case *LengthStmt:
		if n.X != nil {
			Walk(v, n.X)
		}
	case *UpdateStmt:
		Walk(v, n.Map)
		Walk(v, n.Key)
	case *CountStmt:
		Walk(v, n.Name)
	case *KeyExpr:
		for _, a := range n.Args {
			Walk(v, a)
		}

	// Expressions.
	case *IntLit, *IPv4Lit, *Name:
		// No children.
	case *BinaryExpr:
		Walk(v, n.X)
		Walk(v, n.Y)
	case *NotExpr:
		Walk(v, n.X)
	case *ParenExpr:
		Walk(v, n.X)
	case *InExpr:
		Walk(v, n.X)
		if n.CIDR != nil {
			Walk(v, n.CIDR)
		}
		if n.Range != nil {
			Walk(v, n.Range)
		}
	case *CIDR:
		Walk(v, n.Addr)
		Walk(v, n.Bits)
	case *RangeExpr:
		Walk(v, n.Lo)
		Walk(v, n.Hi)

	default:
		panic(fmt.Sprintf("ast.Walk: unexpected node type %T", n))
	}
	v.Visit(nil)
}

type inspector func(Node) bool

func (f inspector) Visit(node Node) Visitor {
	if f(node) {
		return f
	}
	return nil
}

// Inspect traverses a syntax tree in depth-first order, as
// go/ast.Inspect does: it calls f(node); if f returns true, Inspect
// inspects each of the node's children that is present, in source order,
// followed by a call of f(nil).
func Inspect(node Node, f func(Node) bool) {
	Walk(inspector(f), node)
}
