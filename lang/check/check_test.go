package check

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// checkSrc parses and checks src. Syntax errors fail the test: these
// tests are about the checker.
func checkSrc(t *testing.T, src string) (*Program, diag.List) {
	t.Helper()
	f := token.NewFile("c.sock", []byte(src))
	errs := diag.NewCollector(f)
	file := parser.ParseFile(f, errs)
	if errs.HasErrors() {
		t.Fatalf("syntax errors in %q:\n%s", src, messages(errs.List()))
	}
	prog := Check(file, errs)
	if prog == nil {
		t.Fatal("Check returned nil")
	}
	return prog, errs.List()
}

// checkClean checks src and fails on any error; warnings are allowed.
func checkClean(t *testing.T, src string) *Program {
	t.Helper()
	prog, diags := checkSrc(t, src)
	if diags.HasErrors() {
		t.Fatalf("check %q:\n%s", src, messages(diags))
	}
	return prog
}

func messages(l diag.List) string {
	var out []string
	for _, d := range l {
		sev := ""
		if d.Severity == diag.Warning {
			sev = "warning: "
		}
		out = append(out, fmt.Sprintf("%d:%d: %s%s", d.Pos.Line, d.Pos.Column, sev, d.Message))
	}
	return strings.Join(out, "\n")
}

// stmts returns the statements of the i-th handler in source order.
func stmts(t *testing.T, p *Program, i int) []ast.Stmt {
	t.Helper()
	var hs []*ast.Handler
	for _, d := range p.File.Decls {
		if h, ok := d.(*ast.Handler); ok {
			hs = append(hs, h)
		}
	}
	if i >= len(hs) {
		t.Fatalf("no handler %d", i)
	}
	return hs[i].Body.Stmts
}

// firstKeyArg returns the first key argument of the first statement of
// the first handler, a redirect or update.
func firstKeyArg(t *testing.T, p *Program) ast.Expr {
	t.Helper()
	switch s := stmts(t, p, 0)[0].(type) {
	case *ast.RedirectStmt:
		return s.Key.Args[0]
	case *ast.UpdateStmt:
		return s.Key.Args[0]
	}
	t.Fatal("first statement has no key")
	return nil
}

// firstCond returns the condition of the first statement of the first
// handler, an if.
func firstCond(t *testing.T, p *Program) ast.Expr {
	t.Helper()
	s, ok := stmts(t, p, 0)[0].(*ast.IfStmt)
	if !ok {
		t.Fatal("first statement is not an if")
	}
	return s.Cond
}

func TestKeyInference(t *testing.T) {
	tests := []struct {
		name string
		src  string
		m    string
		key  string
	}{
		{"one port", "on msg to sockhash a: redirect key(remote_port)", "a", "u32"},
		{"one local port", "on msg to sockhash a: redirect key(local_port)", "a", "u32"},
		{"one ip4 is a u32", "on msg to sockhash a: redirect key(remote_ip4)", "a", "u32"},
		{"one constant", "on msg to sockhash a: redirect key(7)", "a", "u32"},
		{"one family", "on msg to sockhash a: redirect key(family)", "a", "u32"},
		{"arithmetic", "on msg to sockhash a: redirect key(size + 1)", "a", "u32"},
		{"ip4 and port", "on msg to sockhash a: redirect key(remote_ip4, remote_port)", "a", "(ip4, port)"},
		{"4-tuple", "on msg to sockhash a: redirect key(remote_ip4, remote_port, local_ip4, local_port)", "a", "(ip4, port, ip4, port)"},
		{"constants in a tuple are u32", "on msg to sockhash a: redirect key(remote_port, 7, size)", "a", "(port, u32, u32)"},
		{"ip4 constant in a tuple", "on msg to sockhash a: redirect key(10.0.0.1, 80)", "a", "(ip4, u32)"},
		{"family in a tuple", "on msg to sockhash a: redirect key(family, remote_port)", "a", "(u32, port)"},
		{"port arithmetic is u32", "on msg to sockhash a: redirect key(remote_port + 1, remote_port)", "a", "(u32, port)"},
		{"parenthesized port stays a port", "on msg to sockhash a: redirect key((remote_port), 1)", "a", "(port, u32)"},
		{"redirect peer", "on skb verdict to sockhash a: redirect peer", "a", "u64"},
		{"redirect peer ingress", "on stream verdict to sockhash a: redirect peer ingress", "a", "u64"},
		{"one ip6 is a tuple", "on skb verdict to sockhash a: redirect key(remote_ip6)", "a", "(ip6)"},
		{"ip6 and port", "on skb verdict to sockhash a: redirect key(remote_ip6, remote_port)", "a", "(ip6, port)"},
		{"from a sockops update", "sockhash a\non established: update a key(local_ip4, local_port, remote_ip4, remote_port)", "a", "(ip4, port, ip4, port)"},
		{"from a use above the declaration", "on msg to a: redirect key(remote_ip4, remote_port)\nsockhash a", "a", "(ip4, port)"},
		{"first use wins", "sockhash a\non established: update a key(local_ip4, local_port)\non msg to a: redirect key(remote_ip4, remote_port)", "a", "(ip4, port)"},
		{"from another handler's map", "sockhash a\non msg to sockhash b: redirect a key(remote_ip4)", "a", "u32"},
		{"unused sockhash", "sockhash a", "a", "u32"},
		{"sockmap is always u32", "on skb verdict to sockmap a: redirect key(remote_ip4)", "a", "u32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := checkClean(t, tt.src)
			m := p.Map(tt.m)
			if m == nil {
				t.Fatalf("no map %s", tt.m)
			}
			if got := m.Key.String(); got != tt.key {
				t.Errorf("key of %s = %s, want %s", tt.m, got, tt.key)
			}
			if m.KeyDeclared {
				t.Error("KeyDeclared = true for an inferred key")
			}
		})
	}
}

