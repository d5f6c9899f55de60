package parser

import (
	"strings"
	"testing"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/token"
)

// body wraps statement lines in a msg handler block.
func body(lines ...string) string {
	return "on msg to m:\n    " + strings.Join(lines, "\n    ") + "\n"
}

// handlerBody parses src, which must hold one handler, and returns its body.
func handlerBody(t *testing.T, src string) *ast.Block {
	t.Helper()
	f := parseClean(t, src)
	if len(f.Decls) != 1 {
		t.Fatalf("%d declarations, want 1", len(f.Decls))
	}
	h, ok := f.Decls[0].(*ast.Handler)
	if !ok {
		t.Fatalf("declaration is %T, want *ast.Handler", f.Decls[0])
	}
	return h.Body
}

func TestStatements(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"redirect key", []string{"redirect key(remote_port)"}, "{redirect key(remote_port)}"},
		{"redirect tuple key", []string{"redirect key(remote_ip4, remote_port, 10.0.0.1, 80)"}, "{redirect key(remote_ip4, remote_port, 10.0.0.1, 80)}"},
		{"redirect map key", []string{"redirect other key(1)"}, "{redirect other key(1)}"},
		{"redirect key ingress", []string{"redirect key(1) ingress"}, "{redirect key(1) ingress}"},
		{"redirect map key ingress", []string{"redirect other key(local_port + 1) ingress"}, "{redirect other key((local_port + 1)) ingress}"},
		{"redirect empty key", []string{"redirect key()"}, "{redirect key()}"},
		{"redirect peer", []string{"redirect peer"}, "{redirect peer}"},
		{"redirect peer ingress", []string{"redirect peer ingress"}, "{redirect peer ingress}"},
		{"pass", []string{"pass"}, "{pass}"},
		{"drop", []string{"drop"}, "{drop}"},
		{"apply", []string{"apply 100"}, "{apply 100}"},
		{"apply expression", []string{"apply size - 4"}, "{apply (size - 4)}"},
		{"cork", []string{"cork 0x10"}, "{cork 0x10}"},
		{"length", []string{"length"}, "{length}"},
		{"length with expression", []string{"length size & 0xff"}, "{length (size & 0xff)}"},
		{"update", []string{"update socks key(local_ip4, local_port)"}, "{update socks key(local_ip4, local_port)}"},
		{"count", []string{"count hits"}, "{count hits}"},
		{"several statements", []string{"count a", "count b", "pass"}, "{count a; count b; pass}"},
		{"if with inline then", []string{"if size > 1: drop"}, "{if (size > 1) {: drop}}"},
		{
			"if with block then",
			[]string{"if size > 1:", "    count big", "    drop"},
			"{if (size > 1) {count big; drop}}",
		},
		{
			"if else inline",
			[]string{"if size > 1: drop", "else: pass"},
			"{if (size > 1) {: drop} else {: pass}}",
		},
		{
			"if else blocks",
			[]string{"if size > 1:", "    drop", "else:", "    count small", "    pass"},
			"{if (size > 1) {drop} else {count small; pass}}",
		},
		{
			"if block, else inline",
			[]string{"if a == 1:", "    drop", "else: pass"},
			"{if (a == 1) {drop} else {: pass}}",
		},
		{
			"nested if",
			[]string{"if a == 1:", "    if b == 2:", "        drop", "    else: pass", "count c"},
			"{if (a == 1) {if (b == 2) {drop} else {: pass}}; count c}",
		},
		{
			"two ifs, the second with else",
			[]string{"if a == 1: drop", "if b == 2: drop", "else: pass"},
			"{if (a == 1) {: drop}; if (b == 2) {: drop} else {: pass}}",
		},
		{
			"inline if with a redirect",
			[]string{"if remote_ip4 in 10.0.0.0/8: redirect key(1) ingress"},
			"{if (remote_ip4 in 10.0.0.0/8) {: redirect key(1) ingress}}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := handlerBody(t, body(tt.lines...))
			if b.Inline {
				t.Error("indented body marked Inline")
			}
			if got := blockString(b); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestStatementFields(t *testing.T) {
	b := handlerBody(t, body(
		"redirect peer ingress",
		"redirect key(1)",
		"redirect other key(2) ingress",
	))
	peer := b.Stmts[0].(*ast.RedirectStmt)
	if !peer.Peer || peer.Key != nil || peer.Map != nil || !peer.Ingress || !peer.PeerPos.IsValid() {
		t.Errorf("redirect peer ingress = %+v", peer)
	}
	plain := b.Stmts[1].(*ast.RedirectStmt)
	if plain.Peer || plain.Map != nil || plain.Ingress || plain.Key == nil || plain.PeerPos.IsValid() {
		t.Errorf("redirect key(1) = %+v", plain)
	}
	other := b.Stmts[2].(*ast.RedirectStmt)
	if other.Peer || other.Map == nil || other.Map.Name != "other" || !other.Ingress {
		t.Errorf("redirect other key(2) ingress = %+v", other)
	}
}

func TestInlineBodies(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"on msg to m: pass\n", "on msg to m {: pass}"},
		{"on msg to m: redirect key(remote_port)", "on msg to m {: redirect key(remote_port)}"},
		{"on stream verdict to m: redirect peer ingress\n", "on stream verdict to m {: redirect peer ingress}"},
		{"on msg to m: if size > 10: drop\n", "on msg to m {: if (size > 10) {: drop}}"},
		{"on established: update m key(local_port)\n", "on established {: update m key(local_port)}"},
		{"on stream parser to m: length\n", "on stream parser to m {: length}"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			f := parseClean(t, tt.src)
			if got := fileString(f); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			h := f.Decls[0].(*ast.Handler)
			if !h.Body.Inline {
				t.Error("inline body not marked Inline")
			}
		})
	}
}

