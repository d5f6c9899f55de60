package scanner

import (
	"fmt"
	"strings"
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// scan tokenizes src and returns the tokens and the diagnostics.
func scan(t *testing.T, src string) (Result, diag.List) {
	t.Helper()
	f := token.NewFile("s.sock", []byte(src))
	c := diag.NewCollector(f)
	res := Scan(f, c)
	if n := len(res.Tokens); n == 0 || res.Tokens[n-1].Kind != token.EOF {
		t.Fatalf("token stream of %q does not end with EOF", src)
	}
	for _, tok := range res.Tokens[:len(res.Tokens)-1] {
		if tok.Kind == token.EOF {
			t.Fatalf("EOF before the end of the token stream of %q", src)
		}
	}
	return res, c.List()
}

// show renders tokens compactly: layout tokens by name, punctuation as
// written, other tokens as Kind(text).
func show(toks []token.Token) string {
	var parts []string
	for _, tok := range toks {
		switch tok.Kind {
		case token.Newline:
			parts = append(parts, "NL")
		case token.Indent:
			parts = append(parts, "IN")
		case token.Dedent:
			parts = append(parts, "DE")
		case token.EOF:
			parts = append(parts, "EOF")
		case token.Punct:
			parts = append(parts, tok.Text)
		default:
			parts = append(parts, fmt.Sprintf("%s(%s)", tok.Kind, tok.Text))
		}
	}
	return strings.Join(parts, " ")
}

// layout renders only the layout tokens and the first token of each line.
func layout(toks []token.Token) string {
	var parts []string
	prevNL := true
	for _, tok := range toks {
		switch tok.Kind {
		case token.Newline:
			parts = append(parts, "NL")
			prevNL = true
		case token.Indent:
			parts = append(parts, "IN")
		case token.Dedent:
			parts = append(parts, "DE")
		case token.EOF:
			parts = append(parts, "EOF")
		default:
			if prevNL {
				parts = append(parts, tok.Text)
			}
			prevNL = false
		}
	}
	return strings.Join(parts, " ")
}

func messages(l diag.List) string {
	var out []string
	for _, d := range l {
		out = append(out, fmt.Sprintf("%d:%d: %s", d.Pos.Line, d.Pos.Column, d.Message))
	}
	return strings.Join(out, "\n")
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{
			name: "map declaration",
			src:  "sockhash socks: key (ip4, port), max 65536\n",
			want: "Keyword(sockhash) Ident(socks) : Keyword(key) ( Ident(ip4) , Ident(port) ) , Keyword(max) Int(65536) NL EOF",
		},
		{
			name: "handler with block",
			src:  "on msg to socks:\n    if remote_ip4 in 10.0.0.0/8 and not size >= 0x10: drop\n",
			want: "Keyword(on) Ident(msg) Keyword(to) Ident(socks) : NL IN " +
				"Keyword(if) Ident(remote_ip4) Keyword(in) IPv4(10.0.0.0) / Int(8) Keyword(and) Keyword(not) Ident(size) >= Int(0x10) : Keyword(drop) NL DE EOF",
		},
		{
			name: "two-character operators",
			src:  "a == b != c <= d >= e << f >> g .. h",
			want: "Ident(a) == Ident(b) != Ident(c) <= Ident(d) >= Ident(e) << Ident(f) >> Ident(g) .. Ident(h) NL EOF",
		},
		{
			name: "one-character operators",
			src:  "+-&|^<>():,/=!.*%[]{};",
			want: "+ - & | ^ < > ( ) : , / = ! . * % [ ] { } ; NL EOF",
		},
		{
			name: "&& and || are single tokens (for the parser's hints)",
			src:  "a && b || c & d | e",
			want: "Ident(a) && Ident(b) || Ident(c) & Ident(d) | Ident(e) NL EOF",
		},
		{
			name: "range between integers",
			src:  "1..5",
			want: "Int(1) .. Int(5) NL EOF",
		},
		{
			name: "range with spaces",
			src:  "1 .. 65535",
			want: "Int(1) .. Int(65535) NL EOF",
		},
		{
			name: "comment is dropped",
			src:  "pass # redirect key(1)\n",
			want: "Keyword(pass) NL EOF",
		},
		{
			name: "underscores in names",
			src:  "_x remote_port x_1",
			want: "Ident(_x) Ident(remote_port) Ident(x_1) NL EOF",
		},
		{
			name: "empty file",
			src:  "",
			want: "EOF",
		},
		{
			name: "only blank and comment lines",
			src:  "\n   \n# c\n\t# d\n\n",
			want: "EOF",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			if len(diags) != 0 {
				t.Fatalf("unexpected diagnostics:\n%s", messages(diags))
			}
			if got := show(res.Tokens); got != tt.want {
				t.Errorf("tokens:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestKeywords(t *testing.T) {
	want := []string{
		"on", "to", "if", "else", "and", "or", "not", "in",
		"redirect", "peer", "ingress", "pass", "drop", "apply", "cork",
		"length", "update", "count", "key", "max", "sockmap", "sockhash",
	}
	if len(Keywords()) != len(want) {
		t.Errorf("Keywords() has %d words, want %d: %v", len(Keywords()), len(want), Keywords())
	}
	Keywords()[0] = "not_a_keyword" // a copy: the table stays
	if !IsKeyword(want[0]) || IsKeyword("not_a_keyword") || Keywords()[0] != want[0] {
		t.Error("changing the slice Keywords returned changed the keywords")
	}
	for _, k := range want {
		if !IsKeyword(k) {
			t.Errorf("IsKeyword(%q) = false", k)
		}
		res, diags := scan(t, k)
		if len(diags) != 0 || len(res.Tokens) != 3 || res.Tokens[0].Kind != token.Keyword || res.Tokens[0].Text != k {
			t.Errorf("scan(%q) = %s, want Keyword(%s) NL EOF", k, show(res.Tokens), k)
		}
	}
	// Hook words, field names, type names and near misses are identifiers.
	for _, id := range []string{
		"msg", "stream", "parser", "verdict", "skb", "established", "connect", "accept",
		"remote_port", "size", "family", "inet", "inet6", "u32", "u64", "ip4", "ip6", "port",
		"On", "IF", "keys", "passed", "sockmaps", "_on", "on_", "redirect2",
	} {
		if IsKeyword(id) {
			t.Errorf("IsKeyword(%q) = true", id)
		}
		res, _ := scan(t, id)
		if res.Tokens[0].Kind != token.Ident || res.Tokens[0].Text != id {
			t.Errorf("scan(%q) = %s, want Ident(%s)", id, show(res.Tokens), id)
		}
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"0", "Int(0)"},
		{"65535", "Int(65535)"},
		{"0x1F", "Int(0x1F)"},
		{"0X", "Int(0X)"},
		// Malformed numbers are one token; the parser rejects them.
		{"010", "Int(010)"},
		{"12ab", "Int(12ab)"},
		{"1_000", "Int(1_000)"},
		{"10.0.0.1", "IPv4(10.0.0.1)"},
		{"255.255.255.255", "IPv4(255.255.255.255)"},
		{"1.2.3", "IPv4(1.2.3)"},
		{"1.2.3.4.5", "IPv4(1.2.3.4.5)"},
		{"300.1.1.1", "IPv4(300.1.1.1)"},
		{"1.2.x.4", "IPv4(1.2.x.4)"},
		{"1.", "Int(1) ."},
		{"10.0.0.0/24", "IPv4(10.0.0.0) / Int(24)"},
		{"1..2", "Int(1) .. Int(2)"},
		{"x1", "Ident(x1)"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			res, _ := scan(t, tt.src)
			if got, want := show(res.Tokens), tt.want+" NL EOF"; got != want {
				t.Errorf("scan(%q) = %s, want %s", tt.src, got, want)
			}
		})
	}
}

func TestNewlines(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int // Newline tokens
	}{
		{"one line with newline", "pass\n", 1},
		{"one line without newline", "pass", 1},
		{"blank lines", "\n\npass\n\n\ndrop\n\n", 2},
		{"whitespace-only lines", "pass\n   \n\t\n  \t \ndrop", 2},
		{"comment-only lines", "# a\npass\n    # b\n# c\ndrop\n# d", 2},
		{"comment after content", "pass # x\ndrop # y", 2},
		{"CRLF", "pass\r\n\r\ndrop\r\n", 2},
		{"three content lines", "a\nb\nc\n", 3},
		{"only comments", "# a\n# b\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			if len(diags) != 0 {
				t.Fatalf("unexpected diagnostics:\n%s", messages(diags))
			}
			n := 0
			for i, tok := range res.Tokens {
				if tok.Kind != token.Newline {
					continue
				}
				n++
				if i == 0 || res.Tokens[i-1].Kind == token.Newline {
					t.Errorf("Newline not preceded by a content token: %s", show(res.Tokens))
				}
			}
			if n != tt.want {
				t.Errorf("%d Newline tokens, want %d: %s", n, tt.want, show(res.Tokens))
			}
		})
	}
}