func TestInferenceSkipsInvalidUses(t *testing.T) {
	src := "sockhash a\n" +
		"on msg to a:\n" +
		"    redirect key(bogus, 1)\n" +
		"    redirect key(remote_ip4, remote_port)\n"
	p, diags := checkSrc(t, src)
	if got, want := messages(diags), "3:18: unknown field bogus"; got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if got := p.Map("a").Key.String(); got != "(ip4, port)" {
		t.Errorf("key = %s, want (ip4, port) from the first valid use", got)
	}
}

func TestDeclaredKeys(t *testing.T) {
	tests := []struct {
		src      string
		key      string
		declared bool
		errs     string
	}{
		{"sockhash a: key u32", "u32", true, ""},
		{"sockhash a: key u64", "u64", true, ""},
		{"sockhash a: key (ip4, port)", "(ip4, port)", true, ""},
		{"sockhash a: key (ip6)", "(ip6)", true, ""},
		{"sockhash a: key (u32, port, ip4, ip6)", "(u32, port, ip4, ip6)", true, ""},
		{"sockmap a: key u32", "u32", true, ""},
		{"sockmap a: key u64", "u32", true, "1:16: sockmap a is indexed by u32; it cannot have key u64"},
		{"sockmap a: key (ip4)", "u32", true, "1:16: sockmap a is indexed by u32; it cannot have key (ip4)"},
		{"sockhash a: key ip4", "u32", false, "1:17: key type ip4 must be u32, u64 or a tuple"},
		{"sockhash a: key foo", "u32", false, "1:17: unknown key type foo: want u32, u64 or a tuple such as (ip4, port)"},
		{"sockhash a: key (ip4, u64)", "u32", false, "1:23: unknown key component u64: want ip, ip4, ip6, port or u32"},
		{"sockhash a: key (u32, u32, u32, u32, u32, u32, u32, u32)", "(u32, u32, u32, u32, u32, u32, u32, u32)", true, ""},
		{"sockhash a: key (u32, u32, u32, u32, u32, u32, u32, u32, u32)", "u32", false, "1:17: key has 9 components; at most 8 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			m := p.Map("a")
			if got := m.Key.String(); got != tt.key {
				t.Errorf("key = %s, want %s", got, tt.key)
			}
			if m.KeyDeclared != tt.declared {
				t.Errorf("KeyDeclared = %v, want %v", m.KeyDeclared, tt.declared)
			}
		})
	}
}

func TestKeyMismatch(t *testing.T) {
	tests := []struct {
		name string
		src  string
		errs string
		hint string // of the first diagnostic
	}{
		{
			name: "too few components",
			src:  "sockhash h: key (ip4, port)\non msg to h: redirect key(remote_port)",
			errs: "2:23: key of map h has 2 components, but this key has 1",
			hint: "map h has key (ip4, port) (declared)",
		},
		{
			name: "components swapped",
			src:  "sockhash h: key (ip4, port)\non msg to h: redirect key(remote_port, remote_ip4)",
			errs: "2:27: component 1 of the key of map h is ip4; remote_port is a port\n" +
				"2:40: component 2 of the key of map h is port; remote_ip4 is an ip4 address",
			hint: "map h has key (ip4, port) (declared)",
		},
		{
			name: "ip6 in a u32 key",
			src:  "sockhash h: key u32\non skb verdict to h: redirect key(remote_ip6)",
			errs: "2:35: an ip6 address does not fit in key u32",
			hint: "map h has key u32 (declared)",
		},
		{
			name: "two components in a scalar key",
			src:  "sockhash h: key u64\non msg to h: redirect key(remote_port, local_port)",
			errs: "2:23: key of map h is one u64, but this key has 2 components",
			hint: "map h has key u64 (declared)",
		},
		{
			name: "inferred key disagrees with a later use",
			src:  "on msg to sockhash h:\n    redirect key(remote_port)\n    redirect key(remote_ip4, remote_port)",
			errs: "3:14: key of map h is one u32, but this key has 2 components",
			hint: "map h has key u32 (inferred from its use at 2:14)",
		},
		{
			name: "too many components",
			src:  "sockhash h\non established: update h key(1, 1, 1, 1, 1, 1, 1, 1, 1)",
			errs: "2:26: key has 9 components; at most 8 are allowed",
		},
		{
			name: "ip4 address for a port",
			src:  "sockhash h: key (port)\non msg to h: redirect key(remote_ip4)",
			errs: "2:27: component 1 of the key of map h is port; remote_ip4 is an ip4 address",
		},
		{
			name: "integer for an ip4",
			src:  "sockhash h: key (ip4, port)\non msg to h: redirect key(1, 2)",
			errs: "2:27: component 1 of the key of map h is ip4; 1 is an integer",
		},
		{
			name: "family for an ip6",
			src:  "sockhash h: key (ip6)\non msg to h: redirect key(family)",
			errs: "2:27: component 1 of the key of map h is ip6; family is an address family",
		},
		{
			name: "constant port out of range",
			src:  "sockhash h: key (u32, port)\non msg to h: redirect key(65536, 65536)",
			errs: "2:34: 65536 is out of range for a port (0..65535)",
		},
		{
			name: "redirect peer needs u64",
			src:  "sockhash h: key (ip4, port)\non skb verdict to h: redirect peer",
			errs: "2:22: redirect peer needs map h keyed by u64 (the socket cookie), not (ip4, port)",
			hint: "map h has key (ip4, port) (declared)",
		},
		{
			name: "redirect peer needs a sockhash",
			src:  "on skb verdict to sockmap s: redirect peer",
			errs: "1:30: redirect peer needs a sockhash keyed by socket cookie; s is a sockmap",
			hint: "declare it as: sockhash s: key u64",
		},
		{
			name: "tuple key on a sockmap",
			src:  "on msg to sockmap s: redirect key(1, 2)",
			errs: "1:31: sockmap s is indexed by one u32, but this key has 2 components",
			hint: "use a sockhash for tuple keys",
		},
		{
			name: "empty key",
			src:  "on msg to sockhash h: redirect key()",
			errs: "1:32: key() needs at least one component",
		},
		{
			name: "condition as a key",
			src:  "on msg to sockhash h: redirect key(size > 1)",
			errs: "1:36: a key component must be a value, not a condition",
		},
		{
			name: "narrow values fit a u64 key",
			src:  "sockhash h: key u64\non msg to h:\n    redirect key(remote_port)\n    redirect key(remote_ip4)",
			errs: "",
		},
		{
			name: "integers fill port and u32 components",
			src:  "sockhash h: key (port, u32)\non msg to h: redirect key(size, remote_port)",
			errs: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if tt.hint != "" && len(diags) > 0 && diags[0].Hint != tt.hint {
				t.Errorf("hint = %q, want %q", diags[0].Hint, tt.hint)
			}
		})
	}
}

