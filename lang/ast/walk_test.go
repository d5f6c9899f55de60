package ast_test

import (
	"fmt"
	"go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"reflect"
	"slices"
	"strings"
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
	sockast "github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// everyKind is a program with every kind of node: declarations with and
// without options, inline and block bodies, if with and without else,
// every statement and every expression form.
const everyKind = `sockmap idx: key u32, max 8
sockhash flows: key (ip4, port)
on msg to flows:
    if not (remote_ip4 in 10.0.0.0/8) and local_port in 1..1024:
        redirect flows key(remote_ip4, remote_port + 1) ingress
    else: drop
    apply size >> 2
    cork 0x10
    count seen
    if size > 1: pass
    redirect peer
on stream parser to sockhash proxy:
    length 4
    length
on established:
    update flows key(local_ip4, local_port)
`

func parse(t *testing.T, src string) *sockast.File {
	t.Helper()
	f := token.NewFile("w.sock", []byte(src))
	errs := diag.NewCollector(f)
	file := parser.ParseFile(f, errs)
	if errs.HasErrors() {
		t.Fatalf("parse:\n%v", errs.List())
	}
	return file
}

// reflectNodes lists the nodes under n in depth-first order by
// reflection: every non-nil pointer to a struct that is a Node, in field
// order, as Walk promises to visit them. It skips File.Comments and
// embedded Spans (values, not nodes of the tree).
func reflectNodes(n sockast.Node) []sockast.Node {
	var out []sockast.Node
	nodeType := reflect.TypeFor[sockast.Node]()
	var visit func(v reflect.Value)
	visit = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				visit(v.Elem())
			}
		case reflect.Pointer:
			if v.IsNil() || v.Elem().Kind() != reflect.Struct {
				return
			}
			if v.Type().Implements(nodeType) {
				out = append(out, v.Interface().(sockast.Node))
			}
			st := v.Elem()
			for i := range st.NumField() {
				f := st.Type().Field(i)
				if f.Anonymous || !f.IsExported() || (st.Type() == reflect.TypeFor[sockast.File]() && f.Name == "Comments") {
					continue
				}
				visit(st.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				visit(v.Index(i))
			}
		}
	}
	visit(reflect.ValueOf(n))
	return out
}

// nodeTypes lists the node types that lang/ast declares: the struct types
// that embed Span, and File.
func nodeTypes(t *testing.T) []string {
	t.Helper()
	fset := gotoken.NewFileSet()
	f, err := goparser.ParseFile(fset, "ast.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	types := []string{"*ast.File"}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range gd.Specs {
			ts, ok := s.(*ast.TypeSpec)
			if !ok {
				continue
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, fld := range st.Fields.List {
				if id, ok := fld.Type.(*ast.Ident); ok && len(fld.Names) == 0 && id.Name == "Span" {
					types = append(types, "*ast."+ts.Name.Name)
				}
			}
		}
	}
	slices.Sort(types)
	return types
}