func TestIndentation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{
			name: "flat",
			src:  "a\nb\n",
			want: "a NL b NL EOF",
		},
		{
			name: "one block",
			src:  "a:\n    b\n    c\nd\n",
			want: "a NL IN b NL c NL DE d NL EOF",
		},
		{
			name: "nested blocks closed one by one",
			src:  "a:\n  b:\n    c\n  d\ne\n",
			want: "a NL IN b NL IN c NL DE d NL DE e NL EOF",
		},
		{
			name: "dedent by three levels at once",
			src:  "a:\n    b:\n        c:\n            d\ne\n",
			want: "a NL IN b NL IN c NL IN d NL DE DE DE e NL EOF",
		},
		{
			name: "dedent by two of three levels",
			src:  "a:\n    b:\n        c:\n            d\n    e\n",
			want: "a NL IN b NL IN c NL IN d NL DE DE e NL DE EOF",
		},
		{
			name: "blocks closed at EOF without trailing newline",
			src:  "a:\n    b:\n        c",
			want: "a NL IN b NL IN c NL DE DE EOF",
		},
		{
			name: "blocks closed at EOF after trailing newline",
			src:  "a:\n\tb:\n\t\tc\n",
			want: "a NL IN b NL IN c NL DE DE EOF",
		},
		{
			name: "blank and comment lines do not change the level",
			src:  "a:\n    b\n\n# top-level comment\n  # odd comment\n\t\n    c\nd",
			want: "a NL IN b NL c NL DE d NL EOF",
		},
		{
			name: "tabs",
			src:  "a:\n\tb\n\t\tc\n\td\n",
			want: "a NL IN b NL IN c NL DE d NL DE EOF",
		},
		{
			name: "CRLF",
			src:  "a:\r\n    b\r\nc\r\n",
			want: "a NL IN b NL DE c NL EOF",
		},
		{
			name: "first line indented",
			src:  "  a\nb\n",
			want: "IN a NL DE b NL EOF",
		},
		{
			name: "indent after a line not ending in ':' is still an Indent",
			src:  "a\n  b\n",
			want: "a NL IN b NL DE EOF",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			if len(diags) != 0 {
				t.Fatalf("unexpected diagnostics:\n%s", messages(diags))
			}
			if got := layout(res.Tokens); got != tt.want {
				t.Errorf("layout:\n got %s\nwant %s", got, tt.want)
			}
			depth := 0
			for _, tok := range res.Tokens {
				switch tok.Kind {
				case token.Indent:
					depth++
				case token.Dedent:
					depth--
				}
				if depth < 0 {
					t.Fatalf("more Dedent than Indent tokens: %s", show(res.Tokens))
				}
			}
			if depth != 0 {
				t.Errorf("%d blocks left open at EOF", depth)
			}
		})
	}
}