func TestHandlerHeaders(t *testing.T) {
	tests := []struct {
		src      string
		hook     []string
		hookSpan string // the source text of HookSpan
		mapKind  ast.MapKind
		mapName  string // "" for no map
		kindText string // the source at KindPos, "" if none
	}{
		{"on msg to m: pass", []string{"msg"}, "msg", ast.NoMapKind, "m", ""},
		{"on msg to sockhash proxy: pass", []string{"msg"}, "msg", ast.SockHash, "proxy", "sockhash"},
		{"on stream  verdict to sockmap socks: pass", []string{"stream", "verdict"}, "stream  verdict", ast.SockMap, "socks", "sockmap"},
		{"on skb verdict to x: pass", []string{"skb", "verdict"}, "skb verdict", ast.NoMapKind, "x", ""},
		{"on established: pass", []string{"established"}, "established", ast.NoMapKind, "", ""},
		// The parser takes any words; the checker knows the hooks.
		{"on what ever next: pass", []string{"what", "ever", "next"}, "what ever next", ast.NoMapKind, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			f := parseClean(t, tt.src)
			h := f.Decls[0].(*ast.Handler)
			var words []string
			for _, w := range h.Hook {
				words = append(words, w.Name)
				if got := tt.src[w.Pos().Offset():w.End().Offset()]; got != w.Name {
					t.Errorf("hook word %s spans %q", w.Name, got)
				}
			}
			if strings.Join(words, " ") != strings.Join(tt.hook, " ") {
				t.Errorf("hook = %q, want %q", words, tt.hook)
			}
			if got := tt.src[h.HookSpan.Pos().Offset():h.HookSpan.End().Offset()]; got != tt.hookSpan {
				t.Errorf("HookSpan covers %q, want %q", got, tt.hookSpan)
			}
			if h.Pos() != token.PosOf(0) || h.End() != token.PosOf(len(tt.src)) {
				t.Errorf("handler span = [%d, %d), want [1, %d)", h.Pos(), h.End(), len(tt.src)+1)
			}
			if tt.mapName == "" {
				if h.Map != nil {
					t.Errorf("Map = %+v, want nil", h.Map)
				}
				return
			}
			if h.Map == nil {
				t.Fatal("Map = nil")
			}
			if h.Map.Name.Name != tt.mapName || h.Map.Kind != tt.mapKind {
				t.Errorf("Map = %v %s, want %v %s", h.Map.Kind, h.Map.Name.Name, tt.mapKind, tt.mapName)
			}
			if tt.kindText == "" {
				if h.Map.KindPos.IsValid() {
					t.Errorf("KindPos = %d, want NoPos", h.Map.KindPos)
				}
			} else if !strings.HasPrefix(tt.src[h.Map.KindPos.Offset():], tt.kindText) {
				t.Errorf("KindPos points at %q, want %q", tt.src[h.Map.KindPos.Offset():], tt.kindText)
			}
			wantRef := tt.mapName
			if tt.kindText != "" {
				wantRef = tt.kindText + " " + tt.mapName
			}
			if got := tt.src[h.Map.Pos().Offset():h.Map.End().Offset()]; got != wantRef {
				t.Errorf("MapRef covers %q, want %q", got, wantRef)
			}
		})
	}
}

