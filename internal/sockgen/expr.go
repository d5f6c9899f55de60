package sockgen

import (
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/token"
)

// typ is an expression type as lang/check sees it.
type typ int

const (
	tInt typ = iota
	tPort
	tIP4
	tIP6
	tIP // local_ip, remote_ip: an address of either family
	tFamily
	tBool
)

func (t typ) numeric() bool { return t == tInt || t == tPort }

// Precedence levels of the grammar, loosest first; an operand binding
// looser than its operator needs parentheses.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCmp
	precSum
	precTerm
	precPrimary
)

// expr is a generated expression: its tokens and what the checker derives
// for it, so that the generator stays inside the checker's rules and the
// printed text parses to the tree it describes.
type expr struct {
	toks   []string
	t      typ
	prec   int
	konst  bool   // a constant value (check.Info.Consts)
	val    uint32 // its value; an ip4 address as a native load of its bytes
	kbool  bool   // a constant condition (check.Info.Bools)
	bval   bool
	extra  int  // registers beyond the destination (check.Info.Need - 1)
	height int  // operator levels below the node (the checker's depth)
	ip4lit bool // an IPv4 literal, maybe in parentheses: a CIDR test of it folds
}

func paren(x expr) expr {
	e := x
	e.toks = append(append([]string{"("}, x.toks...), ")")
	e.prec = precPrimary
	e.height = x.height + 1
	return e
}

// atLeast parenthesizes x if it binds looser than prec.
func atLeast(x expr, prec int) expr {
	if x.prec < prec {
		return paren(x)
	}
	return x
}

// swappable mirrors check.Swappable: a constant left operand of these
// operators becomes an immediate.
func swappable(op string) bool {
	switch op {
	case "+", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// binExtra mirrors check.Info.Need for a binary operator.
func binExtra(op string, x, y expr) int {
	if y.konst {
		return x.extra
	}
	if x.konst && swappable(op) {
		return y.extra
	}
	return max(x.extra, 1+y.extra)
}

func binop(op string, prec int, x, y expr, t typ) expr {
	return expr{
		toks:   append(append(append([]string(nil), x.toks...), op), y.toks...),
		t:      t,
		prec:   prec,
		extra:  binExtra(op, x, y),
		height: 1 + max(x.height, y.height),
	}
}

var sumOps, termOps = []string{"+", "-", "|", "^"}, []string{"<<", ">>", "&"}

// arith combines two numeric expressions, keeping constant folding within
// 32 bits and constant shift counts below 32, as the checker requires.
func (g *gen) arith(op string, x, y expr) expr {
	if (op == "<<" || op == ">>") && y.konst && y.val >= 32 {
		y = g.intLit(y.val % 32)
	}
	if x.konst && y.konst {
		if _, ok := check.Fold(token.LookupOp(op), x.val, y.val); !ok {
			op = "^"
		}
	}
	prec := precSum
	if op == "<<" || op == ">>" || op == "&" {
		prec = precTerm
	}
	e := binop(op, prec, atLeast(x, prec), atLeast(y, prec+1), tInt)
	if x.konst && y.konst {
		e.konst = true
		e.val, _ = check.Fold(token.LookupOp(op), x.val, y.val)
		e.extra = 0
	}
	return e
}

// num is a numeric expression (integer or port) of about size nodes.
func (g *gen) num(size int) expr {
	if size <= 1 || g.r.IntN(3) == 0 {
		return g.numLeaf()
	}
	switch g.r.IntN(8) {
	case 0:
		return paren(g.num(size - 1))
	case 1, 2, 3:
		op := termOps[g.r.IntN(len(termOps))]
		return g.arith(op, g.num(size/2), g.shiftable(op, size/2))
	}
	op := sumOps[g.r.IntN(len(sumOps))]
	return g.arith(op, g.num(size/2), g.num(size-size/2-1))
}

// shiftable is a right operand for op: mostly a small constant count for
// shifts, which must be below 32 when constant.
func (g *gen) shiftable(op string, size int) expr {
	if (op == "<<" || op == ">>") && g.r.IntN(3) > 0 {
		return g.intLit(uint32(g.r.IntN(32)))
	}
	return g.num(size)
}

func (g *gen) numLeaf() expr {
	switch g.r.IntN(5) {
	case 0, 1:
		return g.intLit(g.u32())
	case 2:
		if e, ok := g.field(tInt); ok { // size
			return e
		}
	}
	e, _ := g.field(tPort)
	return e
}

// intExact is an expression of type integer exactly (not a port): what a
// u32 component of an inferred tuple key needs.
func (g *gen) intExact(size int) expr {
	for {
		if e := g.num(size); e.t == tInt {
			return e
		}
	}
}

// fieldOf is a field of type t, maybe in parentheses: the only
// expressions of type port (exactly), ip6 and ip.
func (g *gen) fieldOf(t typ) expr {
	e, _ := g.field(t)
	for g.r.IntN(6) == 0 {
		e = paren(e)
	}
	return e
}

func (g *gen) ip4(size int) expr {
	if size > 1 && g.r.IntN(6) == 0 {
		return paren(g.ip4(size - 1))
	}
	if g.r.IntN(3) == 0 {
		return g.ip4Lit(g.ip4Bytes())
	}
	e, _ := g.field(tIP4)
	return e
}

func (g *gen) family(size int) expr {
	if size > 1 && g.r.IntN(6) == 0 {
		return paren(g.family(size - 1))
	}
	switch g.r.IntN(4) {
	case 0:
		return familyConst("inet", hook.AFInet)
	case 1:
		return familyConst("inet6", hook.AFInet6)
	}
	e, _ := g.field(tFamily)
	return e
}
