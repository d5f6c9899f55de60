package sockgen_test

import (
	"bytes"
	"fmt"
	goast "go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/sockgen"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/keys"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// coverageSeeds is how many seeds must, together, show every feature.
const coverageSeeds = 400

// TestCoverage checks that the generator writes every construct of the
// language within coverageSeeds seeds. The expected features come from
// the lang packages wherever they can be enumerated (hooks, the
// statements each hook allows, the fields each hook can read, key
// components, syntax tree node types, the grammar's keywords and
// operators), so that a new construct the generator does not write fails
// this test; the rest (nesting, one-line forms, layout) are listed here.
func TestCoverage(t *testing.T) {
	want := expectedFeatures(t)
	seen := map[string]int{} // feature -> first seed showing it
	for seed := uint64(0); seed < coverageSeeds; seed++ {
		src := sockgen.Generate(seed)
		got, err := features(src)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, src)
		}
		for f := range got {
			if _, ok := seen[f]; !ok {
				seen[f] = int(seed)
			}
		}
	}
	var missing []string
	last, lastFeature := 0, ""
	for f := range want {
		s, ok := seen[f]
		if !ok {
			missing = append(missing, f)
			continue
		}
		if s >= last {
			last, lastFeature = s, f
		}
	}
	sort.Strings(missing)
	for _, f := range missing {
		t.Errorf("no generated program of seeds 0..%d has %s", coverageSeeds-1, f)
	}
	t.Logf("sockgen: %d features, all seen by seed %d (the last: %s)", len(want), last, lastFeature)
}

// stmtKinds enumerates the hook-dependent statement kinds of lang/hook.
func stmtKinds() []hook.Stmt {
	var out []hook.Stmt
	for s := hook.Stmt(0); hook.HooksAllowing(s) != ""; s++ {
		out = append(out, s)
	}
	return out
}

func expectedFeatures(t *testing.T) map[string]bool {
	t.Helper()
	want := map[string]bool{}
	for _, k := range hook.Kinds() {
		want["hook:"+k.String()] = true
		for _, s := range stmtKinds() {
			if k.Allows(s) {
				want["stmt:"+k.String()+":"+stmtName(s)] = true
			}
		}
		for _, n := range hook.FieldNames() {
			f, _, ok := k.Lookup(n)
			// ip6 and ip addresses can only be key components: a hook without
			// key(...) statements (the stream parser) cannot use them.
			if ok && (f.Type != hook.IP6 && f.Type != hook.IP || k.Allows(hook.StmtRedirect) || k.Allows(hook.StmtUpdate)) {
				want["field:"+k.String()+":"+n] = true
			}
		}
		if k.Verdict() {
			want["redirect:"+k.String()+":sockmap"] = true
			want["redirect:"+k.String()+":sockhash"] = true
		}
	}
	for c := keys.Component(0); c.String() != ""; c++ {
		if _, ok := keys.ParseComponent(c.String()); ok {
			want["keycomp:"+c.String()] = true
		}
	}
	for n := 1; n <= keys.MaxComponents; n++ {
		want[fmt.Sprintf("keylen:%d", n)] = true
	}
	for _, n := range astNodes(t) {
		want["node:"+n] = true
	}
	for _, kw := range scanner.Keywords() {
		want["token:"+kw] = true
	}
	for _, tok := range grammarTokens(t) {
		want["token:"+tok] = true
	}
	for _, f := range []string{
		// Maps and keys.
		"key:sockmap", "key:u32:declared", "key:u32:undeclared", "key:u64:declared", "key:u64:undeclared",
		"key:tuple:declared", "key:tuple:undeclared", "map:max", "map:key-and-max", "map:inline",
		"map:declared-after-handler", "map:max-limit", "file:no-maps", "peer-companion",
		"update:sockmap", "update:sockhash",
		// Statements.
		"redirect:named", "redirect:ingress", "redirect:then-drop", "redirect:then-pass",
		"length:bare", "length:expr", "if:else", "sockops:shared-program", "size:large",
		// Nesting and one-line forms.
		"nesting:32", "inline:handler", "inline:handler-if", "inline:then", "inline:else",
		"block:handler", "block:then", "block:else",
		// Expressions at the checker's limits, folding, literals.
		"need:8", "depth:64", "cond:constant", "lit:dec", "lit:hex", "name:inet", "name:inet6",
		"in:cidr", "in:range", "cidr:0", "cidr:32", "compare:ip4", "compare:family", "compare:number",
		// Warnings.
		"warning:unreachable", "warning:parser-alone", "warning:port-key",
		// Layout.
		"lex:bom", "lex:crlf", "lex:tabs", "lex:spaces", "lex:comment-line", "lex:trailing-comment",
		"lex:no-final-newline", "lex:cr-blank",
	} {
		want[f] = true
	}
	return want
}

