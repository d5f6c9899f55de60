package doctest

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/exp/ebnf"

	"github.com/sockc/sockc/internal/mdfence"
	"github.com/sockc/sockc/lang/scanner"
)

// The ```ebnf blocks of docs/language.md are checked three ways: together
// they must form one grammar that golang.org/x/exp/ebnf verifies from File;
// a production shown again in a later section must say what §3 says; and
// sentences derived at random from the grammar must parse with the real
// parser, so the grammar cannot allow what the parser refuses.

const languageDoc = "docs/language.md"

// grammarStart is the start production of the doc's grammar (§3).
const grammarStart = "File"

// suppliedTerminal is a token class that the grammar of the doc uses but
// defines in prose only; the test supplies a production for it so that
// the grammar verifies.
type suppliedTerminal struct {
	name  string
	where string // where the doc defines it, in prose
	ebnf  string
}

// suppliedTerminals are kept to the names the doc's productions use and do
// not define: the test fails if one becomes defined in the doc or unused.
var suppliedTerminals = []suppliedTerminal{
	{"ident", "§2.3 Identifiers ([A-Za-z_][A-Za-z0-9_]*), minus the keywords of §2.4",
		`ident = ( "A" … "Z" | "a" … "z" | "_" ) { "A" … "Z" | "a" … "z" | "_" | "0" … "9" } .`},
	{"ipv4_lit", "§2.6: four decimal numbers from 0 to 255, without leading zeros, separated by dots",
		`ipv4_lit = decimal_lit "." decimal_lit "." decimal_lit "." decimal_lit .`},
	{"hex_digit", "§2.5 uses it undefined; §3 says the notation is the Go specification's, where it is 0-9, A-F, a-f",
		`hex_digit = "0" … "9" | "A" … "F" | "a" … "f" .`},
	// The layout tokens have no characters of their own: the scanner
	// synthesizes them from the indentation of the lines (§2.8).
	{"NEWLINE", "§2.8: ends every line that has a token", `NEWLINE = .`},
	{"INDENT", "§2.8: a line indented deeper than the open block", `INDENT = .`},
	{"DEDENT", "§2.8: each open indentation level a shorter line closes", `DEDENT = .`},
}

// ebnfBlock is a fenced ```ebnf block of the doc.
type ebnfBlock struct {
	line int // of the opening fence
	src  string
}

// ebnfBlocks returns the ```ebnf blocks of a Markdown text.
func ebnfBlocks(text string) ([]ebnfBlock, error) {
	fences, err := mdfence.Parse(languageDoc, []byte(text))
	if err != nil {
		return nil, err
	}
	var blocks []ebnfBlock
	for _, f := range fences {
		if f.Info == "ebnf" {
			blocks = append(blocks, ebnfBlock{line: f.Line, src: f.Body()})
		}
	}
	return blocks, nil
}

// docGrammar is the grammar of the doc, verified.
type docGrammar struct {
	g        ebnf.Grammar
	fromDoc  int // productions of g defined by the doc, not supplied
	blocks   int
	repeats  int             // productions shown again and equal to the grammar's
	supplied map[string]bool // names of suppliedTerminals
}

