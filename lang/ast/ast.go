// Package ast declares the syntax tree of a sockc file: map declarations,
// handlers, statements and expressions, each node with its source span.
package ast

import (
	"net/netip"
	"strings"

	"github.com/sockc/sockc/lang/token"
)

// Node is any syntax tree node.
type Node interface {
	Pos() token.Pos // first byte of the node
	End() token.Pos // first byte after the node
}

// Span is embedded by nodes to record their extent.
type Span struct {
	From, To token.Pos
}

// Pos returns the start of the span.
func (s Span) Pos() token.Pos { return s.From }

// End returns the end of the span (exclusive).
func (s Span) End() token.Pos { return s.To }

// File is a parsed source file.
type File struct {
	Name     string
	Decls    []Decl     // in source order
	Comments []*Comment // in source order; not part of the tree Walk visits
}

// Pos returns the start of the file's first declaration or comment, or
// NoPos for a file that has neither.
func (f *File) Pos() token.Pos {
	p := token.NoPos
	if len(f.Decls) > 0 {
		p = f.Decls[0].Pos()
	}
	if len(f.Comments) > 0 && (!p.IsValid() || f.Comments[0].Pos() < p) {
		p = f.Comments[0].Pos()
	}
	return p
}

// End returns the end of the file's last declaration or comment.
func (f *File) End() token.Pos {
	p := token.NoPos
	if len(f.Decls) > 0 {
		p = f.Decls[len(f.Decls)-1].End()
	}
	if len(f.Comments) > 0 {
		p = max(p, f.Comments[len(f.Comments)-1].End())
	}
	return p
}

// Comment is a '#' comment.
type Comment struct {
	Span
	Text string
}

// Decl is a top-level declaration: *MapDecl or *Handler.
type Decl interface {
	Node
	declNode()
}

// MapKind is SOCKMAP or SOCKHASH.
type MapKind int

// The map kinds.
const (
	NoMapKind MapKind = iota
	SockMap
	SockHash
)

func (k MapKind) String() string {
	switch k {
	case SockMap:
		return "sockmap"
	case SockHash:
		return "sockhash"
	}
	return "map"
}

// Ident is a name with its position.
type Ident struct {
	Span
	Name string
}

// MapDecl is `sockmap NAME: key K, max N`.
type MapDecl struct {
	Span
	Kind    MapKind
	KindPos token.Pos
	Name    *Ident
	Key     *KeyType // nil: not declared
	Max     *IntLit  // nil: default
}

// KeyType is the declared key type of a map: a scalar name (u32, u64) or a
// parenthesized tuple of component names.
type KeyType struct {
	Span
	Scalar     *Ident   // u32 or u64
	Components []*Ident // (ip4, port, ...)
}

