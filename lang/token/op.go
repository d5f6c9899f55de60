package token

import "strconv"

// Op is a binary operator of an expression. The names are go/token's:
// AND and OR are the bitwise & and |, LAND and LOR the words and and or.
type Op int

// The operators, by the levels of the precedence table of docs/language.md
// §3, loosest first.
const (
	NoOp Op = iota

	LOR  // or
	LAND // and

	EQL // ==
	NEQ // !=
	LSS // <
	LEQ // <=
	GTR // >
	GEQ // >=

	ADD // +
	SUB // -
	OR  // |
	XOR // ^

	SHL // <<
	SHR // >>
	AND // &

	numOps
)

var opText = [numOps]string{
	LOR: "or", LAND: "and",
	EQL: "==", NEQ: "!=", LSS: "<", LEQ: "<=", GTR: ">", GEQ: ">=",
	ADD: "+", SUB: "-", OR: "|", XOR: "^",
	SHL: "<<", SHR: ">>", AND: "&",
}

// String returns the operator as written in source: "+", "==", "and".
func (op Op) String() string {
	if op > NoOp && op < numOps {
		return opText[op]
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// Len returns the length of the operator as written, in bytes.
func (op Op) Len() Pos { return Pos(len(op.String())) }

// LookupOp returns the operator written s, or NoOp.
func LookupOp(s string) Op {
	for op := NoOp + 1; op < numOps; op++ {
		if opText[op] == s {
			return op
		}
	}
	return NoOp
}

// IsLogical reports whether op is and or or, whose operands are
// conditions.
func (op Op) IsLogical() bool { return op == LOR || op == LAND }

// IsComparison reports whether op compares two values into a condition.
func (op Op) IsComparison() bool { return EQL <= op && op <= GEQ }

// IsArithmetic reports whether op computes a value from two values.
func (op Op) IsArithmetic() bool { return ADD <= op && op <= AND }
