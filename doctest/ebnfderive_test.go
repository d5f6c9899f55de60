package doctest

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/exp/ebnf"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/format"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// Sentences derived at random from the grammar of docs/language.md, for
// ebnf_test.go: the deriver, the rendering of its tokens as sockc
// text, and the parse of each sentence.

// isLexical reports whether a production is lexical (its name starts in
// lower case, as in the Go specification): its tokens form one word.
func isLexical(name string) bool {
	r, _ := utf8.DecodeRuneInString(name)
	return !unicode.IsUpper(r)
}

// Layout tokens in a derived token list.
const (
	tokNewline = "\x00NEWLINE"
	tokIndent  = "\x00INDENT"
	tokDedent  = "\x00DEDENT"
)

// Sample spellings for the token classes the test renders itself. The
// names are identifiers, not keywords: hook words, fields, type names.
var (
	deriveIdents = []string{"m", "socks", "size", "local_port", "msg", "verdict", "ip4", "inet", "x_1", "_t"}
	deriveIPv4s  = []string{"10.0.0.1", "0.0.0.0", "127.0.0.1", "192.168.0.0", "255.255.255.255"}
)

// deriver derives random sentences from a grammar.
type deriver struct {
	g        ebnf.Grammar
	rng      *rand.Rand
	cost     map[string]int  // tokens and expansions of the cheapest derivation
	taken    map[string]bool // choices made, by position in the doc
	maxDepth int
	maxToks  int
	toks     []string
}

// renderedClasses are the names the deriver spells itself instead of
// expanding their productions.
var renderedClasses = map[string]func(d *deriver) string{
	"ident":    func(d *deriver) string { return deriveIdents[d.rng.IntN(len(deriveIdents))] },
	"ipv4_lit": func(d *deriver) string { return deriveIPv4s[d.rng.IntN(len(deriveIPv4s))] },
	"NEWLINE":  func(*deriver) string { return tokNewline },
	"INDENT":   func(*deriver) string { return tokIndent },
	"DEDENT":   func(*deriver) string { return tokDedent },
}

const infiniteCost = 1 << 30

// newDeriver computes the cost of the cheapest derivation of every
// production: when deep, the deriver takes the cheapest choice, which
// ends. A production without a finite derivation is an error.
func newDeriver(g ebnf.Grammar, seed uint64) (*deriver, error) {
	d := &deriver{g: g, rng: rand.New(rand.NewPCG(seed, 0x5eed)), cost: map[string]int{}, taken: map[string]bool{}}
	for name := range g {
		d.cost[name] = infiniteCost
	}
	for changed := true; changed; {
		changed = false
		for name, p := range g {
			c := 1
			if renderedClasses[name] == nil {
				c = min(infiniteCost, 1+d.exprCost(p.Expr))
			}
			if c < d.cost[name] {
				d.cost[name], changed = c, true
			}
		}
	}
	for _, name := range sortedNames(g) {
		if d.cost[name] >= infiniteCost {
			return nil, fmt.Errorf("%s: %s derives no finite sentence", g[name].Pos(), name)
		}
	}
	return d, nil
}

func (d *deriver) exprCost(e ebnf.Expression) int {
	switch x := e.(type) {
	case ebnf.Alternative:
		c := infiniteCost
		for _, y := range x {
			c = min(c, d.exprCost(y))
		}
		return c
	case ebnf.Sequence:
		c := 0
		for _, y := range x {
			c = min(infiniteCost, c+d.exprCost(y))
		}
		return c
	case *ebnf.Name:
		return d.cost[x.String]
	case *ebnf.Token, *ebnf.Range:
		return 1
	case *ebnf.Group:
		return d.exprCost(x.Body)
	}
	return 0 // nil, Option, Repetition
}

// choices lists the choices of the productions the deriver expands: each
// alternative, and each option and repetition taken at least once.
func (d *deriver) choices() []string {
	var keys []string
	var walk func(ebnf.Expression)
	walk = func(e ebnf.Expression) {
		switch x := e.(type) {
		case ebnf.Alternative:
			for _, y := range x {
				keys = append(keys, y.Pos().String())
				walk(y)
			}
		case ebnf.Sequence:
			for _, y := range x {
				walk(y)
			}
		case *ebnf.Group:
			walk(x.Body)
		case *ebnf.Option:
			keys = append(keys, x.Pos().String())
			walk(x.Body)
		case *ebnf.Repetition:
			keys = append(keys, x.Pos().String())
			walk(x.Body)
		}
	}
	for _, name := range sortedNames(d.g) {
		if renderedClasses[name] == nil {
			walk(d.g[name].Expr)
		}
	}
	return keys
}

// sentence derives one sentence of start and renders it as source text.
func (d *deriver) sentence(start string) string {
	for {
		d.toks = d.toks[:0]
		d.maxDepth = 12 + d.rng.IntN(24)
		d.maxToks = 40 + d.rng.IntN(200)
		d.name(start, 0, nil)
		if len(d.toks) > 0 {
			// The empty file is a sentence too, but says nothing.
			return renderDerived(d.toks)
		}
	}
}

// name derives the production name; word collects the characters of a
// lexical production, which make one token.
func (d *deriver) name(name string, depth int, word *strings.Builder) {
	if r := renderedClasses[name]; r != nil {
		if word != nil {
			word.WriteString(r(d))
		} else {
			d.toks = append(d.toks, r(d))
		}
		return
	}
	if word == nil && isLexical(name) {
		var w strings.Builder
		d.expr(d.g[name].Expr, depth+1, &w)
		d.toks = append(d.toks, w.String())
		return
	}
	d.expr(d.g[name].Expr, depth+1, word)
}