func TestMapDecls(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"sockmap m", "sockmap m"},
		{"sockhash m: key u32", "sockhash m key u32"},
		{"sockhash m: key u64, max 10", "sockhash m key u64 max 10"},
		{"sockhash m: max 10, key (ip4)", "sockhash m key (ip4) max 10"},
		{"sockhash m: key (ip4, port, ip4, port), max 65536", "sockhash m key (ip4, port, ip4, port) max 65536"},
		{"sockmap m: max 0x100", "sockmap m max 0x100"},
		// Unknown type names parse; the checker rejects them.
		{"sockhash m: key (foo, bar)", "sockhash m key (foo, bar)"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			f := parseClean(t, tt.src+"\n")
			if got := fileString(f); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			d := f.Decls[0].(*ast.MapDecl)
			if d.KindPos != token.PosOf(0) {
				t.Errorf("KindPos = %d, want 1", d.KindPos)
			}
			if d.Pos() != token.PosOf(0) || d.End() != token.PosOf(len(tt.src)) {
				t.Errorf("span = [%d, %d), want [1, %d)", d.Pos(), d.End(), len(tt.src)+1)
			}
		})
	}
}

func TestMapDeclValues(t *testing.T) {
	f := parseClean(t, "sockhash m: key (ip4, port), max 0x10\nsockmap n: key u32\n")
	m := f.Decls[0].(*ast.MapDecl)
	if m.Kind != ast.SockHash || m.Max == nil || !m.Max.Valid || m.Max.Value != 16 {
		t.Errorf("m = kind %v max %+v", m.Kind, m.Max)
	}
	if m.Key.Scalar != nil || len(m.Key.Components) != 2 {
		t.Errorf("m key = %+v", m.Key)
	}
	n := f.Decls[1].(*ast.MapDecl)
	if n.Kind != ast.SockMap || n.Max != nil || n.Key.Scalar == nil || n.Key.Scalar.Name != "u32" || n.Key.Components != nil {
		t.Errorf("n = kind %v max %v key %+v", n.Kind, n.Max, n.Key)
	}
}

