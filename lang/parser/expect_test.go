package parser

import (
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

func TestSplitElems(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`":" GSimple? <newline>`, []string{`":"`, `GSimple?`, `<newline>`}},
		{`("," GOr)* ")"`, []string{`("," GOr)*`, `")"`}},
		{`"(" ("," ")")+ x`, []string{`"("`, `("," ")")+`, `x`}},
		{`"\"" y`, []string{`"\""`, `y`}},
		{`  a   b  `, []string{`a`, `b`}},
		{``, nil},
	}
	for _, tt := range tests {
		got := splitElems(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitElems(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFirstExpected(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`":"`, []string{`":"`}},
		{`":" GSimple? <newline>`, []string{`":"`}},
		{`GSimple? <newline>`, []string{"a statement", "end of line"}},
		{`("," GOr)* ")"`, []string{`","`, `")"`}},
		{`<newline> <indent> GStmt+ <dedent>`, []string{"end of line"}},
		{`<indent> GStmt+`, []string{"an indented block"}},
		{`GOr`, []string{"an expression"}},
		{`GKey`, []string{"key(...)"}},
		{`GInt+ x`, []string{"a number"}},
		{`GOr? GAnd? GIdent`, []string{"an expression", "a name"}},
		{`Unknown`, []string{"Unknown"}},
	}
	for _, tt := range tests {
		got := firstExpected(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("firstExpected(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOrList(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a or b"},
		{[]string{"a", "b", "c"}, "a, b or c"},
	}
	for _, tt := range tests {
		if got := orList(tt.in); got != tt.want {
			t.Errorf("orList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		tok  lexer.Token
		want string
	}{
		{lexer.EOFToken(lexer.Position{}), "end of file"},
		{lexer.Token{Type: lexer.EOF, Value: nextItem}, "the next unindented line"},
		{lexer.Token{Type: tNewline, Value: "\n"}, "end of line"},
		{lexer.Token{Type: tIndent}, "indentation"},
		{lexer.Token{Type: tDedent}, "end of indented block"},
		{lexer.Token{Type: tKeyword, Value: "pass"}, `keyword "pass"`},
		{lexer.Token{Type: tIdent, Value: "x"}, `name "x"`},
		{lexer.Token{Type: tInt, Value: "0x1"}, "number 0x1"},
		{lexer.Token{Type: tIPv4, Value: "1.2.3.4"}, "number 1.2.3.4"},
		{lexer.Token{Type: tPunct, Value: "=="}, `"=="`},
	}
	for _, tt := range tests {
		if got := describe(tt.tok); got != tt.want {
			t.Errorf("describe(%+v) = %q, want %q", tt.tok, got, tt.want)
		}
	}
}
