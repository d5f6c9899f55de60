package parser

import (
	"strings"
	"testing"

	"github.com/sockc/sockc/lang/ast"
)

// TestOneMistakeOneError checks mistakes that span several lines or items
// and are reported once, with the hint that names them, while an error of
// its own in a later item is still reported.
func TestOneMistakeOneError(t *testing.T) {
	const blockHint = "indent the lines of the block under its header, e.g. by 4 spaces"
	const braceHint = "sockc blocks are indented after ':', as in Python"
	tests := []struct {
		name, src, errs, hint string
	}{
		{"braces, body indented", "on msg to m {\n    drop\n}\non msg to m: bogus\n",
			"1:13: expected \":\", found \"{\"\n4:14: expected a statement, found name \"bogus\"", braceHint},
		{"braces, body at column 1", "on msg to m {\ndrop\ncount a\n}\n",
			`1:13: expected ":", found "{"`, braceHint},
		{"braces on an if", "on msg to m:\n    if size > 1 {\n        drop\n    } else {\n        pass\n    }\n",
			`2:17: expected ":", found "{"`, braceHint},
		{"braces, one line", "on msg to m { drop }\n",
			`1:13: expected ":", found "{"`, braceHint},
		{"a brace that opens no block", "on msg to m: redirect key{1}\n",
			`1:26: expected "(", found "{"`, ""},
		{"a lone } without braces", "}\n", `1:1: unexpected "}"`, ""},
		{"body at column 1", "on msg to m:\ndrop\npass\nsockhash n: bogus\n",
			"1:13: expected an indented block after ':', found an unindented line\n4:13: expected key or max, found name \"bogus\"", blockHint},
		{"if body at column 1", "on msg to m:\n    if size > 1:\ndrop\n",
			"2:17: expected an indented block after ':', found an unindented line", blockHint},
		{"empty block before the next item", "on msg to m:\non msg to n: pass\n",
			"1:13: expected an indented block after ':', found the next unindented line",
			"or write one statement after the ':' on the same line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := parse(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Fatalf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if diags[0].Hint != tt.hint {
				t.Errorf("hint %q, want %q", diags[0].Hint, tt.hint)
			}
		})
	}
}

// TestMiscasedKeywords checks that a keyword in capitals is one error and
// that the item is then parsed with it in lower case: the map is declared
// with its options, and the handler is in the tree to be checked.
func TestMiscasedKeywords(t *testing.T) {
	src := "SOCKHASH m: KEY u32, Max 4\nON msg to m:\n    IF size > 1: Drop\n    ELSE: count Pass\n"
	file, diags := parse(t, src)
	want := "1:1: keywords are lower case: sockhash\n1:13: keywords are lower case: key\n" +
		"1:22: keywords are lower case: max\n2:1: keywords are lower case: on\n" +
		"3:5: keywords are lower case: if\n3:18: keywords are lower case: drop\n4:5: keywords are lower case: else"
	if got := messages(diags); got != want {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if diags[0].End.Column != 9 {
		t.Errorf("span ends at column %d, want 9: the whole word", diags[0].End.Column)
	}
	if len(file.Decls) != 2 {
		t.Fatalf("%d declarations, want 2", len(file.Decls))
	}
	m, ok := file.Decls[0].(*ast.MapDecl)
	if !ok || m.Name.Name != "m" || m.Kind != ast.SockHash || m.Key == nil || m.Max == nil {
		t.Errorf("first declaration %#v, want sockhash m with key and max", file.Decls[0])
	}
	h, ok := file.Decls[1].(*ast.Handler)
	if !ok || len(h.Body.Stmts) != 1 {
		t.Fatalf("second declaration %#v, want a handler with one statement", file.Decls[1])
	}
	// Pass is a counter's name: names are case-sensitive, and a name that
	// fits is never taken for a keyword.
	if got := fileString(file); !strings.Contains(got, "count Pass") {
		t.Errorf("tree:\n%s\nwant count Pass", got)
	}
}
