package check

import (
	"encoding/binary"
	"math"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/token"
)

// cond checks an if condition.
func (c *checker) cond(h *Handler, e ast.Expr) {
	t := c.top(h, e)
	if t != Invalid && t != Bool {
		c.errs.Add(diag.Error, e.Pos(), e.End(), "compare it, e.g. "+exampleCompare(t),
			"condition is %s, not a comparison", t.A())
	}
}

func exampleCompare(t Type) string {
	switch t {
	case IP4:
		return "remote_ip4 in 10.0.0.0/8"
	case Family:
		return "family == inet"
	}
	return "size > 0"
}

// value checks an expression used as a value (key component, byte count).
func (c *checker) value(h *Handler, e ast.Expr) Type {
	return c.top(h, e)
}

// top checks a whole expression and its register need.
func (c *checker) top(h *Handler, e ast.Expr) Type {
	c.deepReported = false
	t := c.expr(h, e, 0)
	if t != Invalid {
		if n := c.prog.Need(e); n > MaxRegs {
			c.errs.Add(diag.Error, e.Pos(), e.End(), "split it across nested if statements",
				"expression too complex: it needs %d registers, more than the %d available", n, MaxRegs)
			return Invalid
		}
	}
	return t
}

func (c *checker) set(e ast.Expr, t Type) Type {
	c.prog.Types[e] = t
	return t
}

func (c *checker) expr(h *Handler, e ast.Expr, depth int) Type {
	if depth > MaxExprDepth {
		// Both operands of an operator at the limit are too deep: say it
		// once for the whole expression.
		if !c.deepReported {
			c.deepReported = true
			c.errorf(e, "expression nested too deeply (more than %d levels)", MaxExprDepth)
		}
		return Invalid
	}
	switch e := e.(type) {
	case *ast.IntLit:
		if !e.Valid {
			return Invalid
		}
		if e.Value > math.MaxUint32 {
			c.errorf(e, "integer %s out of range: values are 32-bit, at most 4294967295", shortLit(e.Raw))
			return Invalid
		}
		c.prog.Consts[e] = uint32(e.Value)
		return c.set(e, Int)
	case *ast.IPv4Lit:
		if !e.Valid {
			return Invalid
		}
		b := e.Addr.As4()
		c.prog.Consts[e] = binary.NativeEndian.Uint32(b[:])
		return c.set(e, IP4)
	case *ast.Name:
		return c.name(h, e)
	case *ast.ParenExpr:
		t := c.expr(h, e.X, depth+1)
		if v, ok := c.prog.Consts[e.X]; ok {
			c.prog.Consts[e] = v
		}
		if v, ok := c.prog.Bools[e.X]; ok {
			c.prog.Bools[e] = v
		}
		return c.set(e, t)
	case *ast.NotExpr:
		t := c.expr(h, e.X, depth+1)
		if t == Invalid {
			return Invalid
		}
		if t != Bool {
			c.errorf(e.X, "not needs a condition, not %s", t.A())
			return Invalid
		}
		if v, ok := c.prog.Bools[e.X]; ok {
			c.prog.Bools[e] = !v
		}
		return c.set(e, Bool)
	case *ast.BinaryExpr:
		return c.binary(h, e, depth)
	case *ast.InExpr:
		return c.in(h, e, depth)
	}
	return Invalid
}

func (c *checker) name(h *Handler, e *ast.Name) Type {
	switch e.Name {
	case "inet":
		c.prog.Consts[e] = hook.AFInet
		return c.set(e, Family)
	case "inet6":
		c.prog.Consts[e] = hook.AFInet6
		return c.set(e, Family)
	}
	f, known, ok := h.Hook.Lookup(e.Name)
	if !known {
		hint := ""
		if s := c.suggest(e.Name, append(hook.FieldNames(), "inet", "inet6")); s != "" {
			hint = "did you mean " + s + "?"
		}
		c.errs.Add(diag.Error, e.Pos(), e.End(), hint, "unknown field %s", e.Name)
		return Invalid
	}
	if !ok {
		c.errorf(e, "field %s is not available in on %s (%s has no such field)", e.Name, h.Hook, h.Hook.Context())
		return Invalid
	}
	c.prog.Fields[e] = f
	switch f.Type {
	case hook.Port:
		return c.set(e, Port)
	case hook.IP4:
		return c.set(e, IP4)
	case hook.IP6:
		return c.set(e, IP6)
	case hook.IP:
		return c.set(e, IP)
	case hook.Family:
		return c.set(e, Family)
	}
	return c.set(e, Int)
}

