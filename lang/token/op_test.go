package token

import "testing"

func TestOps(t *testing.T) {
	kinds := 0
	for op := NoOp + 1; op < numOps; op++ {
		s := op.String()
		if s == "" || LookupOp(s) != op {
			t.Errorf("op %d: String() = %q, LookupOp of it = %v", int(op), s, LookupOp(s))
		}
		if op.Len() != Pos(len(s)) {
			t.Errorf("%s: Len() = %d", s, op.Len())
		}
		n := 0
		for _, is := range []bool{op.IsLogical(), op.IsComparison(), op.IsArithmetic()} {
			if is {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s is in %d of the classes logical, comparison, arithmetic; want 1", s, n)
		}
		kinds++
	}
	if kinds != 15 {
		t.Errorf("%d operators, want 15", kinds)
	}
	for _, s := range []string{"", "not", "in", "=", "&&", "..", "AND"} {
		if op := LookupOp(s); op != NoOp {
			t.Errorf("LookupOp(%q) = %v, want NoOp", s, op)
		}
	}
	if got := Op(99).String(); got != "Op(99)" {
		t.Errorf("Op(99).String() = %q", got)
	}
	if got := NoOp.String(); got != "Op(0)" {
		t.Errorf("NoOp.String() = %q", got)
	}
}
