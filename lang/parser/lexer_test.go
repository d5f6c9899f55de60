package parser

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// TestTokenTypes checks that every kind the scanner returns has its own
// participle type, named as the kind is, and that EOF is participle's.
func TestTokenTypes(t *testing.T) {
	seen := map[lexer.TokenType]token.Kind{}
	for _, k := range token.Kinds() {
		typ, ok := lexTypes[k]
		if !ok {
			t.Errorf("kind %s has no participle type", k)
			continue
		}
		if prev, dup := seen[typ]; dup {
			t.Errorf("%s and %s share token type %d", prev, k, typ)
		}
		seen[typ] = k
		if got := (definition{}).Symbols()[k.String()]; got != typ {
			t.Errorf("Symbols()[%q] = %d, want %d", k, got, typ)
		}
	}
	if len(lexTypes) != len(token.Kinds()) || len(symbols) != len(lexTypes) {
		t.Errorf("%d kinds, %d types, %d symbols", len(token.Kinds()), len(lexTypes), len(symbols))
	}
	if (definition{}).Symbols()["EOF"] != lexer.EOF {
		t.Error("EOF is not participle's EOF")
	}
	for _, name := range []string{"Newline", "Indent", "Dedent", "Keyword", "Ident", "Int", "IPv4", "Punct"} {
		if _, ok := (definition{}).Symbols()[name]; !ok {
			t.Errorf("Symbols() lacks %s, which the grammar and the messages name", name)
		}
	}
}

// showLex renders participle tokens as the scanner's tests render tokens:
// layout by name, punctuation as written, others as Kind(text).
func showLex(toks []lexer.Token) string {
	names := map[lexer.TokenType]string{}
	for name, typ := range symbols {
		names[typ] = name
	}
	var parts []string
	for _, tok := range toks {
		switch tok.Type {
		case tNewline:
			parts = append(parts, "NL")
		case tIndent:
			parts = append(parts, "IN")
		case tDedent:
			parts = append(parts, "DE")
		case tEOF:
			parts = append(parts, "EOF")
		case tPunct:
			parts = append(parts, tok.Value)
		default:
			parts = append(parts, fmt.Sprintf("%s(%s)", names[tok.Type], tok.Value))
		}
	}
	return strings.Join(parts, " ")
}

// TestLexTokens checks the conversion of the scanner's tokens: types,
// values, and the positions participle's errors report.
func TestLexTokens(t *testing.T) {
	src := "on msg to m:\n\tpass # x\r\n"
	f := token.NewFile("l.sock", []byte(src))
	toks := lexTokens(f, scanner.Scan(f, diag.NewCollector(f)).Tokens)
	if got, want := showLex(toks), "Keyword(on) Ident(msg) Keyword(to) Ident(m) : NL IN Keyword(pass) NL DE EOF"; got != want {
		t.Errorf("tokens:\n got %s\nwant %s", got, want)
	}
	type pos struct{ off, line, col int }
	var got []pos
	for _, tok := range toks {
		if tok.Pos.Filename != "l.sock" {
			t.Errorf("token %q has file name %q", tok.Value, tok.Pos.Filename)
		}
		got = append(got, pos{tok.Pos.Offset, tok.Pos.Line, tok.Pos.Column})
	}
	want := []pos{{0, 1, 1}, {3, 1, 4}, {7, 1, 8}, {10, 1, 11}, {11, 1, 12}, {12, 1, 13},
		{14, 2, 2}, {14, 2, 2}, {23, 2, 11}, {24, 3, 1}, {24, 3, 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("positions (offset, line, column):\n got %v\nwant %v", got, want)
	}
}

func TestDefinitionLex(t *testing.T) {
	lx, err := definition{}.Lex("ok.sock", strings.NewReader("on msg to m:\n  pass\n"))
	if err != nil {
		t.Fatalf("Lex: %v", err)
	}
	var toks []lexer.Token
	for {
		tok, err := lx.Next()
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
		if tok.EOF() {
			break
		}
		if len(toks) > 100 {
			t.Fatal("no EOF")
		}
	}
	if got, want := showLex(toks), "Keyword(on) Ident(msg) Keyword(to) Ident(m) : NL IN Keyword(pass) NL DE EOF"; got != want {
		t.Errorf("tokens:\n got %s\nwant %s", got, want)
	}
	if toks[0].Pos.Filename != "ok.sock" {
		t.Errorf("file name = %q", toks[0].Pos.Filename)
	}

	_, err = definition{}.Lex("bad.sock", strings.NewReader("a $\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.sock:1:3: invalid character '$'") {
		t.Errorf("Lex of a bad file: err = %v", err)
	}
	_, err = definition{}.Lex("r.sock", errReader{})
	if err == nil || !strings.Contains(err.Error(), "read r.sock") {
		t.Errorf("Lex of a failing reader: err = %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestTokenLexer(t *testing.T) {
	eof := lexer.EOFToken(lexer.Position{Offset: 7, Line: 2, Column: 3})
	toks := []lexer.Token{{Type: tIdent, Value: "a"}, {Type: tNewline, Value: "\n"}, eof}
	lx := newTokenLexer(toks)
	for i, want := range []lexer.Token{toks[0], toks[1], eof, eof, eof} {
		got, err := lx.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Next() #%d = %+v, want %+v", i, got, want)
		}
	}
	empty := newTokenLexer(nil)
	for range 2 {
		got, err := empty.Next()
		if err != nil || !got.EOF() {
			t.Errorf("empty tokenLexer: Next() = %+v, %v; want EOF", got, err)
		}
	}
}
