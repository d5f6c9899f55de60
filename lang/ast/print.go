package ast

import "strings"

// ExprString returns the source form of e, the one spelling of an
// expression that sockc prints (sockc fmt, and messages that quote one):
// binary operators between single spaces, `not` followed by one, no
// blanks inside a CIDR (10.0.0.0/8) or a range (1..2), parentheses where
// the source has them and nowhere else, literals as written.
func ExprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *IntLit:
		b.WriteString(e.Raw)
	case *IPv4Lit:
		b.WriteString(e.Raw)
	case *Name:
		b.WriteString(e.Name)
	case *ParenExpr:
		b.WriteByte('(')
		writeExpr(b, e.X)
		b.WriteByte(')')
	case *NotExpr:
		b.WriteString("not ")
		writeExpr(b, e.X)
	case *BinaryExpr:
		writeExpr(b, e.X)
		b.WriteString(" " + e.Op.String() + " ")
		writeExpr(b, e.Y)
	case *InExpr:
		writeExpr(b, e.X)
		b.WriteString(" in ")
		switch {
		case e.CIDR != nil:
			b.WriteString(e.CIDR.Addr.Raw + "/" + e.CIDR.Bits.Raw)
		case e.Range != nil:
			writeExpr(b, e.Range.Lo)
			b.WriteString("..")
			writeExpr(b, e.Range.Hi)
		}
	}
	// Expr is closed: a parsed file holds no other expression, and
	// lang/format's token check catches one left out here.
}

// String spells the key expression in canonical form: "key(a, b + 1)".
func (k *KeyExpr) String() string {
	var b strings.Builder
	b.WriteString("key(")
	for i, a := range k.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(&b, a)
	}
	b.WriteByte(')')
	return b.String()
}
