package editors

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/mdfence"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// source is a sockc text to tokenize both ways.
type source struct {
	name string
	src  []byte
}

// sources returns the examples, the golden test inputs and the code blocks
// of docs/language.md: valid and invalid sockc, including the lexical
// errors the grammar marks as invalid.
func sources(t *testing.T) []source {
	t.Helper()
	var out []source
	for _, glob := range []string{"../examples/*.sock", "../testdata/golden/*.sock"} {
		paths, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) == 0 {
			t.Fatalf("no files match %s", glob)
		}
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, source{p, src})
		}
	}
	blocks, err := mdfence.Read("../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if strings.HasPrefix(b.Info, "sock") {
			out = append(out, source{fmt.Sprintf("docs/language.md:%d", b.Line), []byte(b.Body())})
		}
	}
	return out
}

// acceptedPunct are the operators and punctuation of docs/language.md §2.7
// that the grammar of the language accepts; the scanner's other punctuation
// tokens are errors wherever they appear.
var acceptedPunct = map[string]bool{
	"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true,
	"+": true, "-": true, "|": true, "^": true, "<<": true, ">>": true, "&": true,
	"(": true, ")": true, ",": true, ":": true, "/": true, "..": true,
}

// namers are the tokens after which a word names a map or a counter, not a
// field.
var namers = map[string]bool{"count": true, "sockmap": true, "sockhash": true, "update": true, "redirect": true, "to": true}

// TestGrammarTokenizesSources scans every source with lang/scanner and
// tokenizes each of its lines with the grammar, and checks that the
// grammar gives each scanner token the scope its kind calls for: keywords,
// integers (valid decimal or hex, or invalid), IPv4 literals (valid or
// not), comments and operators get a span of exactly their extent; field
// names (outside map and counter names) and the words of a valid hook in a
// handler header get theirs.
func TestGrammarTokenizesSources(t *testing.T) {
	g := loadGrammar(t)
	counts := map[string]int{}
	srcs := sources(t)
	for _, s := range srcs {
		f := token.NewFile(s.name, s.src)
		res := scanner.Scan(f, diag.NewCollector(f))
		lines := map[int][]span{}
		spansOf := func(n int) []span {
			if sp, ok := lines[n]; ok {
				return sp
			}
			lines[n] = g.tokenize(f.Line(n))
			return lines[n]
		}
		check := func(kind string, at token.Pos, text string, contain bool, prefixes ...string) {
			counts[kind]++
			pos := f.Position(at)
			spans := spansOf(pos.Line)
			st, e := pos.Column-1, pos.Column-1+len(text)
			ok := exact(spans, st, e, prefixes...)
			if contain {
				ok = within(spans, st, e, prefixes...)
			}
			if !ok {
				t.Errorf("%s:%d:%d: %s %q: want %s*, grammar gives %s\n\tline: %q",
					s.name, pos.Line, pos.Column, kind, text, strings.Join(prefixes, "* or "), describe(spans, st, e), f.Line(pos.Line))
			}
		}
		for _, c := range res.Comments {
			check("comment", c.Pos, c.Text, false, commentScope)
		}
		var prev token.Token
		var hookToks []token.Token // the words after an `on` in column 1
		inHeader := false
		for _, tok := range res.Tokens {
			if f.Position(prev.Pos).Line != f.Position(tok.Pos).Line {
				prev = token.Token{}
			}
			switch tok.Kind {
			case token.Keyword:
				check("keyword", tok.Pos, tok.Text, false, keywordScopes...)
			case token.Int:
				check("number", tok.Pos, tok.Text, false, intScope(tok.Text))
			case token.IPv4:
				check("address", tok.Pos, tok.Text, false, addrScope(tok.Text))
			case token.Punct:
				if acceptedPunct[tok.Text] {
					check("operator", tok.Pos, tok.Text, false, operatorScopes...)
				} else {
					check("operator", tok.Pos, tok.Text, false, badOperatorScope)
				}
			case token.Ident:
				if isField(tok.Text) && !namers[prev.Text] {
					check("field", tok.Pos, tok.Text, false, fieldScope)
				}
			}
			// The hook is the run of words after `on`; check its words
			// when the run ends, if they make a hook.
			switch {
			case tok.Kind == token.Keyword && tok.Text == "on" && f.Position(tok.Pos).Column == 1:
				inHeader, hookToks = true, nil
			case inHeader && tok.Kind == token.Ident:
				hookToks = append(hookToks, tok)
			case inHeader:
				var words []string
				for _, w := range hookToks {
					words = append(words, w.Text)
				}
				if hook.Parse(words) != hook.Invalid {
					for _, w := range hookToks {
						check("hook word", w.Pos, w.Text, true, hookScope)
					}
				}
				inHeader = false
			}
			prev = tok
		}
	}
	t.Logf("editors: grammar checked against the scanner: %d sources, %d tokens (keywords %d, numbers %d, addresses %d, comments %d, operators %d, fields %d, hook words %d)",
		len(srcs), counts["keyword"]+counts["number"]+counts["address"]+counts["comment"]+counts["operator"]+counts["field"]+counts["hook word"],
		counts["keyword"], counts["number"], counts["address"], counts["comment"], counts["operator"], counts["field"], counts["hook word"])
	for _, k := range []string{"keyword", "number", "address", "comment", "operator", "field", "hook word"} {
		if counts[k] == 0 {
			t.Errorf("the sources have no %s token: the check proves nothing for them", k)
		}
	}
}

func isField(s string) bool {
	for _, f := range hook.FieldNames() {
		if f == s {
			return true
		}
	}
	return false
}

// intScope is the scope an integer token calls for (docs/language.md
// §2.5): a decimal literal has no leading zero, a hex one is 0x and at
// least one hex digit, anything else is invalid.
func intScope(s string) string {
	allIn := func(s, set string) bool {
		for _, c := range s {
			if !strings.ContainsRune(set, c) {
				return false
			}
		}
		return s != ""
	}
	switch {
	case allIn(s, "0123456789") && (s == "0" || s[0] != '0'):
		return decimalScope
	case (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")) && allIn(s[2:], "0123456789abcdefABCDEF"):
		return hexScope
	}
	return badNumberScope
}

// addrScope is the scope a dotted number token calls for (§2.6): four
// decimal numbers 0..255 without leading zeros, as net/netip reads IPv4.
func addrScope(s string) string {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return ipv4Scope
	}
	return badIPv4Scope
}