func TestMapOptionGivenTwice(t *testing.T) {
	tests := []struct {
		src  string
		errs string
		want string
	}{
		{"sockhash m: key u32, key u64\n", "1:22: key type of map m given twice", "sockhash m key u32"},
		{"sockhash m: max 1, key u32, max 2\n", "1:29: max of map m given twice", "sockhash m key u32 max 1"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			f, diags := parse(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if got := fileString(f); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"a", "a"},
		{"a + b + c", "((a + b) + c)"},
		{"a - b - c", "((a - b) - c)"},
		{"a - b + c", "((a - b) + c)"},
		{"a << 1 << 2", "((a << 1) << 2)"},
		{"a >> 1 & 3", "((a >> 1) & 3)"},
		{"a + b & c", "(a + (b & c))"},
		{"a & b + c", "((a & b) + c)"},
		{"a | b ^ c", "((a | b) ^ c)"},
		{"a | b & c", "(a | (b & c))"},
		{"a << 2 + 1", "((a << 2) + 1)"},
		{"a + b == c - d", "((a + b) == (c - d))"},
		{"a == 1 and b == 2", "((a == 1) and (b == 2))"},
		{"a == 1 or b == 2 and c == 3", "((a == 1) or ((b == 2) and (c == 3)))"},
		{"a == 1 and b == 2 or c == 3", "(((a == 1) and (b == 2)) or (c == 3))"},
		{"a or b or c", "((a or b) or c)"},
		{"a and b and c", "((a and b) and c)"},
		{"not a == 1", "(not (a == 1))"},
		{"not not a", "(not (not a))"},
		{"not a and b", "((not a) and b)"},
		{"not a or not b", "((not a) or (not b))"},
		{"(a + b) & c", "(paren((a + b)) & c)"},
		{"a + (b + c)", "(a + paren((b + c)))"},
		{"(a or b) and c", "(paren((a or b)) and c)"},
		{"((a))", "paren(paren(a))"},
		{"a + 1 in 1..10", "((a + 1) in 1..10)"},
		{"remote_ip4 in 10.0.0.0/8 and size > 0", "((remote_ip4 in 10.0.0.0/8) and (size > 0))"},
		{"not remote_ip4 in 10.0.0.0/8", "(not (remote_ip4 in 10.0.0.0/8))"},
		{"x != 0x1f", "(x != 0x1f)"},
		{"x <= 1", "(x <= 1)"},
		{"x >= 1", "(x >= 1)"},
		{"x < 1", "(x < 1)"},
		{"x > 1", "(x > 1)"},
		{"remote_ip4 == 10.1.2.3", "(remote_ip4 == 10.1.2.3)"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			b := handlerBody(t, body("if "+tt.expr+": drop"))
			cond := b.Stmts[0].(*ast.IfStmt).Cond
			if got := exprString(cond); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestOperators checks that every operator parses to its token.Op, at
// the position of its first byte.
func TestOperators(t *testing.T) {
	for _, s := range []string{"or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "|", "^", "<<", ">>", "&"} {
		op := token.LookupOp(s)
		if op == token.NoOp {
			t.Fatalf("LookupOp(%q) = NoOp", s)
		}
		cond := "size " + s + "  1"
		switch {
		case op.IsLogical():
			cond = "size > 1 " + s + "  size > 2"
		case op.IsArithmetic():
			cond = "size " + s + "  1 > 0"
		}
		b := handlerBody(t, body("if "+cond+": drop"))
		e := ast.Unparen(b.Stmts[0].(*ast.IfStmt).Cond).(*ast.BinaryExpr)
		if op.IsArithmetic() {
			e = e.X.(*ast.BinaryExpr)
		}
		if e.Op != op {
			t.Errorf("%s: Op = %v", cond, e.Op)
		}
		src := "    if " + cond
		if at := strings.Index(src, " "+s+" ") + 1; e.OpPos.Offset()-len("on msg to m:\n") != at {
			t.Errorf("%s: OpPos at offset %d of its line, want %d", cond, e.OpPos.Offset()-len("on msg to m:\n"), at)
		}
	}
}

// TestElsePos checks that an if records the position of its own else,
// not that of an if nested in its body, and NoPos when it has none.
func TestElsePos(t *testing.T) {
	src := "on msg to m:\n" +
		"    if size > 1:\n" +
		"        if size > 2: drop\n" +
		"        else: pass\n" +
		"    else:\n" +
		"        if size > 3:\n" +
		"            drop\n" +
		"        ELSE:\n" +
		"            pass\n" +
		"    if size > 4: count x\n"
	file, diags := parse(t, src)
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "keywords are lower case: else") {
		t.Fatalf("diagnostics:\n%s\nwant the one on ELSE, which is parsed as else", messages(diags))
	}
	f := token.NewFile("p.sock", []byte(src))
	b := file.Decls[0].(*ast.Handler).Body
	outer := b.Stmts[0].(*ast.IfStmt)
	inThen := outer.Then.Stmts[0].(*ast.IfStmt)
	inElse := outer.Else.Stmts[0].(*ast.IfStmt)
	last := b.Stmts[1].(*ast.IfStmt)
	at := func(n int, word string) token.Pos {
		i := -1
		for range n {
			i += 1 + strings.Index(src[i+1:], word)
		}
		return token.PosOf(i)
	}
	for _, tt := range []struct {
		name string
		s    *ast.IfStmt
		want token.Pos
	}{
		{"outer", outer, at(2, "else")},
		{"nested in then", inThen, at(1, "else")},
		{"nested in else, miscased", inElse, at(1, "ELSE")},
		{"no else", last, token.NoPos},
	} {
		if tt.s.ElsePos != tt.want {
			t.Errorf("%s: ElsePos = %v, want %v", tt.name, f.Position(tt.s.ElsePos), f.Position(tt.want))
		}
	}
}

// TestSpans checks the extent of nodes against the source text they cover.
func TestSpans(t *testing.T) {
	src := "sockhash m: key (ip4, port), max 8\n" +
		"on msg to m:\n" +
		"    if (size + 1) & 3 != 0 and not remote_ip4 in 10.0.0.0/8:\n" +
		"        redirect key(remote_ip4, local_port) ingress\n" +
		"    else: count  misses\n" +
		"    apply size>>2\n"
	f := parseClean(t, src)
	text := func(n ast.Node) string {
		t.Helper()
		if !n.Pos().IsValid() || !n.End().IsValid() || n.End() < n.Pos() {
			t.Fatalf("bad span [%d, %d) for %T", n.Pos(), n.End(), n)
		}
		return src[n.Pos().Offset():n.End().Offset()]
	}
	d := f.Decls[0].(*ast.MapDecl)
	h := f.Decls[1].(*ast.Handler)
	ifs := h.Body.Stmts[0].(*ast.IfStmt)
	and := ifs.Cond.(*ast.BinaryExpr)
	ne := and.X.(*ast.BinaryExpr)
	amp := ne.X.(*ast.BinaryExpr)
	paren := amp.X.(*ast.ParenExpr)
	not := and.Y.(*ast.NotExpr)
	in := not.X.(*ast.InExpr)
	redirect := ifs.Then.Stmts[0].(*ast.RedirectStmt)
	count := ifs.Else.Stmts[0].(*ast.CountStmt)
	apply := h.Body.Stmts[1].(*ast.ApplyStmt)
	shift := apply.Bytes.(*ast.BinaryExpr)

	tests := []struct {
		name string
		n    ast.Node
		want string
	}{
		{"map decl", d, "sockhash m: key (ip4, port), max 8"},
		{"map name", d.Name, "m"},
		{"key type", d.Key, "(ip4, port)"},
		{"key component", d.Key.Components[1], "port"},
		{"max", d.Max, "8"},
		{"handler", h, src[strings.Index(src, "on msg") : strings.LastIndex(src, ">>2")+3]},
		{"handler map", h.Map, "m"},
		{"body", h.Body, src[strings.Index(src, "if (") : strings.LastIndex(src, ">>2")+3]},
		{"if", ifs, src[strings.Index(src, "if (") : strings.Index(src, "misses")+6]},
		{"condition", and, "(size + 1) & 3 != 0 and not remote_ip4 in 10.0.0.0/8"},
		{"comparison", ne, "(size + 1) & 3 != 0"},
		{"&", amp, "(size + 1) & 3"},
		{"paren", paren, "(size + 1)"},
		{"inside paren", paren.X, "size + 1"},
		{"not", not, "not remote_ip4 in 10.0.0.0/8"},
		{"in", in, "remote_ip4 in 10.0.0.0/8"},
		{"cidr", in.CIDR, "10.0.0.0/8"},
		{"cidr address", in.CIDR.Addr, "10.0.0.0"},
		{"cidr bits", in.CIDR.Bits, "8"},
		{"then block", ifs.Then, "redirect key(remote_ip4, local_port) ingress"},
		{"redirect", redirect, "redirect key(remote_ip4, local_port) ingress"},
		{"key", redirect.Key, "key(remote_ip4, local_port)"},
		{"key argument", redirect.Key.Args[1], "local_port"},
		{"else block", ifs.Else, "count  misses"},
		{"count", count, "count  misses"},
		{"counter name", count.Name, "misses"},
		{"apply", apply, "apply size>>2"},
		{"shift", shift, "size>>2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text(tt.n); got != tt.want {
				t.Errorf("covers %q, want %q", got, tt.want)
			}
		})
	}

	ops := []struct {
		name string
		pos  token.Pos
		want string
	}{
		{"and", and.OpPos, "and not"},
		{"!=", ne.OpPos, "!= 0"},
		{"&", amp.OpPos, "& 3"},
		{">>", shift.OpPos, ">>2"},
		{"in", in.InPos, "in 10"},
		{"peer-less redirect", redirect.Pos(), "redirect key"},
	}
	for _, op := range ops {
		if !strings.HasPrefix(src[op.pos.Offset():], op.want) {
			t.Errorf("%s position points at %q, want %q", op.name, src[op.pos.Offset():min(op.pos.Offset()+10, len(src))], op.want)
		}
	}
}

func TestRangeSpans(t *testing.T) {
	src := "on msg to m: if local_port in 1000..2000: drop"
	f := parseClean(t, src)
	in := f.Decls[0].(*ast.Handler).Body.Stmts[0].(*ast.IfStmt).Cond.(*ast.InExpr)
	if in.Range == nil || in.CIDR != nil {
		t.Fatalf("in = %+v, want a range", in)
	}
	for _, c := range []struct {
		n    ast.Node
		want string
	}{
		{in, "local_port in 1000..2000"},
		{in.Range, "1000..2000"},
		{in.Range.Lo, "1000"},
		{in.Range.Hi, "2000"},
	} {
		if got := src[c.n.Pos().Offset():c.n.End().Offset()]; got != c.want {
			t.Errorf("%T covers %q, want %q", c.n, got, c.want)
		}
	}
	lo := in.Range.Lo.(*ast.IntLit)
	if !lo.Valid || lo.Value != 1000 {
		t.Errorf("Lo = %+v", lo)
	}
}

func TestComments(t *testing.T) {
	src := "# head\r\nsockhash m # after\n"
	f := parseClean(t, src)
	if len(f.Comments) != 2 {
		t.Fatalf("%d comments, want 2", len(f.Comments))
	}
	for i, want := range []string{"# head", "# after"} {
		c := f.Comments[i]
		if c.Text != want {
			t.Errorf("comment %d = %q, want %q", i, c.Text, want)
		}
		if got := src[c.Pos().Offset():c.End().Offset()]; got != want {
			t.Errorf("comment %d covers %q", i, got)
		}
	}
	if f.Name != "p.sock" {
		t.Errorf("Name = %q", f.Name)
	}
}

func TestIntLiterals(t *testing.T) {
	tests := []struct {
		raw   string
		value uint64
	}{
		{"0", 0},
		{"7", 7},
		{"65535", 65535},
		{"0x0", 0},
		{"0x10", 16},
		{"0XfF", 255},
		{"0xffffffff", 0xffffffff},
		{"4294967296", 1 << 32}, // the checker, not the parser, limits values to 32 bits
		{"18446744073709551615", 1<<64 - 1},
		{"0xffffffffffffffff", 1<<64 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			b := handlerBody(t, body("apply "+tt.raw))
			lit, ok := b.Stmts[0].(*ast.ApplyStmt).Bytes.(*ast.IntLit)
			if !ok {
				t.Fatalf("apply %s: not an IntLit", tt.raw)
			}
			if !lit.Valid || lit.Value != tt.value || lit.Raw != tt.raw {
				t.Errorf("literal = %+v, want value %d", lit, tt.value)
			}
		})
	}
}

