package check

import (
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/token"
)

// Need returns how many registers code generation uses to evaluate e: the
// destination plus the temporaries held at the widest point. Code
// generation evaluates the left operand first and folds constant operands
// into immediates; Need mirrors exactly that, so that the checker's limit
// is the generator's.
func (in *Info) Need(e ast.Expr) int { return 1 + in.extra(e) }

func (in *Info) extra(e ast.Expr) int {
	if _, ok := in.Bools[e]; ok {
		return 0
	}
	if _, ok := in.Consts[e]; ok {
		return 0
	}
	switch e := e.(type) {
	case *ast.ParenExpr:
		return in.extra(e.X)
	case *ast.NotExpr:
		return in.extra(e.X)
	case *ast.InExpr:
		return in.extra(e.X)
	case *ast.BinaryExpr:
		if e.Op.IsLogical() {
			return max(in.extra(e.X), in.extra(e.Y))
		}
		if in.IsConst(e.Y) {
			return in.extra(e.X)
		}
		if in.IsConst(e.X) && Swappable(e.Op) {
			return in.extra(e.Y)
		}
		return max(in.extra(e.X), 1+in.extra(e.Y))
	}
	return 0
}

// Swappable reports whether X op Y can be evaluated as Y op' X, so that a
// constant left operand becomes an immediate: the commutative arithmetic
// operators and the comparisons (mirrored).
func Swappable(op token.Op) bool {
	switch op {
	case token.ADD, token.AND, token.OR, token.XOR:
		return true
	}
	return op.IsComparison()
}