func TestSockmapIndex(t *testing.T) {
	tests := []struct {
		name string
		src  string
		errs string
	}{
		{"last index", "sockmap s: max 4\non msg to s: redirect key(3)", ""},
		{"one past the end", "sockmap s: max 4\non msg to s: redirect key(4)", "2:27: index 4 out of range for sockmap s (max 4: indexes 0..3)"},
		{"folded constant", "sockmap s: max 4\non msg to s: redirect key(2 + 2)", "2:27: index 4 out of range for sockmap s (max 4: indexes 0..3)"},
		{"parenthesized constant", "sockmap s: max 4\non msg to s: redirect key((9))", "2:27: index 9 out of range for sockmap s (max 4: indexes 0..3)"},
		{"default max", "on msg to sockmap s: redirect key(65535)", "1:35: index 65535 out of range for sockmap s (max 65535: indexes 0..65534)"},
		{"default max, last index", "on msg to sockmap s: redirect key(65534)", ""},
		{"not a constant", "sockmap s: max 1\non msg to s: redirect key(remote_port)", ""},
		{"sockhash has no index range", "sockhash h: key u32, max 4\non msg to h: redirect key(4)", ""},
		{"index through another map", "sockmap s: max 2\non msg to sockhash h: redirect s key(2)", "2:38: index 2 out of range for sockmap s (max 2: indexes 0..1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
		})
	}
}

func TestMaxEntries(t *testing.T) {
	tests := []struct {
		src  string
		max  uint32
		errs string
	}{
		{"sockmap a", DefaultMax, ""},
		{"sockmap a: max 1", 1, ""},
		{"sockmap a: max 16777216", MaxEntries, ""},
		{"sockmap a: max 0", DefaultMax, "1:16: max 0 out of range: a map holds 1 to 16777216 sockets"},
		{"sockmap a: max 16777217", DefaultMax, "1:16: max 16777217 out of range: a map holds 1 to 16777216 sockets"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if got := p.Map("a").Max; got != tt.max {
				t.Errorf("Max = %d, want %d", got, tt.max)
			}
		})
	}
}

func ip4Const(s string) uint32 {
	b := netip.MustParseAddr(s).As4()
	return binary.NativeEndian.Uint32(b[:])
}

func TestConsts(t *testing.T) {
	tests := []struct {
		expr  string
		value uint32
		isC   bool
	}{
		{"7", 7, true},
		{"0x10", 16, true},
		{"1 + 2", 3, true},
		{"10 - 3", 7, true},
		{"6 & 3", 2, true},
		{"6 | 1", 7, true},
		{"6 ^ 3", 5, true},
		{"1 << 31", 1 << 31, true},
		{"256 >> 4", 16, true},
		{"(1 + 2) << 2", 12, true},
		{"((5))", 5, true},
		{"4294967295", 4294967295, true},
		{"4294967294 + 1", 4294967295, true},
		{"inet", 2, true},
		{"inet6", 10, true},
		{"10.0.0.1", ip4Const("10.0.0.1"), true},
		{"size", 0, false},
		{"size + 1", 0, false},
		{"1 + size", 0, false},
		{"size - size", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p := checkClean(t, "on msg to sockhash m: redirect key("+tt.expr+")")
			e := firstKeyArg(t, p)
			v, ok := p.Consts[e]
			if ok != tt.isC || p.IsConst(e) != tt.isC {
				t.Fatalf("constant = %v (IsConst %v), want %v", ok, p.IsConst(e), tt.isC)
			}
			if ok && v != tt.value {
				t.Errorf("value = %#x, want %#x", v, tt.value)
			}
		})
	}
}