// loadDocGrammar checks the ebnf blocks of text (the doc) and returns
// their grammar. The block that defines File and every block of new
// productions (the lexical int_lit block) form the grammar; every other
// block must only repeat productions of it, identically.
func loadDocGrammar(text string) (*docGrammar, error) {
	blocks, err := ebnfBlocks(text)
	if err != nil {
		return nil, err
	}
	parsed := make([]ebnf.Grammar, len(blocks))
	full := -1
	for i, b := range blocks {
		// Pad with the lines above the block so that positions in
		// errors are lines of the doc.
		g, err := ebnf.Parse(languageDoc, strings.NewReader(strings.Repeat("\n", b.line)+b.src))
		if err != nil {
			return nil, fmt.Errorf("ebnf block at %s:%d:%s", languageDoc, b.line, ebnfErrors(err))
		}
		if len(g) == 0 {
			return nil, fmt.Errorf("ebnf block at %s:%d has no production", languageDoc, b.line)
		}
		parsed[i] = g
		if g[grammarStart] != nil {
			if full >= 0 {
				return nil, fmt.Errorf("%s:%d and %s:%d both define %s", languageDoc, blocks[full].line, languageDoc, b.line, grammarStart)
			}
			full = i
		}
	}
	if full < 0 {
		return nil, fmt.Errorf("no ebnf block of %s defines %s (the grammar of §3)", languageDoc, grammarStart)
	}
	dg := &docGrammar{g: ebnf.Grammar{}, blocks: len(blocks), supplied: map[string]bool{}}
	for name, p := range parsed[full] {
		dg.g[name] = p
	}
	var repeats []int
	for i, g := range parsed {
		if i == full {
			continue
		}
		var known, fresh []string
		for name := range g {
			if dg.g[name] != nil {
				known = append(known, name)
			} else {
				fresh = append(fresh, name)
			}
		}
		switch {
		case len(fresh) == 0:
			repeats = append(repeats, i)
		case len(known) == 0:
			for name, p := range g {
				dg.g[name] = p
			}
		default:
			sort.Strings(known)
			sort.Strings(fresh)
			return nil, fmt.Errorf("ebnf block at %s:%d repeats %v and defines %v: a block either repeats productions or adds new ones", languageDoc, blocks[i].line, known, fresh)
		}
	}
	dg.fromDoc = len(dg.g)

	used := referencedNames(dg.g)
	for _, s := range suppliedTerminals {
		if p := dg.g[s.name]; p != nil {
			return nil, fmt.Errorf("%s: %s is defined in the doc now (the test supplied it from %s): remove it from suppliedTerminals in doctest/ebnf_test.go", p.Pos(), s.name, s.where)
		}
		if !used[s.name] {
			return nil, fmt.Errorf("the doc's grammar no longer uses %s: remove it from suppliedTerminals in doctest/ebnf_test.go", s.name)
		}
		g, err := ebnf.Parse("supplied "+s.name, strings.NewReader(s.ebnf))
		if err != nil {
			return nil, fmt.Errorf("supplied production %s:%s", s.name, ebnfErrors(err))
		}
		p := g[s.name]
		if len(g) != 1 || p == nil {
			return nil, fmt.Errorf("supplied production %q must define exactly %s", s.ebnf, s.name)
		}
		dg.g[s.name] = p
		dg.supplied[s.name] = true
	}
	if err := ebnf.Verify(dg.g, grammarStart); err != nil {
		return nil, fmt.Errorf("the grammar of %s does not verify:%s", languageDoc, ebnfErrors(err))
	}

	for _, i := range repeats {
		names := sortedNames(parsed[i])
		for _, name := range names {
			here, want := parsed[i][name], dg.g[name]
			if !sameExpr(here.Expr, want.Expr, dg.g, 8) {
				return nil, fmt.Errorf("%s: %s differs from its definition at %s:\n\there: %s = %s .\n\tthere: %s = %s .",
					here.Pos(), name, want.Pos(), name, exprString(here.Expr), name, exprString(want.Expr))
			}
			dg.repeats++
		}
	}
	return dg, nil
}

// ebnfErrors lists every error of an ebnf error list, sorted, one a
// line: its Error method shows the first only, and Verify finds them in
// map order.
func ebnfErrors(err error) string {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Slice {
		return " " + err.Error()
	}
	var msgs []string
	for i := 0; i < v.Len(); i++ {
		if e, ok := v.Index(i).Interface().(error); ok {
			msgs = append(msgs, e.Error())
		}
	}
	sort.Strings(msgs)
	return "\n\t" + strings.Join(msgs, "\n\t")
}

