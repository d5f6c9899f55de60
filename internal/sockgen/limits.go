package sockgen

import "github.com/sockc/sockc/lang/check"

// Limits of lang/check that generated expressions stay within.
const (
	maxExtra  = check.MaxRegs - 1 // registers beyond the destination
	maxHeight = check.MaxExprDepth
)

// valid reports whether e is within the checker's register and depth
// limits.
func valid(e expr) bool { return e.extra <= maxExtra && e.height <= maxHeight }

// limited retries build until its expression is within the limits, and
// sometimes stretches it to exactly the depth limit.
func (g *gen) limited(build func() expr) expr {
	for {
		e := build()
		if !valid(e) {
			continue
		}
		if g.r.IntN(250) == 0 {
			e = g.deepen(e)
		}
		return e
	}
}

// deepen nests e in parentheses (and, for a condition, double negations)
// until it is exactly at the checker's depth limit.
func (g *gen) deepen(e expr) expr {
	for e.height < maxHeight {
		if e.t == tBool && e.height <= maxHeight-2 && g.r.IntN(3) == 0 {
			e = g.not(g.not(e))
			continue
		}
		e = paren(e)
	}
	return e
}

// hungry is a numeric expression that needs exactly the registers the
// checker allows: a right-nested chain of non-constant operands.
func (g *gen) hungry() expr { return g.hungryUpTo(maxExtra) }

// hungryUpTo is a right-nested chain needing extra registers beyond its
// destination.
func (g *gen) hungryUpTo(extra int) expr {
	e := g.fieldNum()
	for e.extra < extra {
		ops := sumOps
		if g.r.IntN(3) == 0 {
			ops = termOps
		}
		e = g.arith(ops[g.r.IntN(len(ops))], g.fieldNum(), e)
	}
	return e
}

// fieldNum is a numeric field: a port, or size where the hook has it.
func (g *gen) fieldNum() expr {
	if f, ok := g.field(tInt); ok && g.r.IntN(2) == 0 {
		return f
	}
	e, _ := g.field(tPort)
	return e
}