func (c *checker) binary(h *Handler, e *ast.BinaryExpr, depth int) Type {
	x := c.expr(h, e.X, depth+1)
	y := c.expr(h, e.Y, depth+1)
	if x == Invalid || y == Invalid {
		return Invalid
	}
	switch {
	case e.Op.IsLogical():
		for _, side := range []struct {
			e ast.Expr
			t Type
		}{{e.X, x}, {e.Y, y}} {
			if side.t != Bool {
				c.errorf(side.e, "%s needs conditions on both sides; this is %s", e.Op, side.t.A())
				return Invalid
			}
		}
		xv, xok := c.prog.Bools[e.X]
		yv, yok := c.prog.Bools[e.Y]
		if xok && yok {
			if e.Op == token.LAND {
				c.prog.Bools[e] = xv && yv
			} else {
				c.prog.Bools[e] = xv || yv
			}
		}
		return c.set(e, Bool)
	case e.Op.IsComparison():
		return c.compare(e, x, y)
	}
	// Arithmetic.
	for _, side := range []struct {
		e ast.Expr
		t Type
	}{{e.X, x}, {e.Y, y}} {
		if !side.t.Numeric() {
			c.errorf(side.e, "operator %s needs integers; this is %s", e.Op, side.t.A())
			return Invalid
		}
	}
	if (e.Op == token.SHL || e.Op == token.SHR) && c.prog.IsConst(e.Y) && c.prog.Consts[e.Y] >= 32 {
		c.errorf(e.Y, "shift count %d too large: values are 32-bit", c.prog.Consts[e.Y])
		return Invalid
	}
	xv, xok := c.prog.Consts[e.X]
	yv, yok := c.prog.Consts[e.Y]
	if xok && yok {
		v, ok := Fold(e.Op, xv, yv)
		if !ok {
			c.errorf(e, "constant expression overflows 32 bits")
			return Invalid
		}
		c.prog.Consts[e] = v
	}
	return c.set(e, Int)
}

// Fold is the value of the constant expression x OP y for an arithmetic
// operator (+ - & | ^ << >>, shift counts below 32), and false when the
// result leaves the 32-bit range, which the checker reports as an error.
// Tools that generate programs within the checker's rules use it too.
func Fold(op token.Op, x32, y32 uint32) (uint32, bool) {
	x, y := uint64(x32), uint64(y32)
	var v uint64
	switch op {
	case token.ADD:
		v = x + y
	case token.SUB:
		if y > x {
			return 0, false
		}
		v = x - y
	case token.AND:
		v = x & y
	case token.OR:
		v = x | y
	case token.XOR:
		v = x ^ y
	case token.SHL:
		v = x << y
	case token.SHR:
		v = x >> y
	}
	return uint32(v), v <= math.MaxUint32
}

func (c *checker) compare(e *ast.BinaryExpr, x, y Type) Type {
	ordered := e.Op != token.EQL && e.Op != token.NEQ
	switch {
	case x == Bool || y == Bool:
		c.errs.Add(diag.Error, e.OpPos, e.OpPos+e.Op.Len(), "combine conditions with and, or, not",
			"cannot compare conditions with %s", e.Op)
		return Invalid
	case x.Wide() || y.Wide():
		t := x
		if !t.Wide() {
			t = y
		}
		c.errorf(e, "%s can only be used in keys", t.Plural())
		return Invalid
	case x.Numeric() && y.Numeric():
		// Integers and ports mix; constants are range-checked against a port.
		c.portRange(e.X, x, e.Y)
		c.portRange(e.Y, y, e.X)
	case x == IP4 && y == IP4, x == Family && y == Family:
		if ordered {
			hint := ""
			if x == IP4 {
				hint = "use remote_ip4 in 10.0.0.0/8 for address ranges"
			}
			c.errs.Add(diag.Error, e.OpPos, e.OpPos+e.Op.Len(), hint, "%s have no order; only == and != compare them", x.Plural())
			return Invalid
		}
	default:
		hint := ""
		if x == Family || y == Family {
			hint = "compare family with inet or inet6"
		}
		c.errs.Add(diag.Error, e.Pos(), e.End(), hint, "mismatched types: %s %s %s", x, e.Op, y)
		return Invalid
	}
	xv, xok := c.prog.Consts[e.X]
	yv, yok := c.prog.Consts[e.Y]
	if xok && yok {
		c.prog.Bools[e] = CompareConst(e.Op, xv, yv)
	}
	return c.set(e, Bool)
}