// TestWalkVisitsEveryNode checks that Inspect visits every node of a file
// in depth-first source order, each once, and that the program above
// holds every node type of the package, so that a new node type without
// its case in Walk fails here.
func TestWalkVisitsEveryNode(t *testing.T) {
	file := parse(t, everyKind)
	var got []sockast.Node
	var stack []sockast.Node
	sockast.Inspect(file, func(n sockast.Node) bool {
		if n == nil {
			if len(stack) == 0 {
				t.Fatal("f(nil) without an open node")
			}
			stack = stack[:len(stack)-1]
			return true
		}
		if len(stack) > 0 {
			if parent := stack[len(stack)-1]; n.Pos() < parent.Pos() || n.End() > parent.End() {
				t.Errorf("%T %d..%d visited under %T %d..%d", n, n.Pos(), n.End(), parent, parent.Pos(), parent.End())
			}
		}
		if len(got) > 0 && n.Pos() < got[len(got)-1].Pos() {
			t.Errorf("%T at %d visited after %T at %d", n, n.Pos(), got[len(got)-1], got[len(got)-1].Pos())
		}
		got = append(got, n)
		stack = append(stack, n)
		return true
	})
	if len(stack) != 0 {
		t.Errorf("%d nodes left open: f(nil) not called after each", len(stack))
	}
	want := reflectNodes(file)
	if len(got) != len(want) {
		t.Errorf("Inspect visited %d nodes, the tree has %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("node %d: Inspect visited %T at %d, want %T at %d", i, got[i], got[i].Pos(), want[i], want[i].Pos())
		}
	}
	seen := map[string]bool{}
	for _, n := range got {
		seen[fmt.Sprintf("%T", n)] = true
	}
	var missing []string
	for _, typ := range nodeTypes(t) {
		// BadDecl and Comment never occur in a clean file's tree;
		// TestWalkBadDecl and TestWalkLeaves cover them.
		if !seen[typ] && typ != "*ast.BadDecl" && typ != "*ast.Comment" {
			missing = append(missing, typ)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the program visits no %s: add them to everyKind", strings.Join(missing, ", "))
	}
}

// TestWalkBadDecl walks the map a broken item declares.
func TestWalkBadDecl(t *testing.T) {
	src := "on msg to sockhash m: redirect key(\n"
	f := token.NewFile("w.sock", []byte(src))
	file := parser.ParseFile(f, diag.NewCollector(f))
	var got []string
	sockast.Inspect(file, func(n sockast.Node) bool {
		if n != nil {
			got = append(got, fmt.Sprintf("%T", n))
		}
		return true
	})
	if want := "*ast.File *ast.BadDecl *ast.MapRef *ast.Ident"; strings.Join(got, " ") != want {
		t.Errorf("visited %s, want %s", strings.Join(got, " "), want)
	}
}

// TestWalkLeaves walks nodes without children: Walk visits the node
// and then calls Visit(nil).
func TestWalkLeaves(t *testing.T) {
	for _, n := range []sockast.Node{&sockast.Comment{}, &sockast.Ident{}, &sockast.IntLit{}, &sockast.PassStmt{}, &sockast.File{}} {
		var got []sockast.Node
		sockast.Inspect(n, func(m sockast.Node) bool {
			got = append(got, m)
			return true
		})
		if len(got) != 2 || got[0] != n || got[1] != nil {
			t.Errorf("Inspect(%T) visited %v, want the node and nil", n, got)
		}
	}
}

// TestInspectPrunes checks that returning false skips a node's children,
// and its f(nil), and nothing else.
func TestInspectPrunes(t *testing.T) {
	file := parse(t, everyKind)
	var all, pruned []sockast.Node
	sockast.Inspect(file, func(n sockast.Node) bool {
		if n != nil {
			all = append(all, n)
		}
		return true
	})
	nils := 0
	sockast.Inspect(file, func(n sockast.Node) bool {
		if n == nil {
			nils++
			return true
		}
		pruned = append(pruned, n)
		_, isIf := n.(*sockast.IfStmt)
		return !isIf
	})
	// The expected visit: every node but those inside an if.
	var want []sockast.Node
	var ifs []sockast.Node
	for _, n := range all {
		inside := false
		for _, s := range ifs {
			if n.Pos() >= s.Pos() && n.End() <= s.End() {
				inside = true
			}
		}
		if inside {
			continue
		}
		want = append(want, n)
		if _, ok := n.(*sockast.IfStmt); ok {
			ifs = append(ifs, n)
		}
	}
	if len(ifs) != 2 {
		t.Fatalf("the program has %d ifs, want 2", len(ifs))
	}
	if !slices.Equal(pruned, want) {
		t.Errorf("pruned at ifs: visited %d nodes, want %d", len(pruned), len(want))
	}
	if nils != len(want)-len(ifs) {
		t.Errorf("f(nil) called %d times, want %d: once per node whose children were inspected", nils, len(want)-len(ifs))
	}
}

// TestWalkUnknownNode checks that Walk refuses a node type it does not
// know rather than skip its children silently.
func TestWalkUnknownNode(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "unexpected node type") {
			t.Errorf("recover() = %v, want a panic naming the node type", r)
		}
	}()
	sockast.Inspect(sockast.Span{}, func(sockast.Node) bool { return true })
}

// ExampleInspect lists the names a condition reads.
func ExampleInspect() {
	src := "on msg to sockhash m:\n    if local_port == 80 and remote_port > 1024: drop\n"
	f := token.NewFile("e.sock", []byte(src))
	file := parser.ParseFile(f, diag.NewCollector(f))
	sockast.Inspect(file, func(n sockast.Node) bool {
		if name, ok := n.(*sockast.Name); ok {
			fmt.Println(name.Name)
		}
		return true
	})
	// Output:
	// local_port
	// remote_port
}