// String spells the key type as written in canonical form: "u32" or
// "(ip4, port)".
func (k *KeyType) String() string {
	if k.Scalar != nil {
		return k.Scalar.Name
	}
	names := make([]string, len(k.Components))
	for i, c := range k.Components {
		names[i] = c.Name
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// Handler is `on HOOK [to MAP]: BODY`.
type Handler struct {
	Span
	Hook     []*Ident // the hook words, e.g. "stream", "verdict"
	HookSpan Span
	Map      *MapRef // nil for sockops hooks
	Body     *Block
}

// HookWords returns the words of the handler's hook, as written.
func (h *Handler) HookWords() []string {
	words := make([]string, len(h.Hook))
	for i, w := range h.Hook {
		words[i] = w.Name
	}
	return words
}

// MapRef names the map a handler attaches to, optionally declaring it
// inline with its kind.
type MapRef struct {
	Span
	Kind    MapKind // NoMapKind when only the name is given
	KindPos token.Pos
	Name    *Ident
}

// String spells the reference as written in canonical form: "proxy", or
// "sockhash proxy" when it declares the map inline.
func (m *MapRef) String() string {
	if m.Kind == NoMapKind {
		return m.Name.Name
	}
	return m.Kind.String() + " " + m.Name.Name
}

// BadDecl stands for a top-level item with a syntax error. Map is the map
// it declares (a map declaration, or a handler's inline `to sockhash M`)
// when that much could be read, so that later uses of the map do not
// report it as unknown.
type BadDecl struct {
	Span
	Map *MapRef
}

func (*MapDecl) declNode() {}
func (*Handler) declNode() {}
func (*BadDecl) declNode() {}

// Block is a statement list: one statement after the colon (Inline) or an
// indented block.
type Block struct {
	Span
	Inline bool
	Stmts  []Stmt
}

// Stmt is a statement.
type Stmt interface {
	Node
	stmtNode()
}

// RedirectStmt is `redirect [MAP] key(...) [ingress]` or
// `redirect peer [ingress]`.
type RedirectStmt struct {
	Span
	Map     *Ident   // nil: the handler's map
	Key     *KeyExpr // nil when Peer
	Peer    bool
	PeerPos token.Pos
	Ingress bool
}

// PassStmt is `pass`.
type PassStmt struct{ Span }

// DropStmt is `drop`.
type DropStmt struct{ Span }

// IfStmt is `if COND: ...` with an optional `else: ...`.
type IfStmt struct {
	Span
	Cond    Expr
	Then    *Block
	ElsePos token.Pos // the else keyword; NoPos if absent
	Else    *Block    // nil if absent
}

// ApplyStmt is `apply N` (bpf_msg_apply_bytes).
type ApplyStmt struct {
	Span
	Bytes Expr
}

// CorkStmt is `cork N` (bpf_msg_cork_bytes).
type CorkStmt struct {
	Span
	Bytes Expr
}

// LengthStmt is `length [EXPR]` in a stream parser.
type LengthStmt struct {
	Span
	X Expr // nil: the whole skb
}

// UpdateStmt is `update MAP key(...)` in sockops.
type UpdateStmt struct {
	Span
	Map *Ident
	Key *KeyExpr
}

// CountStmt is `count NAME`.
type CountStmt struct {
	Span
	Name *Ident
}

func (*RedirectStmt) stmtNode() {}
func (*PassStmt) stmtNode()     {}
func (*DropStmt) stmtNode()     {}
func (*IfStmt) stmtNode()       {}
func (*ApplyStmt) stmtNode()    {}
func (*CorkStmt) stmtNode()     {}
func (*LengthStmt) stmtNode()   {}
func (*UpdateStmt) stmtNode()   {}
func (*CountStmt) stmtNode()    {}

// KeyExpr is `key(e1, e2, ...)`.
type KeyExpr struct {
	Span
	Args []Expr
}

// Expr is an expression.
type Expr interface {
	Node
	exprNode()
}

// IntLit is a decimal or hex integer literal. Value is valid only when
// Valid; the parser reports malformed or oversized literals.
type IntLit struct {
	Span
	Raw   string
	Value uint64
	Valid bool
}

// IPv4Lit is a dotted IPv4 literal.
type IPv4Lit struct {
	Span
	Raw   string
	Addr  netip.Addr
	Valid bool
}

// Name is an identifier used as a value: a field (remote_port) or a
// named constant (inet).
type Name struct {
	Span
	Name string
}

// BinaryExpr is X Op Y for arithmetic, comparison and logical operators.
type BinaryExpr struct {
	Span
	X     Expr
	Op    token.Op // token.ADD, token.EQL, token.LAND, ...
	OpPos token.Pos
	Y     Expr
}

// NotExpr is `not X`.
type NotExpr struct {
	Span
	X Expr
}

// ParenExpr is (X).
type ParenExpr struct {
	Span
	X Expr
}

// InExpr is `X in SET`, where SET is a CIDR or a range.
type InExpr struct {
	Span
	X     Expr
	InPos token.Pos
	CIDR  *CIDR      // one of CIDR and Range is set
	Range *RangeExpr //
}

// CIDR is ADDR/BITS.
type CIDR struct {
	Span
	Addr *IPv4Lit
	Bits *IntLit
}

// RangeExpr is LO..HI, both ends included.
type RangeExpr struct {
	Span
	Lo, Hi Expr
}

func (*IntLit) exprNode()     {}
func (*IPv4Lit) exprNode()    {}
func (*Name) exprNode()       {}
func (*BinaryExpr) exprNode() {}
func (*NotExpr) exprNode()    {}
func (*ParenExpr) exprNode()  {}
func (*InExpr) exprNode()     {}

// Unparen strips parentheses around e.
func Unparen(e Expr) Expr {
	for {
		p, ok := e.(*ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}
