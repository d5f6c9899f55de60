package codegen

import (
	"math/bits"

	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/token"
)

var aluOps = map[token.Op]asm.ALUOp{
	token.ADD: asm.Add, token.SUB: asm.Sub, token.AND: asm.And, token.OR: asm.Or, token.XOR: asm.Xor, token.SHL: asm.LSh, token.SHR: asm.RSh,
}

// value evaluates an integer or address expression into dst with 32-bit
// operations (values are u32; ALU32 zero-extends the upper half).
func (g *gen) value(e ast.Expr, dst asm.Register) {
	if v, ok := g.prog.Consts[e]; ok {
		g.emit(asm.Mov.Imm32(dst, int32(v)))
		return
	}
	switch e := e.(type) {
	case *ast.ParenExpr:
		g.value(e.X, dst)
	case *ast.Name:
		g.field(g.prog.Fields[e], dst, true)
	case *ast.BinaryExpr:
		op := aluOps[e.Op]
		switch {
		case g.prog.IsConst(e.Y):
			g.value(e.X, dst)
			g.emit(op.Imm32(dst, int32(g.prog.Consts[e.Y])))
		case g.prog.IsConst(e.X) && check.Swappable(e.Op):
			g.value(e.Y, dst)
			g.emit(op.Imm32(dst, int32(g.prog.Consts[e.X])))
		default:
			g.value(e.X, dst)
			t := g.alloc()
			g.value(e.Y, t)
			g.emit(op.Reg32(dst, t))
			g.release(t)
		}
	}
}

// field loads a 32-bit context field. With number set, remote_port is
// converted to a port number (ntohl); without, the raw word is left for
// comparison with a pre-swapped constant.
func (g *gen) field(f hook.Field, dst asm.Register, number bool) {
	g.useCtx()
	g.emit(asm.LoadMem(dst, g.ctx, f.Offset, asm.Word))
	if number && f.Encoding == hook.PortShifted {
		g.emit(asm.HostTo(asm.BE, dst, asm.Word))
	}
}

// branch jumps to target when the condition e evaluates to want, and falls
// through otherwise. and/or short-circuit; constant conditions fold.
func (g *gen) branch(e ast.Expr, want bool, target label) {
	if v, ok := g.prog.Bools[e]; ok {
		if v == want {
			g.jump(target)
		}
		return
	}
	switch e := e.(type) {
	case *ast.ParenExpr:
		g.branch(e.X, want, target)
	case *ast.NotExpr:
		g.branch(e.X, !want, target)
	case *ast.InExpr:
		g.in(e, want, target)
	case *ast.BinaryExpr:
		switch e.Op {
		case token.LAND, token.LOR:
			// "and" jumps on true only if both are true; on false as soon
			// as one is false. "or" is the mirror image.
			if (e.Op == token.LAND) == want {
				skip := g.newLabel()
				g.branch(e.X, !want, skip)
				g.branch(e.Y, want, target)
				g.bind(skip)
			} else {
				g.branch(e.X, want, target)
				g.branch(e.Y, want, target)
			}
		default:
			g.compare(e, want, target)
		}
	}
}

var (
	jumpOps = map[token.Op]asm.JumpOp{
		token.EQL: asm.JEq, token.NEQ: asm.JNE, token.LSS: asm.JLT, token.LEQ: asm.JLE, token.GTR: asm.JGT, token.GEQ: asm.JGE,
	}
	negated = map[token.Op]token.Op{
		token.EQL: token.NEQ, token.NEQ: token.EQL, token.LSS: token.GEQ, token.GEQ: token.LSS, token.GTR: token.LEQ, token.LEQ: token.GTR,
	}
	mirrored = map[token.Op]token.Op{
		token.EQL: token.EQL, token.NEQ: token.NEQ, token.LSS: token.GTR, token.GTR: token.LSS, token.LEQ: token.GEQ, token.GEQ: token.LEQ,
	}
)

func (g *gen) compare(e *ast.BinaryExpr, want bool, target label) {
	x, y, op := e.X, e.Y, e.Op
	if g.prog.IsConst(x) && !g.prog.IsConst(y) {
		x, y, op = y, x, mirrored[op]
	}
	if !want {
		op = negated[op]
	}
	r := g.alloc()
	defer g.release(r)
	if c, ok := g.prog.Consts[y]; ok {
		// remote_port == N: compare the raw word with N byte-swapped
		// instead of swapping the field at run time.
		if n, isName := ast.Unparen(x).(*ast.Name); isName && (op == token.EQL || op == token.NEQ) {
			if f := g.prog.Fields[n]; f.Encoding == hook.PortShifted {
				g.field(f, r, false)
				g.jumpImm(jumpOps[op], r, bits.ReverseBytes32(c), target)
				return
			}
		}
		g.value(x, r)
		g.jumpImm(jumpOps[op], r, c, target)
		return
	}
	g.value(x, r)
	t := g.alloc()
	g.value(y, t)
	g.jumpReg(jumpOps[op], r, t, target)
	g.release(t)
}

func (g *gen) in(e *ast.InExpr, want bool, target label) {
	r := g.alloc()
	defer g.release(r)
	if c := e.CIDR; c != nil {
		bits := int(c.Bits.Value)
		if bits == 0 {
			if want {
				g.jump(target)
			}
			return
		}
		g.value(e.X, r)
		if bits < 32 {
			g.emit(asm.And.Imm32(r, int32(prefixMask(bits))))
		}
		op := asm.JEq
		if !want {
			op = asm.JNE
		}
		g.jumpImm(op, r, ip4Word(c.Addr.Addr.As4()), target)
		return
	}
	lo, hi := g.prog.Consts[e.Range.Lo], g.prog.Consts[e.Range.Hi]
	g.value(e.X, r)
	// lo <= x <= hi as one unsigned test: x - lo <= hi - lo.
	if lo != 0 {
		g.emit(asm.Sub.Imm32(r, int32(lo)))
	}
	op := asm.JLE
	if !want {
		op = asm.JGT
	}
	g.jumpImm(op, r, hi-lo, target)
}