func TestIPv4Literals(t *testing.T) {
	for _, raw := range []string{"0.0.0.0", "10.0.0.1", "255.255.255.255", "192.168.100.7"} {
		b := handlerBody(t, body("if remote_ip4 == "+raw+": drop"))
		lit := b.Stmts[0].(*ast.IfStmt).Cond.(*ast.BinaryExpr).Y.(*ast.IPv4Lit)
		if !lit.Valid || !lit.Addr.Is4() || lit.Addr.String() != raw || lit.Raw != raw {
			t.Errorf("%s: literal = %+v", raw, lit)
		}
	}
}

func TestLiteralErrors(t *testing.T) {
	tests := []struct {
		name string
		expr string // placed at column 15 of line 2: "    if size == EXPR: drop"
		err  string
		hint string
		span int // length of the ~ span in bytes
	}{
		{"leading zero", "010", "invalid integer literal 010: leading zero", "write 10 for decimal, or 0x... for hex", 3},
		{"leading zeros", "0007", "invalid integer literal 0007: leading zero", "write 7 for decimal, or 0x... for hex", 4},
		{"hex without digits", "0x", "invalid integer literal 0x", "", 2},
		{"upper hex without digits", "0X", "invalid integer literal 0X", "", 2},
		{"bad hex digit", "0x1g", "invalid integer literal 0x1g", "", 4},
		{"hex with underscore", "0x1_0", "invalid integer literal 0x1_0", "", 5},
		{"decimal with underscore", "1_000", "invalid integer literal 1_000", "", 5},
		{"letters after digits", "12ab", "invalid integer literal 12ab", "", 4},
		{"binary prefix", "0b1", "invalid integer literal 0b1", "", 3},
		{"too large", "18446744073709551616", "integer literal 18446744073709551616 is too large", "", 20},
		{"hex too large", "0x10000000000000000", "integer literal 0x10000000000000000 is too large", "", 19},
		{"octet over 255", "1.2.3.256", "invalid IPv4 address 1.2.3.256: 256 is larger than 255", "", 9},
		{"huge octet", "99999999999999999999.1.1.1", "invalid IPv4 address 99999999999999999999.1.1.1: 99999999999999999999 is larger than 255", "", 26},
		{"leading zero in octet", "10.0.01.1", "invalid IPv4 address 10.0.01.1: leading zero in \"01\"", "", 9},
		{"three octets", "10.0.0", "invalid IPv4 address 10.0.0: want four dotted numbers", "", 6},
		{"five octets", "1.2.3.4.5", "invalid IPv4 address 1.2.3.4.5: want four dotted numbers", "", 9},
		{"hex octet", "1.2.0x3.4", "invalid IPv4 address 1.2.0x3.4: \"0x3\" is not a decimal number", "", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := parse(t, body("if size == "+tt.expr+": drop"))
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1:\n%s", len(diags), messages(diags))
			}
			d := diags[0]
			if d.Message != tt.err {
				t.Errorf("message = %q, want %q", d.Message, tt.err)
			}
			if d.Hint != tt.hint {
				t.Errorf("hint = %q, want %q", d.Hint, tt.hint)
			}
			if d.Pos.Line != 2 || d.Pos.Column != 16 {
				t.Errorf("at %d:%d, want 2:16", d.Pos.Line, d.Pos.Column)
			}
			if d.End.Line != 2 || d.End.Column != 16+tt.span {
				t.Errorf("ends at %d:%d, want 2:%d", d.End.Line, d.End.Column, 16+tt.span)
			}
			// The statement still parses; the literal is marked invalid.
			if len(f.Decls) != 1 {
				t.Fatalf("%d declarations, want 1", len(f.Decls))
			}
			h, ok := f.Decls[0].(*ast.Handler)
			if !ok {
				t.Fatalf("declaration is %T, want *ast.Handler", f.Decls[0])
			}
			switch lit := h.Body.Stmts[0].(*ast.IfStmt).Cond.(*ast.BinaryExpr).Y.(type) {
			case *ast.IntLit:
				if lit.Valid {
					t.Errorf("IntLit %s marked valid", lit.Raw)
				}
			case *ast.IPv4Lit:
				if lit.Valid {
					t.Errorf("IPv4Lit %s marked valid", lit.Raw)
				}
			default:
				t.Errorf("literal is %T", lit)
			}
		})
	}
}

