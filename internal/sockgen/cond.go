package sockgen

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/token"
)

// cond is a condition of about size nodes.
func (g *gen) cond(size int) expr {
	if size <= 1 {
		return g.comparison(1)
	}
	switch g.r.IntN(10) {
	case 0:
		return paren(g.cond(size - 1))
	case 1:
		return g.not(g.cond(size - 1))
	case 2, 3:
		op := "and"
		if g.r.IntN(2) == 0 {
			op = "or"
		}
		return g.logic(op, g.cond(size/2), g.cond(size-size/2-1))
	}
	return g.comparison(size)
}

func (g *gen) not(x expr) expr {
	x = atLeast(x, precNot)
	e := expr{toks: append([]string{"not"}, x.toks...), t: tBool, prec: precNot, extra: x.extra, height: x.height + 1}
	if x.kbool {
		e.kbool, e.bval, e.extra = true, !x.bval, 0
	}
	return e
}

func (g *gen) logic(op string, x, y expr) expr {
	prec := precAnd
	if op == "or" {
		prec = precOr
	}
	x, y = atLeast(x, prec), atLeast(y, prec+1)
	e := expr{
		toks:   append(append(append([]string(nil), x.toks...), op), y.toks...),
		t:      tBool,
		prec:   prec,
		extra:  max(x.extra, y.extra),
		height: 1 + max(x.height, y.height),
	}
	if x.kbool && y.kbool {
		e.kbool, e.extra = true, 0
		if op == "and" {
			e.bval = x.bval && y.bval
		} else {
			e.bval = x.bval || y.bval
		}
	}
	return e
}

var cmpOps = []string{"==", "!=", "<", "<=", ">", ">="}

// comparison is a comparison or an in test.
func (g *gen) comparison(size int) expr {
	switch g.r.IntN(40) {
	case 0:
		// As many registers as allowed: the constant side is an immediate.
		x, y := g.hungry(), g.intLit(g.u32())
		if g.r.IntN(2) == 0 {
			x, y = y, x
		}
		return g.compare(cmpOps[g.r.IntN(len(cmpOps))], x, y)
	case 1:
		return g.inRange(g.hungry())
	case 2:
		// The right side one register short of the limit, held beside the
		// left side's value.
		return g.compare(cmpOps[g.r.IntN(len(cmpOps))], g.fieldNum(), g.hungryUpTo(maxExtra-1))
	}
	switch g.r.IntN(10) {
	case 0, 1:
		return g.compare(eqOp(g), g.ip4(size/2), g.ip4(size/2))
	case 2:
		return g.compare(eqOp(g), g.family(size/2), g.family(size/2))
	case 3:
		return g.inRange(g.num(size - 1))
	case 4:
		return g.inCIDR(g.ip4(size - 1))
	}
	return g.compare(cmpOps[g.r.IntN(len(cmpOps))], g.num(size/2), g.num(size-size/2-1))
}

func eqOp(g *gen) string {
	if g.r.IntN(2) == 0 {
		return "=="
	}
	return "!="
}

// compare builds x op y; a constant compared with a port must be a port
// number.
func (g *gen) compare(op string, x, y expr) expr {
	if x.t == tPort && y.konst && y.val > 0xffff {
		y = g.intLit(y.val & 0xffff)
	}
	if y.t == tPort && x.konst && x.val > 0xffff {
		x = g.intLit(x.val & 0xffff)
	}
	x, y = atLeast(x, precSum), atLeast(y, precSum)
	e := binop(op, precCmp, x, y, tBool)
	if x.konst && y.konst {
		e.kbool, e.bval, e.extra = true, check.CompareConst(token.LookupOp(op), x.val, y.val), 0
	}
	return e
}

// inRange is x in LO..HI with literal bounds, LO <= HI, and HI a port
// number when x is a port.
func (g *gen) inRange(x expr) expr {
	x = atLeast(x, precSum)
	lo, hi := g.u32(), g.u32()
	if x.t == tPort {
		lo, hi = lo&0xffff, hi&0xffff
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	e := expr{
		toks:   append(append([]string(nil), x.toks...), "in", g.intText(lo), "..", g.intText(hi)),
		t:      tBool,
		prec:   precCmp,
		extra:  x.extra,
		height: 1 + x.height,
	}
	if x.konst {
		e.kbool, e.bval, e.extra = true, lo <= x.val && x.val <= hi, 0
	}
	return e
}

// inCIDR is x in A.B.C.D/N with the host bits of the address zero.
func (g *gen) inCIDR(x expr) expr {
	x = atLeast(x, precSum)
	bits := g.r.IntN(33)
	b := g.ip4Bytes()
	for i := range b {
		keep := min(max(bits-8*i, 0), 8)
		b[i] &= byte(0xff << (8 - keep))
	}
	n := strconv.Itoa(bits)
	if g.r.IntN(10) == 0 {
		n = g.intText(uint32(bits))
	}
	e := expr{
		toks:   append(append([]string(nil), x.toks...), "in", fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]), "/", n),
		t:      tBool,
		prec:   precCmp,
		extra:  x.extra,
		height: 1 + x.height,
	}
	if x.ip4lit {
		var a [4]byte
		binary.NativeEndian.PutUint32(a[:], x.val)
		in := true
		for i := 0; i < bits; i++ {
			if (a[i/8]^b[i/8])&(0x80>>(i%8)) != 0 {
				in = false
			}
		}
		e.kbool, e.bval, e.extra = true, in, 0
	}
	return e
}
