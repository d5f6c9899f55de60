package ast_test

import (
	"testing"

	sockast "github.com/sockc/sockc/lang/ast"
)

func TestExprString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"size", "size"},
		{"0x9C44", "0x9C44"},
		{"10.0.0.1", "10.0.0.1"},
		{"(local_port+1)<<2==0x9C44 or not(size>=10 and size<=20)", "(local_port + 1) << 2 == 0x9C44 or not (size >= 10 and size <= 20)"},
		{"remote_ip4 in 10.0.0.0/8 and local_port in 1024..0xffff", "remote_ip4 in 10.0.0.0/8 and local_port in 1024..0xffff"},
		{"((size))", "((size))"},
		{"not not size > 1", "not not size > 1"},
		{"size - 1 ^ 2 | 3 & 4 >> 5", "size - 1 ^ 2 | 3 & 4 >> 5"},
		{"size != 1 or size < 2 or size <= 3", "size != 1 or size < 2 or size <= 3"},
	}
	for _, tt := range tests {
		file := parse(t, "on msg to sockhash m:\n    if "+tt.in+": drop\n")
		cond := file.Decls[0].(*sockast.Handler).Body.Stmts[0].(*sockast.IfStmt).Cond
		if got := sockast.ExprString(cond); got != tt.want {
			t.Errorf("ExprString(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKeyExprString(t *testing.T) {
	file := parse(t, "on msg to sockhash m: redirect key( remote_ip4 ,remote_port+1, (1) )\n")
	key := file.Decls[0].(*sockast.Handler).Body.Stmts[0].(*sockast.RedirectStmt).Key
	if got, want := key.String(), "key(remote_ip4, remote_port + 1, (1))"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	file = parse(t, "on msg to sockhash m: redirect key()\n")
	key = file.Decls[0].(*sockast.Handler).Body.Stmts[0].(*sockast.RedirectStmt).Key
	if got, want := key.String(), "key()"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