func TestLiteralErrorsInMapDecl(t *testing.T) {
	_, diags := parse(t, "sockmap m: max 08\n")
	if got, want := messages(diags), "1:16: invalid integer literal 08: leading zero"; got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

// TestAllZeroLiteralHint is a regression test: the hint for "00" used to
// be "write  for decimal".
func TestAllZeroLiteralHint(t *testing.T) {
	_, diags := parse(t, body("if size == 00: drop"))
	if len(diags) != 1 {
		t.Fatalf("got %d diagnostics:\n%s", len(diags), messages(diags))
	}
	if want := "write 0 for decimal, or 0x... for hex"; diags[0].Hint != want {
		t.Errorf("hint = %q, want %q", diags[0].Hint, want)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		errs string
		hint string // hint of the first diagnostic
	}{
		{
			name: "= for ==",
			src:  "on msg to m:\n    if size = 1: drop\n",
			errs: `2:13: expected ":", found "="`,
			hint: "use == to compare",
		},
		{
			name: "! alone",
			src:  "on msg to m: if a ! b: drop\n",
			errs: `1:19: expected ":", found "!"`,
			hint: "use not, or != to compare",
		},
		{
			name: "missing colon after condition",
			src:  "on msg to m:\n    if size > 1 drop\n",
			errs: `2:17: expected ":", found keyword "drop"`,
		},
		{
			name: "missing colon after header",
			src:  "on established\n",
			errs: `1:15: expected ":", found end of line`,
		},
		{
			name: "missing expression",
			src:  "on msg to m:\n    apply\n",
			errs: `2:10: expected an expression, found end of line`,
		},
		{
			name: "trailing comma in key",
			src:  "on msg to m: redirect key(1,)\n",
			errs: `1:29: expected an expression, found ")"`,
		},
		{
			name: "missing comma in key",
			src:  "on msg to m: redirect key(1 2)\n",
			errs: `1:29: expected ")", found number 2`,
		},
		{
			name: "redirect without key",
			src:  "on msg to m: redirect m\n",
			errs: `1:24: expected key(...), found end of line`,
		},
		{
			name: "key after peer",
			src:  "on msg to m: redirect peer key(1)\n",
			errs: `1:28: expected end of line, found keyword "key"`,
		},
		{
			name: "comparisons do not chain",
			src:  "on msg to m: if a == b == c: drop\n",
			errs: `1:24: expected ":", found "=="`,
		},
		{
			name: "keyword as name",
			src:  "on to m: drop\n",
			errs: `1:4: expected a name, found keyword "to"`,
		},
		{
			name: "count needs a name",
			src:  "on msg to m: count 5\n",
			errs: `1:20: expected a name, found number 5`,
		},
		{
			name: "tuple without comma",
			src:  "sockhash m: key (ip4 port)\n",
			errs: `1:22: expected ")", found name "port"`,
		},
		{
			name: "colon without options",
			src:  "sockmap m:\n",
			errs: `1:11: expected key or max, found end of line`,
		},
		{
			name: "unknown option",
			src:  "sockhash m: foo\n",
			errs: `1:13: expected key or max, found name "foo"`,
		},
		{
			name: "max without number",
			src:  "sockmap a: max\n",
			errs: `1:15: expected a number, found end of line`,
		},
		{
			name: "range without high end",
			src:  "on msg to m: if x in 1..: drop\n",
			errs: `1:25: expected a number, found ":"`,
		},
		{
			name: "CIDR without bits",
			src:  "on msg to m: if x in 10.0.0.0: drop\n",
			errs: `1:30: expected "/", found ":"`,
		},
		{
			name: "in without set",
			src:  "on msg to m: if x in 5: drop\n",
			errs: `1:23: expected "..", found ":"`,
		},
		{
			name: "stray line",
			src:  "x\n",
			errs: `1:1: unexpected name "x"`,
		},
		{
			name: "else at top level",
			src:  "on msg to m: if a == 1: drop\nelse: pass\n",
			errs: `2:1: unexpected keyword "else"`,
			hint: "else goes at the indentation of its if, on the line after the if's body",
		},
		{
			name: "indented line after inline body",
			src:  "on msg to m: pass\n    drop\n",
			errs: `2:5: unexpected indentation`,
			hint: "only the lines after a header ending in ':' are indented",
		},
		{
			name: "empty block before the next item",
			src:  "on msg to m:\nsockhash n\n",
			errs: `1:13: expected an indented block after ':', found the next unindented line`,
			hint: "or write one statement after the ':' on the same line",
		},
		{
			name: "empty block at end of file",
			src:  "on msg to m:",
			errs: `1:12: expected an indented block after ':', found end of file`,
			hint: "or write one statement after the ':' on the same line",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := parse(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if len(diags) > 0 && diags[0].Hint != tt.hint {
				t.Errorf("hint = %q, want %q", diags[0].Hint, tt.hint)
			}
		})
	}
}

// TestErrorSpanIsTheToken checks that a syntax error underlines exactly
// the offending token.
func TestErrorSpanIsTheToken(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		endCol    int // 0: no span
	}{
		{"on msg to m: if size > 1 pass\n", 1, 26, 30},
		{"on msg to m: redirect key(remote_port ingress)\n", 1, 39, 46},
		{"sockhash m: key (ip4 port)\n", 1, 22, 26},
		{"on msg to m: apply\n", 1, 19, 0}, // end of line: no span
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, diags := parse(t, tt.src)
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics:\n%s", len(diags), messages(diags))
			}
			d := diags[0]
			if d.Pos.Line != tt.line || d.Pos.Column != tt.col {
				t.Errorf("at %d:%d, want %d:%d", d.Pos.Line, d.Pos.Column, tt.line, tt.col)
			}
			if tt.endCol == 0 {
				if d.End.IsValid() {
					t.Errorf("span ends at %d:%d, want no span", d.End.Line, d.End.Column)
				}
			} else if d.End.Line != tt.line || d.End.Column != tt.endCol {
				t.Errorf("span ends at %d:%d, want %d:%d", d.End.Line, d.End.Column, tt.line, tt.endCol)
			}
		})
	}
}

