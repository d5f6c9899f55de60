package parser

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// converter turns grammar structs into ast nodes and validates literals.
type converter struct {
	errs *diag.Collector
}

// span computes the extent of a node from the tokens it consumed, ignoring
// the synthetic layout tokens.
func span(toks []lexer.Token) ast.Span {
	var s ast.Span
	for _, t := range toks {
		if t.EOF() || t.Type == tNewline || t.Type == tIndent || t.Type == tDedent {
			continue
		}
		if !s.From.IsValid() {
			s.From = token.PosOf(t.Pos.Offset)
		}
		s.To = token.PosOf(t.Pos.Offset + len(t.Value))
	}
	return s
}

func (c *converter) item(g *gItem) ast.Decl {
	switch {
	case g.Map != nil:
		return c.mapDecl(g.Map)
	case g.Handler != nil:
		return c.handler(g.Handler)
	}
	return nil
}

func mapKind(s string) ast.MapKind {
	switch s {
	case "sockmap":
		return ast.SockMap
	case "sockhash":
		return ast.SockHash
	}
	return ast.NoMapKind
}

func (c *converter) ident(g *gIdent) *ast.Ident {
	if g == nil {
		return nil
	}
	return &ast.Ident{Span: span(g.Tokens), Name: g.Name}
}

func (c *converter) mapDecl(g *gMapDecl) *ast.MapDecl {
	d := &ast.MapDecl{
		Span:    span(g.Tokens),
		Kind:    mapKind(g.Kind),
		KindPos: token.PosOf(g.Tokens[0].Pos.Offset),
		Name:    c.ident(g.Name),
	}
	for _, o := range g.Opts {
		switch {
		case o.Key != nil:
			if d.Key != nil {
				c.errs.Errorf(span(o.Tokens).From, span(o.Tokens).To, "key type of map %s given twice", d.Name.Name)
				continue
			}
			k := &ast.KeyType{Span: span(o.Key.Tokens), Scalar: c.ident(o.Key.Scalar)}
			for _, comp := range o.Key.Tuple {
				k.Components = append(k.Components, c.ident(comp))
			}
			d.Key = k
		case o.Max != nil:
			if d.Max != nil {
				c.errs.Errorf(span(o.Tokens).From, span(o.Tokens).To, "max of map %s given twice", d.Name.Name)
				continue
			}
			d.Max = c.intLit(o.Max)
		}
	}
	return d
}

func (c *converter) handler(g *gHandler) *ast.Handler {
	h := &ast.Handler{Span: span(g.Tokens)}
	var words []lexer.Token
	for _, w := range g.Hook {
		h.Hook = append(h.Hook, c.ident(w))
		words = append(words, w.Tokens...)
	}
	h.HookSpan = span(words)
	if g.Map != nil {
		h.Map = &ast.MapRef{Span: span(g.Map.Tokens), Kind: mapKind(g.Map.Kind), Name: c.ident(g.Map.Name)}
		if h.Map.Kind != ast.NoMapKind {
			h.Map.KindPos = token.PosOf(g.Map.Tokens[0].Pos.Offset)
		}
	}
	h.Body = c.body(g.Body)
	return h
}

func (c *converter) body(g *gBody) *ast.Block {
	b := &ast.Block{Span: span(g.Tokens)}
	switch {
	case g.Inline != nil:
		b.Inline = true
		if g.Inline.If != nil {
			i := g.Inline.If
			then := c.simple(i.Then)
			b.Stmts = []ast.Stmt{&ast.IfStmt{
				Span: span(i.Tokens),
				Cond: c.or(i.Cond),
				Then: &ast.Block{Span: ast.Span{From: then.Pos(), To: then.End()}, Inline: true, Stmts: []ast.Stmt{then}},
			}}
		} else {
			b.Stmts = []ast.Stmt{c.simple(g.Inline.Simple)}
		}
	default:
		for _, s := range g.Block {
			b.Stmts = append(b.Stmts, c.stmt(s))
		}
	}
	return b
}

func (c *converter) stmt(g *gStmt) ast.Stmt {
	if g.If != nil {
		s := &ast.IfStmt{Span: span(g.If.Tokens), Cond: c.or(g.If.Cond), Then: c.ifBody(g.If.Then)}
		if g.If.Else != nil {
			s.ElsePos = elseKeyword(g.If)
			s.Else = c.ifBody(g.If.Else)
		}
		return s
	}
	return c.simple(g.Simple)
}