func TestBools(t *testing.T) {
	tests := []struct {
		cond  string
		value bool
		isC   bool
	}{
		{"1 == 1", true, true},
		{"1 != 1", false, true},
		{"2 < 1", false, true},
		{"2 > 1", true, true},
		{"1 <= 1", true, true},
		{"1 >= 2", false, true},
		{"inet == inet6", false, true},
		{"10.0.0.1 == 10.0.0.1", true, true},
		{"not 1 == 1", false, true},
		{"not not 1 == 1", true, true},
		{"(1 == 1)", true, true},
		{"1 == 1 and 2 == 3", false, true},
		{"1 == 1 or 2 == 3", true, true},
		{"1 + 1 == 2", true, true},
		{"5 in 1..10", true, true},
		{"10 in 1..10", true, true},
		{"11 in 1..10", false, true},
		{"size > 1", false, false},
		{"not size > 1", false, false},
		{"size > 1 and 1 == 1", false, false},
		// Only fully constant conditions fold; and/or do not short-cut.
		{"1 == 2 and size > 1", false, false},
		{"1 == 1 or size > 1", false, false},
		{"local_port in 1..10", false, false},
		{"remote_ip4 in 10.0.0.0/8", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			p := checkClean(t, "on msg to sockhash m: if "+tt.cond+": drop")
			e := firstCond(t, p)
			v, ok := p.Bools[e]
			if ok != tt.isC {
				t.Fatalf("constant = %v, want %v", ok, tt.isC)
			}
			if ok && v != tt.value {
				t.Errorf("value = %v, want %v", v, tt.value)
			}
			if p.Types[e] != Bool {
				t.Errorf("type = %v, want condition", p.Types[e])
			}
		})
	}
}

func TestConstantErrors(t *testing.T) {
	tests := []struct {
		expr string
		err  string
	}{
		{"4294967295 + 1", "constant expression overflows 32 bits"},
		{"1 - 2", "constant expression overflows 32 bits"},
		{"65536 << 16", "constant expression overflows 32 bits"},
		{"1 << 32", "shift count 32 too large: values are 32-bit"},
		{"size >> 40", "shift count 40 too large: values are 32-bit"},
		{"4294967296", "integer 4294967296 out of range: values are 32-bit, at most 4294967295"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, diags := checkSrc(t, "on msg to sockhash m: redirect key("+tt.expr+")")
			if len(diags) != 1 || diags[0].Message != tt.err {
				t.Errorf("diagnostics:\n%s\nwant one: %s", messages(diags), tt.err)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	tests := []struct {
		hook string
		expr string
		want Type
	}{
		{"msg", "remote_port", Port},
		{"msg", "local_port", Port},
		{"msg", "size", Int},
		{"msg", "remote_ip4", IP4},
		{"msg", "local_ip4", IP4},
		{"skb verdict", "remote_ip6", IP6},
		{"skb verdict", "local_ip6", IP6},
		{"msg", "family", Family},
		{"msg", "inet", Family},
		{"msg", "inet6", Family},
		{"msg", "1", Int},
		{"msg", "1.2.3.4", IP4},
		{"msg", "size + 1", Int},
		{"msg", "remote_port + 1", Int},
		{"msg", "remote_port & 0xff", Int},
		{"msg", "(remote_port)", Port},
		{"msg", "(remote_ip4)", IP4},
		{"stream verdict", "size", Int},
		{"skb verdict", "remote_port", Port},
	}
	for _, tt := range tests {
		t.Run(tt.hook+"/"+tt.expr, func(t *testing.T) {
			p := checkClean(t, "on "+tt.hook+" to sockhash m: redirect key("+tt.expr+")")
			e := firstKeyArg(t, p)
			if got := p.Types[e]; got != tt.want {
				t.Errorf("type = %v, want %v", got, tt.want)
			}
		})
	}
	// Every subexpression gets a type.
	p := checkClean(t, "on msg to sockhash m: if not (size + 1 > remote_port and remote_ip4 in 10.0.0.0/8): drop")
	n := 0
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		n++
		if _, ok := p.Types[e]; !ok {
			t.Errorf("no type for %T at %d", e, e.Pos())
		}
		switch e := e.(type) {
		case *ast.NotExpr:
			walk(e.X)
		case *ast.ParenExpr:
			walk(e.X)
		case *ast.BinaryExpr:
			walk(e.X)
			walk(e.Y)
		case *ast.InExpr:
			walk(e.X)
		}
	}
	walk(firstCond(t, p))
	if n != 10 {
		t.Errorf("walked %d expressions, want 10", n)
	}
}

func TestFields(t *testing.T) {
	p := checkClean(t, "on msg to sockhash m: redirect key(remote_port, size, local_ip4)")
	want := []struct {
		name string
		off  int16
	}{{"remote_port", 60}, {"size", 68}, {"local_ip4", 24}}
	for i, a := range stmts(t, p, 0)[0].(*ast.RedirectStmt).Key.Args {
		n := a.(*ast.Name)
		f, ok := p.Fields[n]
		if !ok {
			t.Fatalf("no field for %s", n.Name)
		}
		if f.Name != want[i].name || f.Offset != want[i].off {
			t.Errorf("field of %s = %+v, want offset %d", n.Name, f, want[i].off)
		}
	}
	// inet is a constant, not a field.
	p = checkClean(t, "on msg to sockhash m: redirect key(inet)")
	if _, ok := p.Fields[firstKeyArg(t, p).(*ast.Name)]; ok {
		t.Error("inet recorded as a field")
	}
}

func TestFieldErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		errs string
		hint string
	}{
		{
			name: "size in sockops",
			src:  "sockhash m\non established: update m key(size)",
			errs: "2:30: field size is not available in on established (bpf_sock_ops has no such field)",
		},
		{
			name: "size in connect condition",
			src:  "sockhash m\non connect: if size > 1: update m key(local_ip4)",
			errs: "2:16: field size is not available in on connect (bpf_sock_ops has no such field)",
		},
		{
			name: "misspelt field",
			src:  "on msg to sockhash m: redirect key(remote_prot)",
			errs: "1:36: unknown field remote_prot",
			hint: "did you mean remote_port?",
		},
		{
			name: "unknown field far from any",
			src:  "on msg to sockhash m: redirect key(xyzzyxyzzy)",
			errs: "1:36: unknown field xyzzyxyzzy",
			hint: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if len(diags) > 0 && diags[0].Hint != tt.hint {
				t.Errorf("hint = %q, want %q", diags[0].Hint, tt.hint)
			}
		})
	}
	// The other fields are all readable in sockops.
	checkClean(t, "sockhash m: key (ip4, port, ip4, port, u32, ip6, ip6)\n"+
		"on established: update m key(local_ip4, local_port, remote_ip4, remote_port, family, local_ip6, remote_ip6)")
}