func TestErrorRecovery(t *testing.T) {
	src := "" +
		"sockhash good1: key u32\n" + // 1
		"on msg to good1:\n" + // 2
		"    if size = 1: drop\n" + // 3: error
		"    apply\n" + // 4: error in the same item
		"sockmap : max 3\n" + // 5: error
		"on stream verdict to sockhash salvaged: redirect key(1 2)\n" + // 6: error, map salvaged
		"on skb verdict to good1: pass\n" + // 7: fine
		"sockhash broken: key (ip4 port)\n" + // 8: error, map salvaged
		"on msg to m:\n" + // 9: error: empty block
		"on established: update good1 key(local_port)\n" // 10: fine
	f, diags := parse(t, src)
	want := "" +
		"3:13: expected \":\", found \"=\"\n" +
		"4:10: expected an expression, found end of line\n" +
		"5:9: expected a name, found \":\"\n" +
		"6:56: expected \")\", found number 2\n" +
		"8:27: expected \")\", found name \"port\"\n" +
		"9:13: expected an indented block after ':', found the next unindented line"
	if got := messages(diags); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	wantDecls := "" +
		"sockhash good1 key u32\n" +
		"bad\n" +
		"bad\n" +
		"bad(sockhash salvaged)\n" +
		"on skb verdict to good1 {: pass}\n" +
		"bad(sockhash broken)\n" +
		"bad\n" +
		"on established {: update good1 key(local_port)}"
	if got := fileString(f); got != wantDecls {
		t.Errorf("declarations:\n%s\nwant:\n%s", got, wantDecls)
	}
	for _, d := range f.Decls {
		bad, ok := d.(*ast.BadDecl)
		if !ok {
			continue
		}
		if !bad.Pos().IsValid() || bad.End() <= bad.Pos() {
			t.Errorf("BadDecl span [%d, %d)", bad.Pos(), bad.End())
		}
		if bad.Map != nil {
			name := src[bad.Map.Name.Pos().Offset():bad.Map.Name.End().Offset()]
			if name != bad.Map.Name.Name {
				t.Errorf("salvaged map name %s spans %q", bad.Map.Name.Name, name)
			}
		}
	}
}

