package scanner

import "testing"

// TestBareCR checks old Mac line endings: in a file without \n, one error
// at the first \r that ends a line, and the rest of the file read with \r
// as a line ending; a \r among trailing blanks, or in a file with \n, is
// still a blank.
func TestBareCR(t *testing.T) {
	tests := []struct {
		name, src, errs, toks string
	}{
		{"CR only", "a\rb:\r    c\r", "1:2: line ends with a bare CR (old Mac line ending); sockc wants LF or CRLF",
			"Ident(a) NL Ident(b) : NL IN Ident(c) NL DE EOF"},
		{"reported once", "a\rb\rc\r\rd", "1:2: line ends with a bare CR (old Mac line ending); sockc wants LF or CRLF",
			"Ident(a) NL Ident(b) NL Ident(c) NL Ident(d) NL EOF"},
		{"after trailing blanks", "a \t\rb", "1:4: line ends with a bare CR (old Mac line ending); sockc wants LF or CRLF",
			"Ident(a) NL Ident(b) NL EOF"},
		{"ends a comment", "# x\rb", "1:4: line ends with a bare CR (old Mac line ending); sockc wants LF or CRLF",
			"Ident(b) NL EOF"},
		{"CRLF", "a\r\nb\r\n", "", "Ident(a) NL Ident(b) NL EOF"},
		{"CR before CRLF is a blank", "a\r\r\nb \r \n", "", "Ident(a) NL Ident(b) NL EOF"},
		{"CR at the end of the file is a blank", "a\r", "", "Ident(a) NL EOF"},
		{"CR inside a line of a file with LF is a blank", "a \r b\r\n", "", "Ident(a) Ident(b) NL EOF"},
		{"CR between lines of a file with LF is a blank", "a\rb\n", "", "Ident(a) Ident(b) NL EOF"},
		{"comment in a file with LF runs to LF", "# x\rb\nc", "", "Ident(c) NL EOF"},
		{"comment before CRLF", "# x\r\nb\n", "", "Ident(b) NL EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			if got := show(res.Tokens); got != tt.toks {
				t.Errorf("tokens:\n%s\nwant:\n%s", got, tt.toks)
			}
		})
	}
}

// TestCommentsEndAtBareCR checks that a comment of a file with old Mac line
// endings stops at a \r.
func TestCommentsEndAtBareCR(t *testing.T) {
	res, _ := scan(t, "# one\r# two\r")
	if len(res.Comments) != 2 || res.Comments[0].Text != "# one" || res.Comments[1].Text != "# two" {
		t.Errorf("comments %+v, want # one and # two", res.Comments)
	}
}
