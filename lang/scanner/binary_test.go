package scanner

import (
	"fmt"
	"strings"
	"testing"
)

// TestBinary checks the rule that tells a file that is not text from text
// with stray bytes: the first one gets one diagnostic and no tokens, the
// second one diagnostic per bad byte.
func TestBinary(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
	tests := []struct {
		name string
		src  string
		errs string // the diagnostics; "" for none
	}{
		{"PNG header", png, "3:1: this does not look like sockc source: NUL byte"},
		{"NUL deep in the first KiB", "sockhash m\n" + strings.Repeat("#\n", 500) + "\x00",
			"502:1: this does not look like sockc source: NUL byte"},
		{"NUL after the first KiB: text", "sockhash m\n" + strings.Repeat("#\n", 600) + "\x00",
			"602:1: invalid NUL character"},
		{"UTF-16", "\xff\xfes\x00o\x00\n\x00", "1:4: this does not look like sockc source: NUL byte"},
		{"eight bad bytes in 32", strings.Repeat("\xff", 8) + strings.Repeat("a", 23) + "\n",
			"1:1: this does not look like sockc source: invalid UTF-8"},
		{"eight bad bytes in 33: text", strings.Repeat("\xfe", 8) + strings.Repeat("a", 24) + "\n",
			perByte(1, 8)},
		{"seven bad bytes alone: text", strings.Repeat("\xff", 7),
			perByte(1, 7)},
		{"control characters count", "ab" + strings.Repeat("\x1b", 8) + "\n",
			"1:3: this does not look like sockc source: control character U+001B"},
		{"tabs and CRLF do not count", strings.Repeat("\t\r\n", 20), ""},
		{"Latin-1 in a comment: text", "sockhash m # caf\xe9 cr\xe8me\n",
			"1:17: invalid UTF-8 encoding\n1:21: invalid UTF-8 encoding"},
		{"only the first KiB counts", strings.Repeat("a", 1024) + strings.Repeat("\xff", 100),
			perByte(1025, maxEncodingErrors)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, diags := scan(t, tt.src)
			got := messages(diags)
			if got != tt.errs {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, tt.errs)
			}
			binary := strings.Contains(got, "does not look like")
			if binary && (len(diags) != 1 || len(res.Tokens) != 1) {
				t.Errorf("a binary file gave %d diagnostics and tokens %s, want one diagnostic and EOF", len(diags), show(res.Tokens))
			}
		})
	}
}

// perByte is the diagnostics of n invalid bytes on line 1 from column col.
func perByte(col, n int) string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("1:%d: invalid UTF-8 encoding", col+i))
	}
	return strings.Join(out, "\n")
}

// TestBinaryHint checks the hints: UTF-16 is named when the file starts
// with its byte order mark.
func TestBinaryHint(t *testing.T) {
	for src, want := range map[string]string{
		"\x89PNG\r\n\x1a\n\x00":    "sockc reads UTF-8 text files ending in .sock",
		"\xff\xfes\x00o\x00\n\x00": "this looks like UTF-16 text; sockc reads UTF-8: convert it, e.g. with iconv -f UTF-16 -t UTF-8",
		"\xfe\xff\x00s\x00o\x00\n": "this looks like UTF-16 text; sockc reads UTF-8: convert it, e.g. with iconv -f UTF-16 -t UTF-8",
	} {
		_, diags := scan(t, src)
		if len(diags) != 1 || diags[0].Hint != want {
			t.Errorf("%q: diagnostics %v, hint %q; want one with hint %q", src, messages(diags), diags[0].Hint, want)
		}
	}
}
