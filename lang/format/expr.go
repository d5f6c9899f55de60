package format

import (
	"strings"

	"github.com/sockc/sockc/lang/ast"
)

// expr prints an expression: binary operators between single spaces,
// parentheses where the source has them, literals as written.
func expr(e ast.Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e ast.Expr) {
	switch e := e.(type) {
	case *ast.IntLit:
		b.WriteString(e.Raw)
	case *ast.IPv4Lit:
		b.WriteString(e.Raw)
	case *ast.Name:
		b.WriteString(e.Name)
	case *ast.ParenExpr:
		b.WriteByte('(')
		writeExpr(b, e.X)
		b.WriteByte(')')
	case *ast.NotExpr:
		b.WriteString("not ")
		writeExpr(b, e.X)
	case *ast.BinaryExpr:
		writeExpr(b, e.X)
		b.WriteString(" " + e.Op + " ")
		writeExpr(b, e.Y)
	case *ast.InExpr:
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
	// Other node types do not occur in a parsed file; the token check of
	// Source catches anything left out.
}

// keyExpr prints key(a, b, ...).
func keyExpr(k *ast.KeyExpr) string {
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
