package editors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/scanner"
)

// grammarPath is the TextMate grammar, the one source of the highlighting
// rules; the Sublime syntax is generated from it (sublime_test.go).
const grammarPath = "textmate/sockc.tmLanguage.json"

// grammar is the part of the TextMate format that the sockc grammar uses.
// It is decoded strictly, so a begin/end rule or a repository, which the
// tokenizer below does not model, fails the test instead of being skipped.
type grammar struct {
	Name      string   `json:"name"`
	ScopeName string   `json:"scopeName"`
	FileTypes []string `json:"fileTypes"`
	Comment   string   `json:"comment"`
	Patterns  []rule   `json:"patterns"`
}

// rule is a top-level match rule: Name scopes the whole match, Captures
// scope its groups ("1", "2", ...).
type rule struct {
	Comment  string             `json:"comment"`
	Name     string             `json:"name"`
	Match    string             `json:"match"`
	Captures map[string]capture `json:"captures"`

	re *regexp.Regexp
}

type capture struct {
	Name string `json:"name"`
}

// loadGrammar reads and strictly decodes the grammar and compiles its
// regexps with Go's regexp package.
func loadGrammar(t *testing.T) *grammar {
	t.Helper()
	data, err := os.ReadFile(grammarPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g grammar
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("%s: %v", grammarPath, err)
	}
	for i := range g.Patterns {
		r := &g.Patterns[i]
		re, err := regexp.Compile(r.Match)
		if err != nil {
			t.Fatalf("%s: pattern %d (%s): %v", grammarPath, i, r.Comment, err)
		}
		r.re = re
	}
	return &g
}

// oniguruma-only or differently-read syntax that Go's regexp would accept:
// inline flags ((?m) is multi-line in Go but dot-all in Oniguruma, (?U) is
// Go-only) and \Q...\E quoting.
var notCommonSubset = regexp.MustCompile(`\(\?[^:]|\\[QEC]`)

// TestGrammarWellFormed: the JSON parses into a flat list of match rules,
// with the sockc scope and file type, every regexp compiles with Go's
// regexp and stays clear of constructs that Oniguruma reads differently,
// every scope ends in .sockc, and every capture names a group that exists.
func TestGrammarWellFormed(t *testing.T) {
	g := loadGrammar(t)
	if g.ScopeName != "source.sockc" || g.Name != "sockc" {
		t.Errorf("name %q, scopeName %q; want sockc, source.sockc", g.Name, g.ScopeName)
	}
	if len(g.FileTypes) != 1 || g.FileTypes[0] != "sock" {
		t.Errorf("fileTypes %q; want [sock]", g.FileTypes)
	}
	if len(g.Patterns) == 0 {
		t.Fatal("no patterns")
	}
	for i, r := range g.Patterns {
		where := fmt.Sprintf("pattern %d (%s)", i, r.Comment)
		if r.Match == "" {
			t.Errorf("%s: no match", where)
		}
		if notCommonSubset.MatchString(r.Match) {
			t.Errorf("%s: %q uses an inline flag or \\Q/\\E, outside the subset Go and Oniguruma share", where, r.Match)
		}
		if r.re.MatchString("") {
			t.Errorf("%s: matches the empty string", where)
		}
		if r.Name == "" && len(r.Captures) == 0 {
			t.Errorf("%s: scopes nothing", where)
		}
		scopes := []string{r.Name}
		for k, c := range r.Captures {
			n, err := strconv.Atoi(k)
			if err != nil || n < 1 || n > r.re.NumSubexp() {
				t.Errorf("%s: capture %q: the regexp has %d groups", where, k, r.re.NumSubexp())
			}
			scopes = append(scopes, c.Name)
		}
		for _, s := range scopes {
			if s != "" && !strings.HasSuffix(s, ".sockc") {
				t.Errorf("%s: scope %q does not end in .sockc", where, s)
			}
		}
	}
}