func TestExpressionErrors(t *testing.T) {
	tests := []struct {
		cond string
		err  string
	}{
		{"size", "condition is an integer, not a comparison"},
		{"remote_ip4", "condition is an ip4 address, not a comparison"},
		{"not size", "not needs a condition, not an integer"},
		{"size > 1 and 2", "and needs conditions on both sides; this is an integer"},
		{"remote_ip4 + 1 > 0", "operator + needs integers; this is an ip4 address"},
		{"remote_ip4 < 10.0.0.1", "ip4 addresses have no order; only == and != compare them"},
		{"family < inet", "address families have no order; only == and != compare them"},
		{"family == 2", "mismatched types: address family == integer"},
		{"remote_ip4 == remote_port", "mismatched types: ip4 address == port"},
		{"remote_ip6 == remote_ip6", "ip6 addresses can only be used in keys"},
		{"(size > 1) == (size > 2)", "cannot compare conditions with =="},
		{"remote_port == 70000", "70000 is out of range for a port (0..65535)"},
		{"70000 != local_port", "70000 is out of range for a port (0..65535)"},
		{"remote_port in 1..70000", "70000 is out of range for a port (0..65535)"},
		{"size in 10..1", "empty range 10..1: the low end is above the high end"},
		{"remote_ip4 in 1..2", "a range needs an integer or port on the left; this is an ip4 address"},
		{"size in 10.0.0.0/8", "a CIDR needs an ip4 address on the left; this is an integer"},
		{"remote_ip4 in 10.0.0.1/8", "10.0.0.1/8 has host bits set"},
		{"remote_ip4 in 10.0.0.0/33", "CIDR prefix /33 is longer than 32 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			_, diags := checkSrc(t, "on skb verdict to sockhash m: if "+tt.cond+": drop")
			if len(diags) != 1 || diags[0].Message != tt.err {
				t.Errorf("diagnostics:\n%s\nwant one: %s", messages(diags), tt.err)
			}
		})
	}
}

func TestNeed(t *testing.T) {
	tests := []struct {
		expr string
		need int
	}{
		{"size", 1},
		{"7", 1},
		{"size + 1", 1},
		{"1 + size", 1},
		{"1 - size", 2},
		{"size - 1", 1},
		{"1 << size", 2},
		{"size + local_port", 2},
		{"(size + local_port)", 2},
		{"size + local_port + remote_port", 2},
		{"(size + local_port) + (remote_port + local_port)", 3},
		{"size + (local_port + (remote_port + size))", 4},
		{"(1 + 2) + size", 1},
		{"size + (1 + 2)", 1},
		{"(size + 1) + (local_port + 1)", 2},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p := checkClean(t, "on msg to sockhash m: redirect key("+tt.expr+")")
			if got := p.Need(firstKeyArg(t, p)); got != tt.need {
				t.Errorf("Need = %d, want %d", got, tt.need)
			}
		})
	}
}

func TestNeedConditions(t *testing.T) {
	tests := []struct {
		cond string
		need int
	}{
		{"size > 1", 1},
		{"1 < size", 1},
		{"size > local_port", 2},
		{"size > 1 and local_port < 2", 1},
		{"size > local_port and 1 == 1", 2},
		{"size > 1 or local_port > size", 2},
		{"not size > local_port", 2},
		{"size + local_port in 1..10", 2},
		{"1 == 1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			p := checkClean(t, "on msg to sockhash m: if "+tt.cond+": drop")
			if got := p.Need(firstCond(t, p)); got != tt.need {
				t.Errorf("Need = %d, want %d", got, tt.need)
			}
		})
	}
}

func TestSwappable(t *testing.T) {
	for _, op := range []string{"+", "&", "|", "^", "==", "!=", "<", "<=", ">", ">="} {
		if !Swappable(token.LookupOp(op)) {
			t.Errorf("Swappable(%q) = false", op)
		}
	}
	for _, op := range []string{"-", "<<", ">>", "and", "or"} {
		if Swappable(token.LookupOp(op)) {
			t.Errorf("Swappable(%q) = true", op)
		}
	}
}

// rightDeep builds size + (size + (... + size)) with n operators.
func rightDeep(n int) string {
	return strings.Repeat("size + (", n-1) + "size + size" + strings.Repeat(")", n-1)
}