// astNodes lists the statement, expression and declaration node types
// of lang/ast, read from its source: the types with a stmtNode, exprNode
// or declNode method. BadDecl stands for a syntax error.
func astNodes(t *testing.T) []string {
	t.Helper()
	fs := gotoken.NewFileSet()
	f, err := goparser.ParseFile(fs, "../../lang/ast/ast.go", nil, 0)
	if err != nil {
		t.Fatalf("read lang/ast: %v", err)
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*goast.FuncDecl)
		if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
			continue
		}
		switch fd.Name.Name {
		case "stmtNode", "exprNode", "declNode":
		default:
			continue
		}
		star, ok := fd.Recv.List[0].Type.(*goast.StarExpr)
		if !ok {
			continue
		}
		if id, ok := star.X.(*goast.Ident); ok && id.Name != "BadDecl" {
			out = append(out, id.Name)
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d node types in lang/ast: %v", len(out), out)
	}
	return out
}

// grammarTokens lists the keywords and operators that the grammar of
// lang/parser accepts: the quoted literals of its struct tags.
func grammarTokens(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../../lang/parser/grammar.go")
	if err != nil {
		t.Fatalf("read the grammar: %v", err)
	}
	var out []string
	for _, tag := range regexp.MustCompile(`parser:"([^"]*)"`).FindAllSubmatch(src, -1) {
		for _, lit := range regexp.MustCompile(`'([^']+)'`).FindAllSubmatch(tag[1], -1) {
			out = append(out, string(lit[1]))
		}
	}
	if len(out) < 30 {
		t.Fatalf("found only %d literals in the grammar", len(out))
	}
	return out
}

// features lists the constructs a generated program uses, from its
// syntax tree, its checked program, its tokens and its text.
func features(src []byte) (map[string]bool, error) {
	f := token.NewFile("gen.sock", src)
	errs := diag.NewCollector(f)
	file := parser.ParseFile(f, errs)
	prog := check.Check(file, errs)
	if errs.HasErrors() {
		return nil, fmt.Errorf("not clean: %v", errs.List().Err())
	}
	w := &walker{got: map[string]bool{}, prog: prog}
	w.tokens(f)
	w.layout(src)
	for _, d := range errs.List().Warnings() {
		for key, s := range map[string]string{
			"warning:unreachable":  "unreachable statement",
			"warning:parser-alone": "never runs without a stream verdict",
			"warning:port-key":     "filled by sockops under one port",
		} {
			if strings.Contains(d.Message, s) {
				w.got[key] = true
			}
		}
	}
	w.maps(file)
	for _, h := range prog.Handlers {
		w.hook = h.Hook
		w.got["hook:"+h.Hook.String()] = true
		w.block(h.Decl.Body, 0, "handler")
	}
	if len(prog.SockopsHandlers()) > 1 {
		w.got["sockops:shared-program"] = true
	}
	if len(prog.Peers) > 0 {
		w.got["peer-companion"] = true
	}
	return w.got, nil
}

type walker struct {
	got  map[string]bool
	prog *check.Program
	hook hook.Kind
}

func (w *walker) tokens(f *token.File) {
	for _, tok := range scanner.Scan(f, diag.NewCollector(f)).Tokens {
		if tok.Kind == token.Keyword || tok.Kind == token.Punct {
			w.got["token:"+tok.Text] = true
		}
	}
}