// portRange reports a constant compared with a port that no port can equal.
func (c *checker) portRange(port ast.Expr, t Type, other ast.Expr) {
	if t != Port {
		return
	}
	if v, ok := c.prog.Consts[other]; ok && v > 0xffff {
		c.errorf(other, "%d is out of range for a port (0..65535)", v)
	}
}

// CompareConst is the value of the constant comparison x OP y.
func CompareConst(op token.Op, x, y uint32) bool {
	switch op {
	case token.EQL:
		return x == y
	case token.NEQ:
		return x != y
	case token.LSS:
		return x < y
	case token.LEQ:
		return x <= y
	case token.GTR:
		return x > y
	}
	return x >= y
}

func (c *checker) in(h *Handler, e *ast.InExpr, depth int) Type {
	x := c.expr(h, e.X, depth+1)
	if x == Invalid {
		return Invalid
	}
	if e.CIDR != nil {
		return c.inCIDR(e, x)
	}
	lo := c.expr(h, e.Range.Lo, depth+1)
	hi := c.expr(h, e.Range.Hi, depth+1)
	if lo == Invalid || hi == Invalid {
		return Invalid
	}
	if !x.Numeric() {
		hint := ""
		if x == IP4 {
			hint = "use a CIDR: remote_ip4 in 10.0.0.0/8"
		}
		c.errs.Add(diag.Error, e.X.Pos(), e.X.End(), hint, "a range needs an integer or port on the left; this is %s", x.A())
		return Invalid
	}
	// The grammar makes both bounds integer literals.
	lv, hv := c.prog.Consts[e.Range.Lo], c.prog.Consts[e.Range.Hi]
	if lv > hv {
		c.errorf(e.Range, "empty range %d..%d: the low end is above the high end", lv, hv)
		return Invalid
	}
	if x == Port && hv > 0xffff {
		c.errorf(e.Range.Hi, "%d is out of range for a port (0..65535)", hv)
		return Invalid
	}
	if xv, ok := c.prog.Consts[e.X]; ok {
		c.prog.Bools[e] = lv <= xv && xv <= hv
	}
	return c.set(e, Bool)
}

func (c *checker) inCIDR(e *ast.InExpr, x Type) Type {
	cidr := e.CIDR
	if !cidr.Addr.Valid || !cidr.Bits.Valid {
		return Invalid
	}
	if x != IP4 {
		c.errorf(e.X, "a CIDR needs an ip4 address on the left; this is %s", x.A())
		return Invalid
	}
	if cidr.Bits.Value > 32 {
		c.errorf(cidr.Bits, "CIDR prefix /%d is longer than 32 bits", cidr.Bits.Value)
		return Invalid
	}
	bits := int(cidr.Bits.Value)
	a := cidr.Addr.Addr
	masked, err := a.Prefix(bits)
	if err == nil && masked.Addr() != a {
		c.errs.Add(diag.Error, cidr.Pos(), cidr.End(), "write "+masked.String(),
			"%s/%d has host bits set", a, bits)
		return Invalid
	}
	if lit, ok := ast.Unparen(e.X).(*ast.IPv4Lit); ok && lit.Valid && err == nil {
		c.prog.Bools[e] = masked.Contains(lit.Addr)
	}
	return c.set(e, Bool)
}