func TestRegisterLimit(t *testing.T) {
	p := checkClean(t, "on msg to sockhash m: redirect key("+rightDeep(MaxRegs-1)+")")
	if got := p.Need(firstKeyArg(t, p)); got != MaxRegs {
		t.Fatalf("Need = %d, want %d", got, MaxRegs)
	}
	_, diags := checkSrc(t, "on msg to sockhash m: redirect key("+rightDeep(MaxRegs)+")")
	want := fmt.Sprintf("1:36: expression too complex: it needs %d registers, more than the %d available", MaxRegs+1, MaxRegs)
	if got := messages(diags); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

func TestCounters(t *testing.T) {
	src := "on msg to sockhash m:\n" +
		"    count b\n" +
		"    if size > 1: count a\n" +
		"    count b\n" +
		"    pass\n" +
		"sockhash n\n" +
		"on established:\n" +
		"    count c\n" +
		"    count a\n" +
		"    update n key(local_ip4, local_port)\n"
	p := checkClean(t, src)
	var names []string
	for i, c := range p.Counters {
		names = append(names, c.Name)
		if c.Index != i {
			t.Errorf("counter %s has index %d, want %d", c.Name, c.Index, i)
		}
	}
	if got := strings.Join(names, " "); got != "b a c" {
		t.Errorf("counters = %s, want b a c (first-use order)", got)
	}
	// Each count statement maps to the counter of its name.
	var counts []*ast.CountStmt
	var walk func(ss []ast.Stmt)
	walk = func(ss []ast.Stmt) {
		for _, s := range ss {
			switch s := s.(type) {
			case *ast.CountStmt:
				counts = append(counts, s)
			case *ast.IfStmt:
				walk(s.Then.Stmts)
				if s.Else != nil {
					walk(s.Else.Stmts)
				}
			}
		}
	}
	walk(stmts(t, p, 0))
	walk(stmts(t, p, 1))
	if len(counts) != 5 {
		t.Fatalf("found %d count statements, want 5", len(counts))
	}
	byName := map[string]*Counter{}
	for _, s := range counts {
		c := p.CounterOf[s]
		if c == nil {
			t.Fatalf("count %s has no counter", s.Name.Name)
		}
		if c.Name != s.Name.Name {
			t.Errorf("count %s maps to counter %s", s.Name.Name, c.Name)
		}
		if prev, ok := byName[c.Name]; ok && prev != c {
			t.Errorf("two counters for %s", c.Name)
		}
		byName[c.Name] = c
	}
	if b := byName["b"]; b.Pos != counts[0].Name.Pos() {
		t.Errorf("counter b at %d, want its first use %d", b.Pos, counts[0].Name.Pos())
	}
}

func TestCounterLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("on msg to sockhash m:\n")
	for i := 0; i <= MaxCounters; i++ {
		fmt.Fprintf(&b, "    count c%d\n", i)
	}
	b.WriteString("    count c0\n")
	p, diags := checkSrc(t, b.String())
	want := fmt.Sprintf("%d:11: too many counters: at most %d per file", MaxCounters+2, MaxCounters)
	if got := messages(diags); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if len(p.Counters) != MaxCounters {
		t.Errorf("%d counters, want %d", len(p.Counters), MaxCounters)
	}
}

func TestFootgunWarning(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		warns string
	}{
		{"local port", "sockhash m\non established: update m key(local_port)", "2:26: warning: map m is filled by sockops under one port: a second connection on the same port replaces the first, and its bytes go to the wrong socket"},
		{"remote port in connect", "sockhash m\non connect: update m key(remote_port)", "2:22: warning: map m is filled by sockops under one port: a second connection on the same port replaces the first, and its bytes go to the wrong socket"},
		{"parenthesized port", "sockhash m\non accept: update m key((local_port))", "2:21: warning: map m is filled by sockops under one port: a second connection on the same port replaces the first, and its bytes go to the wrong socket"},
		{"declared u64 key", "sockhash m: key u64\non established: update m key(local_port)", "2:26: warning: map m is filled by sockops under one port: a second connection on the same port replaces the first, and its bytes go to the wrong socket"},
		{"port arithmetic", "sockhash m\non established: update m key(local_port + 1)", ""},
		{"port constant", "sockhash m\non established: update m key(80)", ""},
		{"one address", "sockhash m\non established: update m key(local_ip4)", ""},
		{"address and port", "sockhash m\non established: update m key(local_ip4, local_port)", ""},
		{"two ports", "sockhash m\non established: update m key(local_port, remote_port)", ""},
		{"redirect by port is not a sockops update", "on msg to sockhash m: redirect key(remote_port)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.warns {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.warns)
			}
			if diags.Err() != nil {
				t.Errorf("Err() = %v, want nil for warnings", diags.Err())
			}
			if len(diags) == 1 && !strings.Contains(diags[0].Hint, "update m key(local_ip, local_port, remote_ip, remote_port)") {
				t.Errorf("hint = %q", diags[0].Hint)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		warns string
	}{
		{"after pass", "on msg to sockhash m:\n    pass\n    count a", "3:5: warning: unreachable statement"},
		{"after drop", "on msg to sockhash m:\n    drop\n    redirect key(1)", "3:5: warning: unreachable statement"},
		{"reported once per block", "on msg to sockhash m:\n    drop\n    count a\n    pass\n    count b", "3:5: warning: unreachable statement"},
		{"after if/else that both end", "on msg to sockhash m:\n    if size > 1: drop\n    else: pass\n    count a", "4:5: warning: unreachable statement"},
		{"after if without else", "on msg to sockhash m:\n    if size > 1: drop\n    count a\n    pass", ""},
		{"after if/else where one branch goes on", "on msg to sockhash m:\n    if size > 1: drop\n    else: count x\n    pass", ""},
		{"inside a branch", "on msg to sockhash m:\n    if size > 1:\n        drop\n        count x\n    pass", "4:9: warning: unreachable statement"},
		{"after length", "on stream parser to sockhash m:\n    length\n    count a\non stream verdict to m: pass", "3:5: warning: unreachable statement"},
		{"after redirect", "on msg to sockhash m:\n    redirect key(1)\n    count a\n    pass", ""},
		{"after count", "on msg to sockhash m:\n    count a\n    pass", ""},
		{"statement after the last one", "on msg to sockhash m:\n    pass", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.warns {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.warns)
			}
		})
	}
}