type tokPos struct {
	typ                  string
	value                string
	line, column, offset int
}

// positions resolves the positions of tokens scanned from src.
func positions(src string, toks []token.Token) []tokPos {
	f := token.NewFile("s.sock", []byte(src))
	var out []tokPos
	for _, tok := range toks {
		p := f.Position(tok.Pos)
		out = append(out, tokPos{tok.Kind.String(), tok.Text, p.Line, p.Column, tok.Pos.Offset()})
	}
	return out
}

func TestPositions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []tokPos
	}{
		{
			name: "block with tab and trailing newline",
			src:  "on msg:\n\tpass # x\n",
			want: []tokPos{
				{"Keyword", "on", 1, 1, 0},
				{"Ident", "msg", 1, 4, 3},
				{"Punct", ":", 1, 7, 6},
				{"Newline", "\n", 1, 8, 7},
				{"Indent", "", 2, 2, 9},
				{"Keyword", "pass", 2, 2, 9},
				{"Newline", "\n", 2, 10, 17},
				{"Dedent", "", 3, 1, 18},
				{"EOF", "", 3, 1, 18},
			},
		},
		{
			name: "no trailing newline",
			src:  "a:\n  b == 1",
			want: []tokPos{
				{"Ident", "a", 1, 1, 0},
				{"Punct", ":", 1, 2, 1},
				{"Newline", "\n", 1, 3, 2},
				{"Indent", "", 2, 3, 5},
				{"Ident", "b", 2, 3, 5},
				{"Punct", "==", 2, 5, 7},
				{"Int", "1", 2, 8, 10},
				{"Newline", "", 2, 9, 11},
				{"Dedent", "", 2, 9, 11},
				{"EOF", "", 2, 9, 11},
			},
		},
		{
			name: "CRLF",
			src:  "x\r\n\r\ny 1.2.3.4\r\n",
			want: []tokPos{
				{"Ident", "x", 1, 1, 0},
				{"Newline", "\n", 1, 2, 1},
				{"Ident", "y", 3, 1, 5},
				{"IPv4", "1.2.3.4", 3, 3, 7},
				{"Newline", "\n", 3, 10, 14},
				{"EOF", "", 4, 1, 16},
			},
		},
		{
			name: "BOM at start shifts offsets, not lines",
			src:  "\uFEFFa b",
			want: []tokPos{
				{"Ident", "a", 1, 4, 3},
				{"Ident", "b", 1, 6, 5},
				{"Newline", "", 1, 7, 6},
				{"EOF", "", 1, 7, 6},
			},
		},
		{
			name: "dedent at the first token of the line",
			src:  "a:\n    b\n\n  # c\nd\n",
			want: []tokPos{
				{"Ident", "a", 1, 1, 0},
				{"Punct", ":", 1, 2, 1},
				{"Newline", "\n", 1, 3, 2},
				{"Indent", "", 2, 5, 7},
				{"Ident", "b", 2, 5, 7},
				{"Newline", "\n", 2, 6, 8},
				{"Dedent", "", 5, 1, 16},
				{"Ident", "d", 5, 1, 16},
				{"Newline", "\n", 5, 2, 17},
				{"EOF", "", 6, 1, 18},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			if len(diags) != 0 {
				t.Fatalf("unexpected diagnostics:\n%s", messages(diags))
			}
			got := positions(tt.src, res.Tokens)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d tokens, want %d: %s", len(got), len(tt.want), show(res.Tokens))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("token %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestPositionsMatchSource checks every content token against the source
// bytes at its offset.
func TestPositionsMatchSource(t *testing.T) {
	src := "\uFEFFsockhash m: key (ip4, port)\r\non msg to m:\n\tif remote_ip4 in 10.0.0.0/8: drop # c\n\tredirect key(remote_ip4, 80)\n"
	res, diags := scan(t, src)
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", messages(diags))
	}
	for _, tok := range res.Tokens {
		if tok.Text == "" || tok.Kind == token.Newline {
			continue
		}
		off := tok.Pos.Offset()
		if !strings.HasPrefix(src[off:], tok.Text) {
			t.Errorf("token %q at offset %d, but the source there is %q", tok.Text, off, src[off:min(off+10, len(src))])
		}
	}
}

func TestComments(t *testing.T) {
	src := "# head\r\npass # tail\n    # indented\n#\n"
	res, diags := scan(t, src)
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", messages(diags))
	}
	want := []Comment{
		{token.PosOf(0), "# head"},
		{token.PosOf(strings.Index(src, "# tail")), "# tail"},
		{token.PosOf(strings.Index(src, "# indented")), "# indented"},
		{token.PosOf(len(src) - 2), "#"},
	}
	if len(res.Comments) != len(want) {
		t.Fatalf("got %d comments, want %d: %+v", len(res.Comments), len(want), res.Comments)
	}
	for i := range want {
		if res.Comments[i] != want[i] {
			t.Errorf("comment %d = %+v, want %+v", i, res.Comments[i], want[i])
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		errs   string // line:col: message, one per line
		layout string // the token layout is still complete; "" to skip
	}{
		{
			name:   "mixed tabs and spaces in one line",
			src:    "a:\n\t  b\n",
			errs:   "2:1: indentation mixes tabs and spaces",
			layout: "a NL IN b NL DE EOF",
		},
		{
			name:   "spaces then tab in one line",
			src:    "a:\n  \tb\n",
			errs:   "2:1: indentation mixes tabs and spaces",
			layout: "a NL IN b NL DE EOF",
		},
		{
			name:   "block indented with spaces, line with tabs",
			src:    "a:\n    b\n\tc\n    d\n",
			errs:   "3:1: mixed indentation: this line is indented with tabs, its block with spaces",
			layout: "a NL IN b NL c NL d NL DE EOF",
		},
		{
			name:   "block indented with tabs, line with spaces",
			src:    "a:\n\tb\n        c\n",
			errs:   "3:1: mixed indentation: this line is indented with spaces, its block with tabs",
			layout: "a NL IN b NL c NL DE EOF",
		},
		{
			name:   "unindent matching no level",
			src:    "a:\n    b\n  c\n",
			errs:   "3:1: unindent does not match any outer indentation level",
			layout: "a NL IN b NL DE c NL EOF",
		},
		{
			name:   "unindent between two nested levels",
			src:    "a:\n  b:\n      c\n    d\ne\n",
			errs:   "4:1: unindent does not match any outer indentation level",
			layout: "",
		},
		{
			name:   "invalid character",
			src:    "a $ b\n",
			errs:   "1:3: invalid character '$' (U+0024)",
			layout: "a NL EOF",
		},
		{
			name: "invalid characters each reported",
			src:  "a @ b\n`c\n",
			errs: "1:3: invalid character '@' (U+0040)\n2:1: invalid character '`' (U+0060)",
		},
		{
			name: "control character",
			src:  "a \x01 b\n",
			errs: "1:3: invalid character U+0001",
		},
		{
			name: "DEL",
			src:  "a \x7f b\n",
			errs: "1:3: invalid character U+007F",
		},
		{
			name: "non-ASCII letter",
			src:  "caf\u00e9\n",
			errs: "1:4: invalid character 'é' (U+00E9)",
		},
		{
			name:   "invalid UTF-8",
			src:    "a \xff b\n",
			errs:   "1:3: invalid UTF-8 encoding",
			layout: "a NL EOF",
		},
		{
			name: "truncated UTF-8 sequence",
			src:  "a \xc3",
			errs: "1:3: invalid UTF-8 encoding",
		},
		{
			name:   "NUL byte",
			src:    "a\x00b\n",
			errs:   "1:2: this does not look like sockc source: NUL byte",
			layout: "EOF",
		},
		{
			name:   "BOM in the middle",
			src:    "a\n\uFEFFb\n",
			errs:   "2:1: invalid BOM in the middle of the file",
			layout: "a NL b NL EOF",
		},
		{
			name: "two BOMs at the start",
			src:  "\uFEFF\uFEFFa",
			errs: "1:4: invalid BOM in the middle of the file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			if got := messages(diags); got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			for _, d := range diags {
				if d.Severity != diag.Error {
					t.Errorf("%s is not an error", d.Error())
				}
			}
			if tt.layout != "" {
				if got := layout(res.Tokens); got != tt.layout {
					t.Errorf("layout:\n got %s\nwant %s", got, tt.layout)
				}
			}
		})
	}
}