// elseKeyword finds the else of an if that has one: the first else
// keyword from the end of the then body on. The body's last token is the
// Dedent or Newline that closes it, before the else; the else keywords of
// ifs nested in the body come before that.
func elseKeyword(g *gIf) token.Pos {
	end := g.Then.Tokens[len(g.Then.Tokens)-1].Pos.Offset
	for _, t := range g.Tokens {
		if t.Pos.Offset >= end && t.Type == tKeyword && t.Value == "else" {
			return token.PosOf(t.Pos.Offset)
		}
	}
	return token.NoPos
}

func (c *converter) ifBody(g *gIfBody) *ast.Block {
	b := &ast.Block{Span: span(g.Tokens)}
	if g.Simple != nil {
		b.Inline = true
		b.Stmts = []ast.Stmt{c.simple(g.Simple)}
		return b
	}
	for _, s := range g.Block {
		b.Stmts = append(b.Stmts, c.stmt(s))
	}
	return b
}

func (c *converter) simple(g *gSimple) ast.Stmt {
	sp := span(g.Tokens)
	switch {
	case g.Redirect != nil:
		r := g.Redirect
		s := &ast.RedirectStmt{Span: sp, Map: c.ident(r.Map), Ingress: r.Ingress}
		if r.Peer != nil {
			s.Peer = true
			s.PeerPos = span(r.Peer.Tokens).From
		} else {
			s.Key = c.key(r.Key)
		}
		return s
	case g.Update != nil:
		return &ast.UpdateStmt{Span: sp, Map: c.ident(g.Update.Map), Key: c.key(g.Update.Key)}
	case g.Apply != nil:
		return &ast.ApplyStmt{Span: sp, Bytes: c.or(g.Apply)}
	case g.Cork != nil:
		return &ast.CorkStmt{Span: sp, Bytes: c.or(g.Cork)}
	case g.Length != nil:
		s := &ast.LengthStmt{Span: sp}
		if g.Length.X != nil {
			s.X = c.or(g.Length.X)
		}
		return s
	case g.Count != nil:
		return &ast.CountStmt{Span: sp, Name: c.ident(g.Count)}
	case g.Word == "drop":
		return &ast.DropStmt{Span: sp}
	}
	return &ast.PassStmt{Span: sp}
}

func (c *converter) key(g *gKey) *ast.KeyExpr {
	k := &ast.KeyExpr{Span: span(g.Tokens)}
	for _, a := range g.Args {
		k.Args = append(k.Args, c.or(a))
	}
	return k
}

// The binary levels fold left: a or b or c is (a or b) or c.

func (c *converter) or(g *gOr) ast.Expr {
	x := c.and(g.X)
	for _, t := range g.Rest {
		y := c.and(t.Y)
		x = &ast.BinaryExpr{Span: ast.Span{From: x.Pos(), To: y.End()}, X: x, Op: token.LookupOp(t.Op), OpPos: span(t.Tokens).From, Y: y}
	}
	return x
}

func (c *converter) and(g *gAnd) ast.Expr {
	x := c.not(g.X)
	for _, t := range g.Rest {
		y := c.not(t.Y)
		x = &ast.BinaryExpr{Span: ast.Span{From: x.Pos(), To: y.End()}, X: x, Op: token.LookupOp(t.Op), OpPos: span(t.Tokens).From, Y: y}
	}
	return x
}

func (c *converter) not(g *gNot) ast.Expr {
	if g.Not != nil {
		return &ast.NotExpr{Span: span(g.Tokens), X: c.not(g.Not)}
	}
	return c.cmp(g.Cmp)
}

func (c *converter) cmp(g *gCmp) ast.Expr {
	x := c.sum(g.X)
	switch {
	case g.Y != nil:
		y := c.sum(g.Y)
		opPos := token.PosOf(g.X.Tokens[len(g.X.Tokens)-1].Pos.Offset + len(g.X.Tokens[len(g.X.Tokens)-1].Value))
		for _, t := range g.Tokens[len(g.X.Tokens):] {
			if t.Value == g.Op {
				opPos = token.PosOf(t.Pos.Offset)
				break
			}
		}
		return &ast.BinaryExpr{Span: span(g.Tokens), X: x, Op: token.LookupOp(g.Op), OpPos: opPos, Y: y}
	case g.In != nil:
		in := &ast.InExpr{Span: span(g.Tokens), X: x, InPos: token.PosOf(g.Tokens[len(g.X.Tokens)].Pos.Offset)}
		if g.In.CIDR != nil {
			in.CIDR = &ast.CIDR{Span: span(g.In.CIDR.Tokens), Addr: c.ipv4(g.In.CIDR.Addr), Bits: c.intLit(g.In.CIDR.Bits)}
		} else {
			in.Range = &ast.RangeExpr{Span: span(g.In.Range.Tokens), Lo: c.intLit(g.In.Range.Lo), Hi: c.intLit(g.In.Range.Hi)}
		}
		return in
	}
	return x
}

