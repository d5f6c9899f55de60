package editors

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sublimePath is the Sublime Text syntax, which bat (syntect) reads too.
// Neither reads TextMate JSON, so the file is generated from the grammar.
const sublimePath = "sublime/sockc.sublime-syntax"

var update = flag.Bool("update", false, "rewrite "+sublimePath+" from "+grammarPath)

// sublimeSyntax converts the flat TextMate grammar into a .sublime-syntax
// file with the same rules in the same order in its main context. Regexps
// are written as single-quoted YAML scalars, where only ' needs escaping.
func sublimeSyntax(g *grammar) []byte {
	var b bytes.Buffer
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	fmt.Fprintf(&b, "%%YAML 1.2\n---\n")
	fmt.Fprintf(&b, "# Generated from ../%s by\n#   go test ./editors -run TestSublimeSyntax -update\n# Edit the TextMate grammar, not this file.\n", grammarPath)
	fmt.Fprintf(&b, "name: %s\nfile_extensions:\n", g.Name)
	for _, ft := range g.FileTypes {
		fmt.Fprintf(&b, "  - %s\n", ft)
	}
	fmt.Fprintf(&b, "scope: %s\ncontexts:\n  main:\n", g.ScopeName)
	for _, r := range g.Patterns {
		if r.Comment != "" {
			fmt.Fprintf(&b, "    # %s\n", r.Comment)
		}
		fmt.Fprintf(&b, "    - match: %s\n", q(r.Match))
		if r.Name != "" {
			fmt.Fprintf(&b, "      scope: %s\n", r.Name)
		}
		if len(r.Captures) > 0 {
			var keys []int
			for k := range r.Captures {
				n, _ := strconv.Atoi(k) // checked by TestGrammarWellFormed
				keys = append(keys, n)
			}
			sort.Ints(keys)
			fmt.Fprintf(&b, "      captures:\n")
			for _, n := range keys {
				fmt.Fprintf(&b, "        %d: %s\n", n, r.Captures[strconv.Itoa(n)].Name)
			}
		}
	}
	return b.Bytes()
}

// TestSublimeSyntax: the committed Sublime syntax is what the grammar
// converts to. With -update it rewrites the file instead.
func TestSublimeSyntax(t *testing.T) {
	want := sublimeSyntax(loadGrammar(t))
	if *update {
		if err := os.WriteFile(sublimePath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(sublimePath)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./editors -run TestSublimeSyntax -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with %s: regenerate it with go test ./editors -run TestSublimeSyntax -update", sublimePath, grammarPath)
	}
}