func (w *walker) layout(src []byte) {
	set := func(f string, ok bool) {
		if ok {
			w.got[f] = true
		}
	}
	set("lex:bom", bytes.HasPrefix(src, []byte("\uFEFF")))
	set("lex:crlf", bytes.Contains(src, []byte("\r\n")))
	set("lex:no-final-newline", !bytes.HasSuffix(src, []byte("\n")))
	set("lex:cr-blank", bytes.Contains(src, []byte(" \r ")))
	set("size:large", len(src) > 8000)
	for _, line := range strings.Split(string(src), "\n") {
		code, _, comment := strings.Cut(line, "#")
		blank := strings.Trim(code, " \t\r") == ""
		set("lex:comment-line", comment && blank)
		set("lex:trailing-comment", comment && !blank)
		set("lex:tabs", !blank && strings.HasPrefix(code, "\t"))
		set("lex:spaces", !blank && strings.HasPrefix(code, " "))
	}
}

func (w *walker) maps(file *ast.File) {
	attached := map[string]bool{}
	for _, d := range file.Decls {
		w.got["node:"+nodeName(d)] = true
		switch d := d.(type) {
		case *ast.Handler:
			if d.Map != nil {
				attached[d.Map.Name.Name] = true
				if d.Map.Kind != ast.NoMapKind {
					w.got["map:inline"] = true
				}
			}
		case *ast.MapDecl:
			if attached[d.Name.Name] {
				w.got["map:declared-after-handler"] = true
			}
			if d.Max != nil {
				w.got["map:max"] = true
				if d.Key != nil {
					w.got["map:key-and-max"] = true
				}
				if d.Max.Value == check.MaxEntries {
					w.got["map:max-limit"] = true
				}
			}
		}
	}
	if len(w.prog.Maps) == 0 {
		w.got["file:no-maps"] = true
	}
	for _, m := range w.prog.Maps {
		how := "undeclared"
		if m.KeyDeclared {
			how = "declared"
		}
		switch {
		case m.Kind == ast.SockMap:
			w.got["key:sockmap"] = true
		case m.Key.Tuple:
			w.got["key:tuple:"+how] = true
			w.got[fmt.Sprintf("keylen:%d", len(m.Key.Components))] = true
			for _, c := range m.Key.Components {
				w.got["keycomp:"+c.String()] = true
			}
		default:
			w.got["key:"+m.Key.String()+":"+how] = true
		}
	}
}

func (w *walker) block(b *ast.Block, depth int, role string) {
	if b.Inline {
		w.got["inline:"+role] = true
		if len(b.Stmts) == 1 && role == "handler" {
			if _, ok := b.Stmts[0].(*ast.IfStmt); ok {
				w.got["inline:handler-if"] = true
			}
		}
	} else {
		w.got["block:"+role] = true
	}
	for i, s := range b.Stmts {
		w.stmt(s, depth)
		if _, ok := s.(*ast.RedirectStmt); ok && i+1 < len(b.Stmts) {
			switch b.Stmts[i+1].(type) {
			case *ast.DropStmt:
				w.got["redirect:then-drop"] = true
			case *ast.PassStmt:
				w.got["redirect:then-pass"] = true
			}
		}
	}
}

func nodeName(n any) string { return reflect.TypeOf(n).Elem().Name() }

func (w *walker) kind(s hook.Stmt) { w.got["stmt:"+w.hook.String()+":"+stmtName(s)] = true }