func TestIndentationErrorSpan(t *testing.T) {
	_, diags := scan(t, "a:\n\t  b\n")
	if len(diags) != 1 {
		t.Fatalf("got %d diagnostics: %s", len(diags), messages(diags))
	}
	d := diags[0]
	if d.End.Line != 2 || d.End.Column != 4 {
		t.Errorf("span ends at %d:%d, want 2:4 (the first token)", d.End.Line, d.End.Column)
	}
	if d.Hint != "indent a block with either tabs or spaces, not both" {
		t.Errorf("hint = %q", d.Hint)
	}
}

func TestBOMAtStart(t *testing.T) {
	res, diags := scan(t, "\uFEFFon msg to m: pass\n")
	if len(diags) != 0 {
		t.Fatalf("BOM at the start reported:\n%s", messages(diags))
	}
	if got, want := show(res.Tokens), "Keyword(on) Ident(msg) Keyword(to) Ident(m) : Keyword(pass) NL EOF"; got != want {
		t.Errorf("tokens:\n got %s\nwant %s", got, want)
	}
	// An indented first line after a BOM is measured from after the BOM.
	res, diags = scan(t, "\uFEFF  a\nb\n")
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", messages(diags))
	}
	if got, want := layout(res.Tokens), "IN a NL DE b NL EOF"; got != want {
		t.Errorf("layout = %s, want %s", got, want)
	}
}