// TestUnreachableStatementsAreChecked checks that statements after the
// first unreachable one are still checked and recorded. (A regression
// test: they used to be skipped, losing their errors and crashing codegen.)
func TestUnreachableStatementsAreChecked(t *testing.T) {
	src := "on msg to sockhash m:\n" +
		"    pass\n" +
		"    count a\n" +
		"    count b\n" +
		"    redirect key(bogus)\n"
	p, diags := checkSrc(t, src)
	want := "3:5: warning: unreachable statement\n5:18: unknown field bogus"
	if got := messages(diags); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	for _, s := range stmts(t, p, 0)[1:3] {
		if p.CounterOf[s.(*ast.CountStmt)] == nil {
			t.Errorf("count %s has no counter", s.(*ast.CountStmt).Name.Name)
		}
	}
}

func TestStatementRules(t *testing.T) {
	stmtsByName := []struct {
		name string
		src  string // one statement
	}{
		{"redirect", "redirect key(1)"},
		{"redirect peer", "redirect peer"},
		{"pass", "pass"},
		{"drop", "drop"},
		{"apply", "apply 1"},
		{"cork", "cork 1"},
		{"length", "length"},
		{"update", "update n key(1)"},
		{"count", "count c"},
		{"if", "if 1 == 1: count c"},
	}
	allowed := map[string][]string{
		"msg":            {"redirect", "pass", "drop", "apply", "cork", "count", "if"},
		"stream parser":  {"length", "count", "if"},
		"stream verdict": {"redirect", "redirect peer", "pass", "drop", "count", "if"},
		"skb verdict":    {"redirect", "redirect peer", "pass", "drop", "count", "if"},
		"established":    {"update", "count", "if"},
		"connect":        {"update", "count", "if"},
		"accept":         {"update", "count", "if"},
	}
	for hookName, ok := range allowed {
		for _, st := range stmtsByName {
			t.Run(hookName+"/"+st.name, func(t *testing.T) {
				header := "on " + hookName + " to sockhash m: "
				if hookName == "established" || hookName == "connect" || hookName == "accept" {
					header = "sockhash m\non " + hookName + ": "
				}
				src := "sockhash n\n" + header + st.src + "\n"
				_, diags := checkSrc(t, src)
				want := false
				for _, name := range ok {
					want = want || name == st.name
				}
				var notAllowed []string
				for _, d := range diags.Errors() {
					if strings.Contains(d.Message, "is not allowed in on "+hookName) ||
						strings.Contains(d.Message, "is not available in on msg") {
						notAllowed = append(notAllowed, d.Message)
					}
				}
				if want && len(notAllowed) > 0 {
					t.Errorf("%s refused in on %s: %v", st.name, hookName, notAllowed)
				}
				if !want && len(notAllowed) == 0 {
					t.Errorf("%s accepted in on %s: %s", st.name, hookName, messages(diags))
				}
			})
		}
	}
}

func TestStatementRuleMessages(t *testing.T) {
	tests := []struct {
		src  string
		err  string
		hint string
	}{
		{"on msg to sockhash m: length", "length is not allowed in on msg", "length is allowed in: on stream parser"},
		{"sockhash m\non established: apply 1", "apply is not allowed in on established", "apply is allowed in: on msg"},
		{"sockhash m\non accept: pass", "pass is not allowed in on accept", "pass is allowed in: on msg, on stream verdict, on skb verdict"},
		{"on msg to sockhash m: update m key(1)", "update is not allowed in on msg", "update is allowed in: on established/connect/accept"},
		{"on stream parser to sockhash m: redirect peer", "redirect peer is not allowed in on stream parser", "redirect peer is allowed in: on stream verdict, on skb verdict"},
		{"on msg to sockhash m: redirect peer", "redirect peer is not available in on msg: sk_msg programs cannot read the socket cookie", "use on stream verdict or on skb verdict, or redirect key(...)"},
		{"on msg to sockhash m: apply 0", "apply 0 does nothing: the byte count must be at least 1", ""},
		{"on msg to sockhash m: cork remote_ip4", "cork needs a byte count, not an ip4 address", ""},
		{"on stream parser to sockhash m: length family", "length needs a byte count, not an address family", ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			errs := diags.Errors()
			if len(errs) != 1 || errs[0].Message != tt.err {
				t.Fatalf("diagnostics:\n%s\nwant one error: %s", messages(diags), tt.err)
			}
			if errs[0].Hint != tt.hint {
				t.Errorf("hint = %q, want %q", errs[0].Hint, tt.hint)
			}
		})
	}
}

