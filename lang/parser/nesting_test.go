package parser

import (
	"fmt"
	"strings"
	"testing"
)

// wideNots builds a balanced tree of n `not size > 1` leaves joined by and
// in parentheses: n nots, but nested only about log2(n) deep.
func wideNots(n int) string {
	if n == 1 {
		return "not size > 1"
	}
	return "(" + wideNots(n/2) + " and " + wideNots(n-n/2) + ")"
}

// TestNestingCountsOpenLevels checks that the parser's depth guard counts
// the parentheses and nots that are open at a token, not every one on the
// line: a wide condition parses, a deep one is refused at the token that
// passes MaxNesting.
func TestNestingCountsOpenLevels(t *testing.T) {
	const head = "on msg to m: if "
	tooDeep := fmt.Sprintf("expression nested too deeply (more than %d parentheses or nots)", MaxNesting)
	tests := []struct {
		name string
		cond string
		want string // "" for no error
	}{
		{"256 nots in a balanced and-tree", wideNots(256), ""},
		{"300 nots in a flat and-chain", strings.Repeat("not size > 1 and ", 299) + "not size > 1", ""},
		{"300 nots across key arguments", "x == 1: redirect key(" + strings.Repeat("not a, ", 299) + "not a) #", ""},
		{"300 parenthesised nots in a row", strings.Repeat("(not a) or ", 299) + "(not a)", ""},
		{"200 nested nots", strings.Repeat("not ", 200) + "size > 1", ""},
		{"200 nested parentheses", strings.Repeat("(", 200) + "size" + strings.Repeat(")", 200) + " > 1", ""},
		{"100 nots in 100 parentheses", strings.Repeat("(not ", 100) + "a" + strings.Repeat(")", 100), ""},
		{"201 nested nots", strings.Repeat("not ", 201) + "size > 1",
			fmt.Sprintf("1:%d: %s", len(head)+200*4+1, tooDeep)},
		{"201 nested parentheses", strings.Repeat("(", 201) + "size" + strings.Repeat(")", 201) + " > 1",
			fmt.Sprintf("1:%d: %s", len(head)+201, tooDeep)},
		// Not valid syntax (a sum takes no not), but the guard runs first:
		// a `)` closes no not of the level around it, so the 200th
		// not's "(" is the 201st open level.
		{"nots that stay open after a parenthesis", strings.Repeat("not (a) + ", 201) + "1",
			fmt.Sprintf("1:%d: %s", len(head)+199*len("not (a) + ")+len("not ")+1, tooDeep)},
		{"101 nots in 100 parentheses", strings.Repeat("(not ", 100) + "not a" + strings.Repeat(")", 100),
			fmt.Sprintf("1:%d: %s", len(head)+100*5+1, tooDeep)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + tt.cond + ": drop\n"
			_, diags := parse(t, src)
			if tt.want == "" && len(diags) != 0 {
				t.Fatalf("diagnostics:\n%s\nwant none", messages(diags))
			}
			if tt.want != "" && messages(diags) != tt.want {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", messages(diags), tt.want)
			}
		})
	}
}
