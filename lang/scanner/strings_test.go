package scanner

import (
	"testing"

	"github.com/sockc/sockc/lang/token"
)

// TestStringLiterals checks that a quoted string is one error over the
// whole literal, and that a string holding one name or number stands in
// for it, so that the line parses as meant.
func TestStringLiterals(t *testing.T) {
	tests := []struct {
		name, src, errs, hint, toks string
	}{
		{"name", `count "hits"`, "1:7: sockc has no string literals", "write it without quotes: hits",
			"Keyword(count) Ident(hits) NL EOF"},
		{"address", `x == "10.0.0.1"`, "1:6: sockc has no string literals", "write it without quotes: 10.0.0.1",
			"Ident(x) == IPv4(10.0.0.1) NL EOF"},
		{"single quotes", `count 'a'`, "1:7: sockc has no string literals", "write it without quotes: a",
			"Keyword(count) Ident(a) NL EOF"},
		{"keyword", `"pass"`, "1:1: sockc has no string literals", "write it without quotes: pass",
			"Keyword(pass) NL EOF"},
		{"two words", `count "a b" x`, "1:7: sockc has no string literals", "names, numbers and addresses are written without quotes",
			"Keyword(count) Ident(x) NL EOF"},
		{"empty", `count ""`, "1:7: sockc has no string literals", "names, numbers and addresses are written without quotes",
			"Keyword(count) NL EOF"},
		{"unclosed", "count \"abc\nx", "1:7: sockc has no string literals", "names, numbers and addresses are written without quotes",
			"Keyword(count) NL Ident(x) NL EOF"},
		{"escaped quote", `count "a\"b" x`, "1:7: sockc has no string literals", "names, numbers and addresses are written without quotes",
			"Keyword(count) Ident(x) NL EOF"},
		{"only a string on the line", "\"a b\"\nx", "1:1: sockc has no string literals", "names, numbers and addresses are written without quotes",
			"Ident(x) NL EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Fatalf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if diags[0].Hint != tt.hint {
				t.Errorf("hint %q, want %q", diags[0].Hint, tt.hint)
			}
			if got := show(res.Tokens); got != tt.toks {
				t.Errorf("tokens:\n%s\nwant:\n%s", got, tt.toks)
			}
		})
	}
}

// TestStringLiteralSpan checks that the error spans the literal, quotes
// included, and that the standing-in token is the source inside them.
func TestStringLiteralSpan(t *testing.T) {
	res, diags := scan(t, `sockhash "m"`)
	if len(diags) != 1 || diags[0].Pos.Column != 10 || diags[0].End.Column != 13 {
		t.Fatalf("diagnostics %v, want one from column 10 to 13", diags)
	}
	if tok := res.Tokens[1]; tok.Text != "m" || tok.Pos != token.PosOf(10) {
		t.Errorf("token %q at offset %d, want m at 10", tok.Text, tok.Pos.Offset())
	}
}