func TestHandlers(t *testing.T) {
	tests := []struct {
		name string
		src  string
		errs string
	}{
		{"unknown hook", "on msgs to sockhash m: pass", `1:4: unknown hook "msgs"`},
		{"needs a map", "on msg: pass", "1:4: on msg needs a map: on msg to MAP"},
		{"sockops takes no map", "on established to sockhash m: pass", "1:19: on established does not attach to a map"},
		{"unknown map", "sockhash proxy\non msg to prxy: pass", "2:11: unknown map prxy"},
		{"duplicate handler", "sockhash m\non msg to m: pass\non msg to m: drop", "3:4: second on msg handler for map m (first at 2:1)"},
		{"duplicate sockops handler", "on established: count a\non established: count b", "2:4: second on established handler (first at 1:1)"},
		{"map redeclared", "sockhash m\non msg to sockmap m: pass", "2:19: map m redeclared (first declared at 1:10)"},
		{"reserved prefix", "sockhash sockc_x", "1:10: map name sockc_x: the prefix sockc_ is reserved for maps sockc declares"},
		{"skb verdict beside stream verdict", "sockhash m\non stream verdict to m: pass\non skb verdict to m: pass", "3:4: map m already has a stream verdict handler (at 2:1); the kernel refuses skb verdict beside it"},
		{"stream parser alone", "on stream parser to sockhash m: length", "1:4: warning: the stream parser of map m never runs without a stream verdict handler"},
		{"stream parser and verdict", "sockhash m\non stream parser to m: length\non stream verdict to m: pass", ""},
		{"all sockops hooks", "sockhash m\non established: count a\non connect: count b\non accept: count c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
		})
	}
}

func TestUnknownMapHints(t *testing.T) {
	_, diags := checkSrc(t, "sockhash proxy\non msg to prxy: pass\non msg to zzzzzz: pass")
	if len(diags) != 2 {
		t.Fatalf("diagnostics:\n%s", messages(diags))
	}
	if want := "did you mean proxy?"; diags[0].Hint != want {
		t.Errorf("hint = %q, want %q", diags[0].Hint, want)
	}
	if want := "declare it: sockhash zzzzzz: key ..., or inline: to sockhash zzzzzz"; diags[1].Hint != want {
		t.Errorf("hint = %q, want %q", diags[1].Hint, want)
	}
}

func TestProgram(t *testing.T) {
	src := "sockhash b: key (ip4, port)\n" +
		"on msg to sockhash a:\n" +
		"    redirect b key(remote_ip4, remote_port)\n" +
		"    redirect key(1)\n" +
		"on established: update b key(local_ip4, local_port)\n" +
		"on skb verdict to b: pass\n"
	p := checkClean(t, src)
	var names []string
	for _, m := range p.Maps {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); got != "b a" {
		t.Errorf("maps = %s, want b a (declaration order)", got)
	}
	if p.Map("a").Kind != ast.SockHash || p.Map("nope") != nil {
		t.Error("Map lookup")
	}
	if got := len(p.Handlers); got != 3 {
		t.Fatalf("%d handlers, want 3", got)
	}
	if so := p.SockopsHandlers(); len(so) != 1 || so[0].Hook.String() != "established" || so[0].Map != nil {
		t.Errorf("SockopsHandlers = %+v", so)
	}
	if p.Handlers[0].Map != p.Map("a") || p.Handlers[2].Map != p.Map("b") {
		t.Error("handler maps")
	}
	ss := stmts(t, p, 0)
	if p.StmtMaps[ss[0]] != p.Map("b") {
		t.Error("redirect b key(...) does not refer to map b")
	}
	if p.StmtMaps[ss[1]] != p.Map("a") {
		t.Error("redirect key(...) does not refer to the handler's map")
	}
	if p.StmtMaps[stmts(t, p, 1)[0]] != p.Map("b") {
		t.Error("update b key(...) does not refer to map b")
	}
	if p.File == nil || len(p.File.Decls) != 4 {
		t.Error("Program.File")
	}
}

// TestBrokenItemMap checks that a map declared by an item with a syntax
// error is known by name and its uses are not checked.
func TestBrokenItemMap(t *testing.T) {
	src := "sockhash broken: key (ip4 port)\non msg to broken: redirect key(1, 2, 3)\n"
	f := token.NewFile("c.sock", []byte(src))
	errs := diag.NewCollector(f)
	p := Check(parser.ParseFile(f, errs), errs)
	if got, want := messages(errs.List()), `1:27: expected ")", found name "port"`; got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if p.Map("broken") == nil {
		t.Error("map broken unknown")
	}
}

func TestTypeNames(t *testing.T) {
	tests := []struct {
		t            Type
		s, a, plural string
		numeric      bool
	}{
		{Invalid, "invalid", "an invalid", "invalids", false},
		{Bool, "condition", "a condition", "conditions", false},
		{Int, "integer", "an integer", "integers", true},
		{Port, "port", "a port", "ports", true},
		{IP4, "ip4 address", "an ip4 address", "ip4 addresses", false},
		{IP6, "ip6 address", "an ip6 address", "ip6 addresses", false},
		{Family, "address family", "an address family", "address families", false},
	}
	for _, tt := range tests {
		if tt.t.String() != tt.s || tt.t.A() != tt.a || tt.t.Plural() != tt.plural || tt.t.Numeric() != tt.numeric {
			t.Errorf("%d: %q %q %q %v", tt.t, tt.t.String(), tt.t.A(), tt.t.Plural(), tt.t.Numeric())
		}
	}
}