// Scope prefixes the tests expect, by kind of token.
var (
	keywordScopes    = []string{"keyword.", "storage.type.map."}
	fieldScope       = "support.variable.field."
	hookScope        = "entity.name.function.hook."
	commentScope     = "comment.line.number-sign."
	decimalScope     = "constant.numeric.integer.decimal."
	hexScope         = "constant.numeric.integer.hexadecimal."
	badNumberScope   = "invalid.illegal.number."
	ipv4Scope        = "constant.numeric.ipv4."
	badIPv4Scope     = "invalid.illegal.ipv4."
	operatorScopes   = []string{"keyword.operator.", "punctuation."}
	badOperatorScope = "invalid.illegal.operator."
)

// grammarWords lists the words written in the grammar's regexps, so that
// the tests can check that the grammar gives no word a keyword or field
// scope that the language does not give it.
func grammarWords(g *grammar) []string {
	escape := regexp.MustCompile(`\\.`)
	word := regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	seen := map[string]bool{}
	var out []string
	for _, r := range g.Patterns {
		for _, w := range word.FindAllString(escape.ReplaceAllString(r.Match, " "), -1) {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// TestGrammarKeywords: each keyword of lang/scanner (the list lives there,
// not in lang/token), written alone on a
// line, is one token with a keyword scope; and no other word the grammar
// mentions gets a keyword scope. A keyword added to the language without
// grammar support, or taken out of the grammar, fails here.
func TestGrammarKeywords(t *testing.T) {
	g := loadGrammar(t)
	matched := 0
	for _, kw := range scanner.Keywords() {
		if spans := g.tokenize(kw); exact(spans, 0, len(kw), keywordScopes...) {
			matched++
		} else {
			t.Errorf("keyword %q: want a keyword scope, grammar gives %s", kw, describe(spans, 0, len(kw)))
		}
	}
	for _, w := range grammarWords(g) {
		if exact(g.tokenize(w), 0, len(w), keywordScopes...) && !scanner.IsKeyword(w) {
			t.Errorf("%q has a keyword scope but is not a keyword of lang/scanner", w)
		}
	}
	t.Logf("editors: keywords matched by the grammar: %d (of %d)", matched, len(scanner.Keywords()))

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("the %d keywords", len(scanner.Keywords())); !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), want) {
		t.Errorf("editors/README.md should say the grammar scopes %q", want)
	}
}

// TestGrammarFields: each context field of lang/hook is a field token, and
// no other word is.
func TestGrammarFields(t *testing.T) {
	g := loadGrammar(t)
	isField := map[string]bool{}
	for _, f := range hook.FieldNames() {
		isField[f] = true
		line := "if " + f + " == 1: drop"
		if spans := g.tokenize(line); !exact(spans, 3, 3+len(f), fieldScope) {
			t.Errorf("field %q in %q: want %s*, grammar gives %s", f, line, fieldScope, describe(spans, 3, 3+len(f)))
		}
	}
	for _, w := range grammarWords(g) {
		if exact(g.tokenize(w), 0, len(w), fieldScope) && !isField[w] {
			t.Errorf("%q has a field scope but is not a field of lang/hook", w)
		}
	}
}

// TestGrammarHooks: the words of each hook of lang/hook, in a handler
// header, have the hook scope.
func TestGrammarHooks(t *testing.T) {
	g := loadGrammar(t)
	for _, k := range hook.Kinds() {
		line := "on " + k.String() + " to m: pass"
		if k.Sockops() {
			line = "on " + k.String() + ": count c"
		}
		spans := g.tokenize(line)
		if !within(spans, 3, 3+len(k.String()), hookScope) {
			t.Errorf("hook %q in %q: want %s*, grammar gives %s", k, line, hookScope, describe(spans, 3, 3+len(k.String())))
		}
	}
	if spans := g.tokenize("on stream verdic to m: pass"); within(spans, 3, 9, hookScope) {
		t.Errorf("a misspelt hook has the hook scope: %s", describe(spans, 3, 9))
	}
}