func (d *deriver) deep(depth int) bool {
	return depth > d.maxDepth || len(d.toks) > d.maxToks
}

func (d *deriver) expr(e ebnf.Expression, depth int, word *strings.Builder) {
	switch x := e.(type) {
	case ebnf.Alternative:
		i := d.rng.IntN(len(x))
		if d.deep(depth) {
			for j := range x {
				if d.exprCost(x[j]) < d.exprCost(x[i]) {
					i = j
				}
			}
		}
		d.taken[x[i].Pos().String()] = true
		d.expr(x[i], depth, word)
	case ebnf.Sequence:
		for _, y := range x {
			d.expr(y, depth, word)
		}
	case *ebnf.Name:
		d.name(x.String, depth, word)
	case *ebnf.Token:
		if word != nil {
			word.WriteString(x.String)
		} else {
			d.toks = append(d.toks, x.String)
		}
	case *ebnf.Range:
		lo, _ := utf8.DecodeRuneInString(x.Begin.String)
		hi, _ := utf8.DecodeRuneInString(x.End.String)
		r := string(lo + d.rng.Int32N(hi-lo+1))
		if word != nil {
			word.WriteString(r)
		} else {
			d.toks = append(d.toks, r)
		}
	case *ebnf.Group:
		d.expr(x.Body, depth, word)
	case *ebnf.Option:
		if !d.deep(depth) && d.rng.IntN(2) == 0 {
			d.taken[x.Pos().String()] = true
			d.expr(x.Body, depth, word)
		}
	case *ebnf.Repetition:
		// At most 3 rounds, fewer ever more likely: sentences stay
		// small, and a literal stays far below 2^64.
		for n := 0; n < 3 && !d.deep(depth) && d.rng.IntN(2) == 0; n++ {
			d.taken[x.Pos().String()] = true
			d.expr(x.Body, depth, word)
		}
	}
}

// renderDerived writes tokens as source: one space between tokens, a line break
// for NEWLINE, 4 more spaces of indentation per open INDENT.
func renderDerived(toks []string) string {
	var b strings.Builder
	depth, bol := 0, true
	for _, t := range toks {
		switch t {
		case tokNewline:
			b.WriteString("\n")
			bol = true
		case tokIndent:
			depth++
		case tokDedent:
			depth--
		default:
			if bol {
				b.WriteString(strings.Repeat("    ", max(depth, 0)))
				bol = false
			} else {
				b.WriteString(" ")
			}
			b.WriteString(t)
		}
	}
	return b.String()
}

// proseRules are diagnostics of the parser for rules the doc states in
// prose, not in the grammar: §4.1, each map option at most once.
var proseRules = regexp.MustCompile(`^(key type|max) of map \w+ given twice$`)

// deriveStats counts the sentences derived.
type deriveStats struct {
	sentences int // parsed without a diagnostic
	prose     int // set aside: only a proseRules diagnostic
	formatted int
	tokens    int
}

// deriveAndParse derives sentences from g and parses each with the parser
// (no checker: types and names do not matter) until n parse cleanly;
// sentences that break only a proseRules rule are set aside. It returns
// the shortest sentence the parser rejects, with its diagnostics, as an
// error, and checks that the derivations took every choice of the grammar.
func deriveAndParse(g ebnf.Grammar, n int, seed uint64) (deriveStats, error) {
	var st deriveStats
	d, err := newDeriver(g, seed)
	if err != nil {
		return st, err
	}
	var worst string
	var worstDiags diag.List
	rejected := 0
	// Bounded, should most derived sentences fail.
	for tries := 0; st.sentences < n && tries < 2*n; tries++ {
		src := d.sentence(grammarStart)
		st.tokens += len(d.toks)
		f := token.NewFile("derived.sock", []byte(src))
		errs := diag.NewCollector(f)
		parser.ParseFile(f, errs)
		bad := diag.List{}
		prose := false
		for _, e := range errs.List().Errors() {
			if proseRules.MatchString(e.Message) {
				prose = true
			} else {
				bad = append(bad, e)
			}
		}
		switch {
		case len(bad) > 0:
			rejected++
			if worst == "" || len(src) < len(worst) {
				worst, worstDiags = src, bad
			}
			continue
		case prose:
			st.prose++
			continue
		}
		st.sentences++
		if st.sentences%10 == 0 {
			// Formatting needs a file that parses: the derived
			// ones must format too.
			if _, err := format.Source("derived.sock", []byte(src)); err != nil {
				return st, fmt.Errorf("format.Source fails on a derived sentence that parses:\n%s\n%v", src4(src), err)
			}
			st.formatted++
		}
	}
	if rejected > 0 {
		var text strings.Builder
		worstDiags.Format(&text)
		return st, fmt.Errorf("the parser rejects %d of %d sentences derived from the grammar of %s; the shortest:\n%s\n%s",
			rejected, rejected+st.sentences+st.prose, languageDoc, src4(worst), text.String())
	}
	if st.sentences < n {
		return st, fmt.Errorf("only %d of %d derived sentences parse without a diagnostic", st.sentences, st.sentences+st.prose)
	}
	var missed []string
	for _, k := range d.choices() {
		if !d.taken[k] {
			missed = append(missed, k)
		}
	}
	if len(missed) > 0 {
		return st, fmt.Errorf("%d sentences never took these choices of the grammar (alternatives, options, repetitions): %v", st.sentences+st.prose, missed)
	}
	return st, nil
}

// src4 indents a source text to quote it in a message.
func src4(src string) string {
	return "\t" + strings.ReplaceAll(strings.TrimSuffix(src, "\n"), "\n", "\n\t")
}