func (c *converter) sum(g *gSum) ast.Expr {
	x := c.term(g.X)
	for _, t := range g.Rest {
		y := c.term(t.Y)
		x = &ast.BinaryExpr{Span: ast.Span{From: x.Pos(), To: y.End()}, X: x, Op: token.LookupOp(t.Op), OpPos: span(t.Tokens).From, Y: y}
	}
	return x
}

func (c *converter) term(g *gTerm) ast.Expr {
	x := c.primary(g.X)
	for _, t := range g.Rest {
		y := c.primary(t.Y)
		x = &ast.BinaryExpr{Span: ast.Span{From: x.Pos(), To: y.End()}, X: x, Op: token.LookupOp(t.Op), OpPos: span(t.Tokens).From, Y: y}
	}
	return x
}

func (c *converter) primary(g *gPrimary) ast.Expr {
	sp := span(g.Tokens)
	switch {
	case g.Int != nil:
		return c.intLit(g.Int)
	case g.IP != nil:
		return c.ipv4(g.IP)
	case g.Paren != nil:
		return &ast.ParenExpr{Span: sp, X: c.or(g.Paren)}
	}
	return &ast.Name{Span: sp, Name: g.Name}
}

// intLit parses a decimal or 0x-hex literal. Leading zeros are refused
// because C and Go readers take 010 for octal.
func (c *converter) intLit(g *gInt) *ast.IntLit {
	sp := span(g.Tokens)
	lit := &ast.IntLit{Span: sp, Raw: g.Raw}
	raw := g.Raw
	var v uint64
	var err error
	switch {
	case strings.HasPrefix(raw, "0x") || strings.HasPrefix(raw, "0X"):
		if len(raw) == 2 || strings.Contains(raw, "_") {
			c.errs.Errorf(sp.From, sp.To, "invalid integer literal %s", raw)
			return lit
		}
		v, err = strconv.ParseUint(raw[2:], 16, 64)
	case len(raw) > 1 && raw[0] == '0' && isDigits(raw):
		dec := strings.TrimLeft(raw, "0")
		if dec == "" {
			dec = "0"
		}
		c.errs.Add(diag.Error, sp.From, sp.To, "write "+dec+" for decimal, or 0x... for hex",
			"invalid integer literal %s: leading zero", raw)
		return lit
	default:
		if !isDigits(raw) {
			c.errs.Errorf(sp.From, sp.To, "invalid integer literal %s", raw)
			return lit
		}
		v, err = strconv.ParseUint(raw, 10, 64)
	}
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			c.errs.Errorf(sp.From, sp.To, "integer literal %s is too large", raw)
		} else {
			c.errs.Errorf(sp.From, sp.To, "invalid integer literal %s", raw)
		}
		return lit
	}
	lit.Value, lit.Valid = v, true
	return lit
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func (c *converter) ipv4(g *gIPv4) *ast.IPv4Lit {
	sp := span(g.Tokens)
	lit := &ast.IPv4Lit{Span: sp, Raw: g.Raw}
	parts := strings.Split(g.Raw, ".")
	if len(parts) != 4 {
		c.errs.Errorf(sp.From, sp.To, "invalid IPv4 address %s: want four dotted numbers", g.Raw)
		return lit
	}
	for _, p := range parts {
		if !isDigits(p) {
			c.errs.Errorf(sp.From, sp.To, "invalid IPv4 address %s: %q is not a decimal number", g.Raw, p)
			return lit
		}
		if len(p) > 1 && p[0] == '0' {
			c.errs.Errorf(sp.From, sp.To, "invalid IPv4 address %s: leading zero in %q", g.Raw, p)
			return lit
		}
		if n, err := strconv.Atoi(p); err != nil || n > 255 {
			c.errs.Errorf(sp.From, sp.To, "invalid IPv4 address %s: %s is larger than 255", g.Raw, p)
			return lit
		}
	}
	// The checks above leave only well-formed dotted quads.
	lit.Addr, lit.Valid = netip.MustParseAddr(g.Raw), true
	return lit
}