// stmtName names a statement kind of lang/hook; a kind added there
// without a name here shows as its number.
func stmtName(s hook.Stmt) string {
	names := map[hook.Stmt]string{
		hook.StmtRedirect: "redirect", hook.StmtRedirectPeer: "redirect peer", hook.StmtPass: "pass",
		hook.StmtDrop: "drop", hook.StmtApply: "apply", hook.StmtCork: "cork", hook.StmtLength: "length",
		hook.StmtUpdate: "update",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("hook.Stmt(%d)", s)
}

func (w *walker) stmt(s ast.Stmt, depth int) {
	w.got["node:"+nodeName(s)] = true
	switch s := s.(type) {
	case *ast.IfStmt:
		if depth+1 == check.MaxNesting {
			w.got[fmt.Sprintf("nesting:%d", check.MaxNesting)] = true
		}
		w.top(s.Cond)
		if _, ok := w.prog.Bools[s.Cond]; ok {
			w.got["cond:constant"] = true
		}
		w.block(s.Then, depth+1, "then")
		if s.Else != nil {
			w.got["if:else"] = true
			w.block(s.Else, depth+1, "else")
		}
	case *ast.RedirectStmt:
		if s.Peer {
			w.kind(hook.StmtRedirectPeer)
		} else {
			w.kind(hook.StmtRedirect)
			w.got["redirect:"+w.hook.String()+":"+w.prog.StmtMaps[s].Kind.String()] = true
			w.key(s.Key)
		}
		if s.Map != nil {
			w.got["redirect:named"] = true
		}
		if s.Ingress {
			w.got["redirect:ingress"] = true
		}
	case *ast.PassStmt:
		w.kind(hook.StmtPass)
	case *ast.DropStmt:
		w.kind(hook.StmtDrop)
	case *ast.ApplyStmt:
		w.kind(hook.StmtApply)
		w.top(s.Bytes)
	case *ast.CorkStmt:
		w.kind(hook.StmtCork)
		w.top(s.Bytes)
	case *ast.LengthStmt:
		w.kind(hook.StmtLength)
		if s.X == nil {
			w.got["length:bare"] = true
		} else {
			w.got["length:expr"] = true
			w.top(s.X)
		}
	case *ast.UpdateStmt:
		w.kind(hook.StmtUpdate)
		w.got["update:"+w.prog.StmtMaps[s].Kind.String()] = true
		w.key(s.Key)
	}
}

func (w *walker) key(k *ast.KeyExpr) {
	for _, a := range k.Args {
		w.top(a)
	}
}

// top records an expression that the checker checks as a whole.
func (w *walker) top(e ast.Expr) {
	if w.prog.Need(e) == check.MaxRegs {
		w.got[fmt.Sprintf("need:%d", check.MaxRegs)] = true
	}
	if height(e) == check.MaxExprDepth {
		w.got[fmt.Sprintf("depth:%d", check.MaxExprDepth)] = true
	}
	w.expr(e)
}

// height is the checker's depth of e's deepest operand.
func height(e ast.Expr) int {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return 1 + height(e.X)
	case *ast.NotExpr:
		return 1 + height(e.X)
	case *ast.BinaryExpr:
		return 1 + max(height(e.X), height(e.Y))
	case *ast.InExpr:
		return 1 + height(e.X)
	}
	return 0
}

func (w *walker) expr(e ast.Expr) {
	w.got["node:"+nodeName(e)] = true
	switch e := e.(type) {
	case *ast.ParenExpr:
		w.expr(e.X)
	case *ast.NotExpr:
		w.expr(e.X)
	case *ast.BinaryExpr:
		if t := w.prog.Types[e.X]; !e.Op.IsLogical() && w.prog.Types[e] == check.Bool {
			what := map[check.Type]string{check.IP4: "ip4", check.Family: "family"}[t]
			if what == "" {
				what = "number"
			}
			w.got["compare:"+what] = true
		}
		w.expr(e.X)
		w.expr(e.Y)
	case *ast.InExpr:
		if e.CIDR != nil {
			w.got["in:cidr"] = true
			switch e.CIDR.Bits.Value {
			case 0, 32:
				w.got[fmt.Sprintf("cidr:%d", e.CIDR.Bits.Value)] = true
			}
		} else {
			w.got["in:range"] = true
		}
		w.expr(e.X)
	case *ast.Name:
		if _, ok := w.prog.Fields[e]; ok {
			w.got["field:"+w.hook.String()+":"+e.Name] = true
		} else {
			w.got["name:"+e.Name] = true
		}
	case *ast.IntLit:
		if strings.HasPrefix(strings.ToLower(e.Raw), "0x") {
			w.got["lit:hex"] = true
		} else {
			w.got["lit:dec"] = true
		}
	}
}