func TestEncodingErrorLimit(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		// Few enough among text that the file is not taken for binary.
		{"invalid bytes", strings.Repeat("\xff abcdefghij\n", 30)},
		{"BOMs", strings.Repeat("a\uFEFF", 30)},
		{"invalid characters", strings.Repeat("$", 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := scan(t, tt.src)
			if len(diags) != maxEncodingErrors {
				t.Errorf("%d diagnostics, want %d", len(diags), maxEncodingErrors)
			}
		})
	}
}

// TestInvalidCharacterBeforeSpaceAtLineStart checks that an invalid
// character does not change the indentation of its line.
func TestInvalidCharacterBeforeSpaceAtLineStart(t *testing.T) {
	res, diags := scan(t, "a:\n    $ b\n    c\n")
	if got, want := messages(diags), "2:5: invalid character '$' (U+0024)"; got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	if got, want := layout(res.Tokens), "a NL IN b NL c NL DE EOF"; got != want {
		t.Errorf("layout:\n got %s\nwant %s", got, want)
	}
}

// TestReplacementCharacter checks that U+FFFD written in the source (valid
// UTF-8) is reported like any other invalid character.
func TestReplacementCharacter(t *testing.T) {
	_, diags := scan(t, "a \uFFFD b\n")
	if got, want := messages(diags), "1:3: invalid character '\uFFFD' (U+FFFD)"; got != want {
		t.Errorf("diagnostics:\n%q\nwant:\n%q", got, want)
	}
}