// TestNoErrorOnLexicallyBadLine checks that a line with a lexical error
// gets no second, syntax error.
func TestNoErrorOnLexicallyBadLine(t *testing.T) {
	src := "on msg to m: if size > 1 $ 2: drop\non msg to n: if size 2: drop\n"
	_, diags := parse(t, src)
	want := "1:26: invalid character '$' (U+0024)\n" +
		"2:22: expected \":\", found number 2"
	if got := messages(diags); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

// TestHintForCOperators checks the hints for C's logical operators. (A
// regression test: the lexer used to split && and || into two tokens, so
// these hints were never given.)
func TestHintForCOperators(t *testing.T) {
	tests := []struct {
		cond, err, hint string
	}{
		{"a == 1 && b == 2", `2:15: expected ":", found "&&"`, "use and"},
		{"a == 1 || b == 2", `2:15: expected ":", found "||"`, "use or"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			_, diags := parse(t, body("if "+tt.cond+": drop"))
			if got := messages(diags); got != tt.err {
				t.Fatalf("diagnostics:\n%s\nwant:\n%s", got, tt.err)
			}
			if diags[0].Hint != tt.hint {
				t.Errorf("hint = %q, want %q", diags[0].Hint, tt.hint)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# only a comment\n", "\uFEFF"} {
		f, diags := parse(t, src)
		if len(diags) != 0 || len(f.Decls) != 0 {
			t.Errorf("parse(%q) = %d decls, diagnostics:\n%s", src, len(f.Decls), messages(diags))
		}
	}
}