func sortedNames(g ebnf.Grammar) []string {
	names := make([]string, 0, len(g))
	for name := range g {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// referencedNames is the set of names the productions of g refer to.
func referencedNames(g ebnf.Grammar) map[string]bool {
	used := map[string]bool{}
	var walk func(ebnf.Expression)
	walk = func(e ebnf.Expression) {
		switch x := e.(type) {
		case ebnf.Alternative:
			for _, y := range x {
				walk(y)
			}
		case ebnf.Sequence:
			for _, y := range x {
				walk(y)
			}
		case *ebnf.Name:
			used[x.String] = true
		case *ebnf.Group:
			walk(x.Body)
		case *ebnf.Option:
			walk(x.Body)
		case *ebnf.Repetition:
			walk(x.Body)
		}
	}
	for _, p := range g {
		walk(p.Expr)
	}
	return used
}

// ungroup drops parentheses: the parsed tree already holds the grouping.
func ungroup(e ebnf.Expression) ebnf.Expression {
	for {
		g, ok := e.(*ebnf.Group)
		if !ok {
			return e
		}
		e = g.Body
	}
}

// sameExpr reports whether a and b are the same expression, up to
// parentheses and to a name of g written out as its production (§4.1
// writes MapKind as ( "sockmap" | "sockhash" )); expand bounds how many
// names are written out.
func sameExpr(a, b ebnf.Expression, g ebnf.Grammar, expand int) bool {
	a, b = ungroup(a), ungroup(b)
	an, aName := a.(*ebnf.Name)
	bn, bName := b.(*ebnf.Name)
	switch {
	case aName && bName && an.String == bn.String:
		return true
	case aName && g[an.String] != nil && expand > 0 && sameExpr(g[an.String].Expr, b, g, expand-1):
		return true
	case bName && g[bn.String] != nil && expand > 0 && sameExpr(a, g[bn.String].Expr, g, expand-1):
		return true
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case ebnf.Alternative:
		y, ok := b.(ebnf.Alternative)
		return ok && sameList(x, y, g, expand)
	case ebnf.Sequence:
		y, ok := b.(ebnf.Sequence)
		return ok && sameList(x, y, g, expand)
	case *ebnf.Token:
		y, ok := b.(*ebnf.Token)
		return ok && x.String == y.String
	case *ebnf.Range:
		y, ok := b.(*ebnf.Range)
		return ok && x.Begin.String == y.Begin.String && x.End.String == y.End.String
	case *ebnf.Option:
		y, ok := b.(*ebnf.Option)
		return ok && sameExpr(x.Body, y.Body, g, expand)
	case *ebnf.Repetition:
		y, ok := b.(*ebnf.Repetition)
		return ok && sameExpr(x.Body, y.Body, g, expand)
	}
	return false
}

func sameList(a, b []ebnf.Expression, g ebnf.Grammar, expand int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameExpr(a[i], b[i], g, expand) {
			return false
		}
	}
	return true
}

// exprString prints an expression in a normalized form.
func exprString(e ebnf.Expression) string {
	switch x := e.(type) {
	case nil:
		return ""
	case ebnf.Alternative:
		s := make([]string, len(x))
		for i, y := range x {
			s[i] = exprString(y)
		}
		return strings.Join(s, " | ")
	case ebnf.Sequence:
		s := make([]string, len(x))
		for i, y := range x {
			s[i] = exprString(y)
		}
		return strings.Join(s, " ")
	case *ebnf.Name:
		return x.String
	case *ebnf.Token:
		return strconv.Quote(x.String)
	case *ebnf.Range:
		return strconv.Quote(x.Begin.String) + " … " + strconv.Quote(x.End.String)
	case *ebnf.Group:
		return "( " + exprString(x.Body) + " )"
	case *ebnf.Option:
		return "[ " + exprString(x.Body) + " ]"
	case *ebnf.Repetition:
		return "{ " + exprString(x.Body) + " }"
	}
	return fmt.Sprintf("<%T>", e)
}

// TestLanguageGrammarEBNF verifies the grammar of docs/language.md and
// parses sentences derived from it.
func TestLanguageGrammarEBNF(t *testing.T) {
	for _, name := range deriveIdents {
		if scanner.IsKeyword(name) {
			t.Fatalf("deriveIdents holds the keyword %q", name)
		}
	}
	text, err := os.ReadFile(languageDoc)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := loadDocGrammar(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if dg.blocks < 5 || dg.repeats < 4 || dg.fromDoc < 30 {
		t.Errorf("found %d ebnf blocks, %d productions, %d repeated: the reference should keep its grammar", dg.blocks, dg.fromDoc, dg.repeats)
	}
	const sentences = 4000
	st, err := deriveAndParse(dg.g, sentences, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("language: %d ebnf productions verified, %d sentences derived from the grammar parsed", dg.fromDoc, st.sentences)
	t.Logf("language: ebnf blocks %d, repeated productions equal to §3: %d, supplied terminals: %d", dg.blocks, dg.repeats, len(dg.supplied))
	t.Logf("language: derived tokens %d, derived sentences formatted %d, set aside for repeating a map option (§4.1 prose) %d",
		st.tokens, st.formatted, st.prose)
}

// TestLanguageGrammarEBNFCatchesDrift feeds altered copies of the doc to
// the checks above: each must fail.
func TestLanguageGrammarEBNFCatchesDrift(t *testing.T) {
	b, err := os.ReadFile(languageDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	tests := []struct {
		name        string
		old, new    string // every occurrence of old is replaced
		derive      bool   // the altered grammar verifies, deriving from it fails
		wantInError string
	}{
		{"repeat drifts from §3",
			"Redirect = \"redirect\" ( \"peer\" | [ ident ] Key ) [ \"ingress\" ] .",
			"Redirect = \"redirect\" ( \"peer\" | [ ident ] Key ) .", false, "Redirect differs"},
		{"undefined production",
			"Body       = Block\n", "Body       = Blocks\n", false, "missing production Blocks"},
		{"unreachable production",
			"Item       = MapDecl | Handler .", "Item       = Handler .", false, "MapDecl is unreachable"},
		{"supplied terminal defined in the doc",
			"hex_lit     = ", "ipv4_lit    = int_lit .\nhex_lit     = ", false, "ipv4_lit is defined in the doc now"},
		{"no finite sentence",
			"Primary    = int_lit | ipv4_lit | ident | \"(\" Expr \")\" .", "Primary    = \"(\" Expr \")\" .", true, "derives no finite sentence"},
		{"supplied terminal unused",
			"hex_digit { hex_digit } .", "decimal_lit .", false, "no longer uses hex_digit"},
		{"grammar allows if after if's colon",
			"LineStmt   = \"if\" Expr \":\" Simple\n", "LineStmt   = \"if\" Expr \":\" LineStmt\n", true, "the parser rejects"},
		{"grammar allows leading zeros",
			"decimal_lit = \"0\" | ( \"1\" … \"9\" ) { \"0\" … \"9\" } .", "decimal_lit = ( \"0\" … \"9\" ) { \"0\" … \"9\" } .", true, "leading zero"},
		{"grammar allows a colon without options",
			"[ \":\" MapOption { \",\" MapOption } ]", "[ \":\" [ MapOption { \",\" MapOption } ] ]", true, "the parser rejects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(doc, tc.old) {
				t.Fatalf("%s no longer contains %q: update this test", languageDoc, tc.old)
			}
			altered := strings.ReplaceAll(doc, tc.old, tc.new)
			dg, err := loadDocGrammar(altered)
			if tc.derive {
				if err != nil {
					t.Fatalf("the altered grammar should verify: %v", err)
				}
				_, err = deriveAndParse(dg.g, 500, 1)
			}
			if err == nil {
				t.Fatal("the altered doc passes")
			}
			if !strings.Contains(err.Error(), tc.wantInError) {
				t.Fatalf("error lacks %q:\n%v", tc.wantInError, err)
			}
			t.Logf("caught: %v", err)
		})
	}
	t.Run("few sentences miss choices", func(t *testing.T) {
		dg, err := loadDocGrammar(doc)
		if err != nil {
			t.Fatal(err)
		}
		_, err = deriveAndParse(dg.g, 3, 1)
		if err == nil || !strings.Contains(err.Error(), "never took these choices") {
			t.Fatalf("3 sentences took every choice of the grammar? %v", err)
		}
	})
	if _, err := loadDocGrammar("no grammar here\n"); err == nil {
		t.Error("a doc without ebnf blocks passes")
	}
}
