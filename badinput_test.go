package sockc_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockc/sockc"
)

// badInput is a malformed or wrong program and the exact diagnostics it
// must produce, in their one-line form "file:line:col: message", in
// order. Large and binary inputs are built in code.
type badInput struct {
	name string
	src  string
	gen  func() string // instead of src
	want []string
	// wantGen builds want for generated inputs with many diagnostics.
	wantGen func() []string
	// full, if set, is the exact long form: source line, caret, hint.
	full string
	// noCLI skips the runs of the sockc command, for a huge input whose
	// point is the time sockc.Check takes.
	noCLI bool
}

func (c badInput) source() []byte {
	if c.gen != nil {
		return []byte(c.gen())
	}
	return []byte(c.src)
}

func (c badInput) wanted() []string {
	if c.wantGen != nil {
		return c.wantGen()
	}
	return c.want
}

// lines repeats format, filled with i, for i in [from, to).
func lines(format string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// nestedIfs is a msg handler of n nested ifs, each one level deeper.
func nestedIfs(n int) string {
	var b strings.Builder
	b.WriteString("sockhash m\non msg to m:\n")
	for i := 1; i <= n; i++ {
		b.WriteString(strings.Repeat("  ", i) + "if size > 1:\n")
	}
	b.WriteString(strings.Repeat("  ", n+1) + "drop\n")
	return b.String()
}

// badFile is the name every bad input is checked under.
const badFile = "bad.sock"

// badInputs lists mistakes a user plausibly makes, and inputs a user
// should never have to worry about: none of them is among the
// testdata/golden/err_* cases.
var badInputs = []badInput{
	// The file as a whole.
	{name: "empty file", src: "",
		want: []string{badFile + ":1:1: the file has no handler: there is no program to compile"}},
	{name: "comments and blank lines only", src: "# a program, some day\n\n   # still nothing\n",
		want: []string{badFile + ":1:1: the file has no handler: there is no program to compile"}},
	{name: "blanks only", src: "    \n\t\n \r\n",
		want: []string{badFile + ":1:1: the file has no handler: there is no program to compile"}},
	{name: "an object file given as source", src: "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\xf7\x00",
		want: []string{badFile + ": this is an ELF object file, not sockc source"},
		full: badFile + ": this is an ELF object file, not sockc source\n    hint: list the maps and programs of an object with: sockc objdump bad.sock\n"},
	{name: "file too large", gen: func() string {
		return "on msg to sockhash m: pass\n#" + strings.Repeat("x", sockc.MaxSourceSize) + "\n"
	}, want: []string{badFile + ": file too large: sockc reads at most 524288 bytes (512 KiB)"}},
	{name: "file too large by one byte", gen: func() string {
		src := "on msg to sockhash m: pass\n#"
		return src + strings.Repeat("x", sockc.MaxSourceSize-len(src)) + "\n"
	}, want: []string{badFile + ": file too large: sockc reads at most 524288 bytes (512 KiB)"}},
	{name: "binary garbage: ten encoding and ten character errors", gen: func() string {
		var b strings.Builder
		for i := 0; i < 256; i++ {
			b.WriteByte(byte(i*7 + 3))
		}
		return b.String()
	}, want: []string{
		badFile + ":2:218: this does not look like sockc source: NUL byte",
	}},

	// Encoding.
	{name: "invalid UTF-8 in a comment", src: "sockhash m\n# caf\xe9\non msg to m: pass\n",
		want: []string{badFile + ":2:6: invalid UTF-8 encoding"}},
	{name: "NUL byte", src: "sockhash m\non msg\x00 to m: pass\n",
		want: []string{badFile + ":2:7: this does not look like sockc source: NUL byte"}},
	{name: "BOM in the middle", src: "sockhash m\n\ufeffon msg to m: pass\n",
		want: []string{badFile + ":2:1: invalid BOM in the middle of the file"}},
	{name: "BOM at the start: columns count its bytes", src: "\ufeffsockhash m: key u16\non msg to m: pass\n",
		want: []string{badFile + ":1:20: unknown key type u16: want u32, u64 or a tuple such as (ip4, port)"}},
	{name: "CRLF line endings", src: "sockhash m\r\non msg to m:\r\n    if size = 1: drop\r\n",
		want: []string{badFile + `:3:13: expected ":", found "="`},
		full: badFile + `:3:13: expected ":", found "="` + "\n        if size = 1: drop\n                ^\n    hint: use == to compare\n"},
	{name: "CR line endings", src: "sockhash m\ron msg to m: pass\r",
		want: []string{badFile + ":1:11: line ends with a bare CR (old Mac line ending); sockc wants LF or CRLF"}},
	{name: "unicode letter in a name", src: "sockhash caf\u00e9\non msg to caf\u00e9: pass\n",
		want: []string{badFile + ":1:13: invalid character 'é' (U+00E9)", badFile + ":2:14: invalid character 'é' (U+00E9)"}},
	{name: "twelve invalid characters: ten reported", src: "sockhash m\non msg to m: if size > 1 $$$$$$$$$$$$: drop\n",
		wantGen: func() []string {
			var w []string
			for col := 26; col < 36; col++ {
				w = append(w, fmt.Sprintf("%s:2:%d: invalid character '$' (U+0024)", badFile, col))
			}
			return w
		}},
	{name: "tab-indented line: the caret keeps the tab", src: "sockhash m\non msg to m:\n\tif size = 1: drop\n",
		want: []string{badFile + `:3:10: expected ":", found "="`},
		full: badFile + `:3:10: expected ":", found "="` + "\n    \tif size = 1: drop\n    \t        ^\n    hint: use == to compare\n"},

	// Syntax: habits from other languages.
	{name: "no colon after the map name", src: "sockhash m key u32\non msg to m: pass\n",
		want: []string{badFile + `:1:12: expected end of line, found keyword "key"`},
		full: badFile + `:1:12: expected end of line, found keyword "key"` + "\n    sockhash m key u32\n               ^~~\n    hint: put a ':' after the map name: sockhash NAME: key ..., max ...\n"},
	{name: "semicolon between statements", src: "sockhash m\non msg to m: count a; drop\n",
		want: []string{badFile + `:2:21: expected end of line, found ";"`}},
	{name: "braces for a block", src: "sockhash m\non msg to m {\n    drop\n}\n",
		want: []string{badFile + `:2:13: expected ":", found "{"`}},
	{name: "string literal", src: "sockhash m\non msg to m: if remote_ip4 == \"10.0.0.1\": drop\n",
		want: []string{badFile + ":2:31: sockc has no string literals"}},
	{name: "elif", src: "sockhash m\non msg to m:\n    if size > 1: drop\n    elif size > 2: pass\n",
		want: []string{badFile + `:4:5: unexpected name "elif"`}},
	{name: "C comment", src: "sockhash m\n// comment\non msg to m: pass\n",
		want: []string{badFile + `:2:1: unexpected "/"`}},
	{name: "negative number", src: "sockhash m\non msg to m: if size > -1: drop\n",
		want: []string{badFile + `:2:24: expected an expression, found "-"`}},
	{name: "IPv6 literal", src: "sockhash m\non msg to m: if remote_ip6 == ::1: drop\n",
		want: []string{badFile + `:2:31: expected an expression, found ":"`}},
	{name: "binary literal", src: "sockhash m\non msg to m: if size == 0b101: drop\n",
		want: []string{badFile + ":2:25: invalid integer literal 0b101"}},
	{name: "uppercase keyword", src: "SOCKHASH m\non msg to m: pass\n",
		want: []string{badFile + ":1:1: keywords are lower case: sockhash"}},
	{name: "keyword as a map name", src: "sockhash key\non msg to key: pass\n",
		want: []string{badFile + `:1:10: expected a name, found keyword "key"`, badFile + `:2:11: expected a name, found keyword "key"`}},

	// Syntax: slips.
	{name: "misspelt ingress", src: "sockhash m\non msg to m: redirect key(remote_port) ingres\n",
		want: []string{badFile + `:2:40: expected end of line, found name "ingres"`}},
	{name: "misspelt key", src: "sockhash m\non msg to m: redirect m kye(1)\n",
		want: []string{badFile + `:2:25: expected key(...), found name "kye"`}},
	{name: "body not indented", src: "sockhash m\non msg to m:\ndrop\n",
		want: []string{badFile + ":2:13: expected an indented block after ':', found an unindented line"}},
	{name: "handler indented", src: "sockhash m\n  on msg to m: pass\n",
		want: []string{badFile + ":2:3: unexpected indentation"}},
	{name: "if without a condition", src: "sockhash m\non msg to m: if: drop\n",
		want: []string{badFile + `:2:16: expected an expression, found ":"`}},
	{name: "two elses", src: "sockhash m\non msg to m:\n    if size > 1: drop\n    else: pass\n    else: pass\n",
		want: []string{badFile + `:5:5: expected end of the block, found keyword "else"`}},
	{name: "else without if", src: "sockhash m\non msg to m:\n    else: drop\n",
		want: []string{badFile + `:3:5: expected a statement, found keyword "else"`}},
	{name: "two statements on a line", src: "sockhash m\non msg to m: pass pass\n",
		want: []string{badFile + `:2:19: expected end of line, found keyword "pass"`}},
	{name: "two handlers on a line", src: "sockhash m\non msg to m: pass on msg to n: pass\n",
		want: []string{badFile + `:2:19: expected end of line, found keyword "on"`}},
	{name: "count without a name", src: "sockhash m\non msg to m: count\n",
		want: []string{badFile + ":2:19: expected a name, found end of line"}},
	{name: "count with a keyword", src: "sockhash m\non msg to m: count drop\n",
		want: []string{badFile + `:2:20: expected a name, found keyword "drop"`}},
	{name: "unclosed parenthesis at the end of the file", src: "sockhash m\non msg to m: if (size > 1: drop",
		want: []string{badFile + `:2:26: expected ")", found ":"`}},
	{name: "file ends after on", src: "sockhash m\non",
		want: []string{badFile + ":2:3: expected a name, found end of line"}},
	{name: "trailing comma in a key type", src: "sockhash m: key (ip4, port,)\non msg to m: pass\n",
		want: []string{badFile + `:1:28: expected a name, found ")"`}},
	{name: "in with a number", src: "sockhash m\non msg to m: if local_port in 80: drop\n",
		want: []string{badFile + `:2:33: expected "..", found ":"`}},
	{name: "or without a left operand", src: "sockhash m\non msg to m: if local_port == 80 or == 443: drop\n",
		want: []string{badFile + `:2:37: expected an expression, found "=="`}},
	{name: "CIDR without in", src: "sockhash m\non msg to m: if remote_ip4 == 10.0.0.0/8: drop\n",
		want: []string{badFile + `:2:39: expected ":", found "/"`}},
	{name: "five-part address", src: "sockhash m\non msg to m: if remote_ip4 == 1.2.3.4.5: drop\n",
		want: []string{badFile + ":2:31: invalid IPv4 address 1.2.3.4.5: want four dotted numbers"}},

	// Hooks.
	{name: "missing to", src: "sockhash m\non msg m: pass\n",
		want: []string{badFile + `:2:4: unknown hook "msg m"`},
		full: badFile + `:2:4: unknown hook "msg m"` + "\n    on msg m: pass\n       ^~~~~\n    hint: did you mean on msg to m?\n"},
	{name: "missing to after a two-word hook", src: "sockmap m: max 2\non stream verdict m: pass\n",
		want: []string{badFile + `:2:4: unknown hook "stream verdict m"`},
		full: badFile + `:2:4: unknown hook "stream verdict m"` + "\n    on stream verdict m: pass\n       ^~~~~~~~~~~~~~~~\n    hint: did you mean on stream verdict to m?\n"},
	{name: "missing to: the body is checked too", src: "sockhash m\non msg m:\n    if size: drop\n    apply remote_ip4\n",
		want: []string{
			badFile + `:2:4: unknown hook "msg m"`,
			badFile + ":3:8: condition is an integer, not a comparison",
			badFile + ":4:11: apply needs a byte count, not an ip4 address",
		}},
	{name: "hook with capitals and an underscore: the body is checked too", src: "sockmap m: max 2\non Stream_Verdict to m: apply 1\n",
		want: []string{badFile + `:2:4: unknown hook "Stream_Verdict"`, badFile + ":2:25: apply is not allowed in on stream verdict"}},
	{name: "capitalised hook", src: "sockhash m\non Msg to m: pass\n",
		want: []string{badFile + `:2:4: unknown hook "Msg"`}},
	{name: "hook with an underscore", src: "sockhash m\non stream_verdict to m: pass\n",
		want: []string{badFile + `:2:4: unknown hook "stream_verdict"`},
		full: badFile + `:2:4: unknown hook "stream_verdict"` + "\n    on stream_verdict to m: pass\n       ^~~~~~~~~~~~~~\n    hint: did you mean on stream verdict?\n"},
	{name: "skb verdict before stream verdict", src: "sockmap m: max 2\non skb verdict to m: pass\non stream verdict to m: pass\n",
		want: []string{badFile + ":2:4: map m already has a stream verdict handler (at 3:1); the kernel refuses skb verdict beside it"}},
	{name: "redirect from sockops", src: "sockmap m: max 4\non connect: redirect m key(1)\n",
		want: []string{badFile + ":2:13: redirect is not allowed in on connect"}},

	// Maps and keys.
	{name: "map name with the reserved prefix inline", src: "on msg to sockhash sockc_x: pass\n",
		want: []string{badFile + ":1:20: map name sockc_x: the prefix sockc_ is reserved for maps sockc declares"}},
	{name: "misspelt map in redirect", src: "sockhash proxy\non msg to proxy: redirect proxi key(1)\n",
		want: []string{badFile + ":2:27: unknown map proxi"},
		full: badFile + ":2:27: unknown map proxi\n    on msg to proxy: redirect proxi key(1)\n                              ^~~~~\n    hint: did you mean proxy?\n"},
	{name: "key type names as fields", src: "sockhash m: key (ip4, port)\non msg to m: redirect key(ip4, port)\n",
		want: []string{badFile + ":2:27: unknown field ip4", badFile + ":2:32: unknown field port"}},
	{name: "sockmap with a one-component tuple", src: "sockmap m: key (u32), max 4\non msg to m: pass\n",
		want: []string{badFile + ":1:16: sockmap m is indexed by u32; it cannot have key (u32)"}},
	{name: "nine components after max", src: "sockhash m: max 10, key (ip4, ip4, ip4, ip4, ip4, ip4, ip4, ip4, ip4)\non msg to m: pass\n",
		want: []string{badFile + ":1:25: key has 9 components; at most 8 are allowed"}},
	{name: "max in hex too large", src: "sockmap m: max 0x1000001\non msg to m: pass\n",
		want: []string{badFile + ":1:16: max 0x1000001 out of range: a map holds 1 to 16777216 sockets"}},
	{name: "sockmap index at max", src: "sockmap a: max 4\non msg to a: redirect key(4)\n",
		want: []string{badFile + ":2:27: index 4 out of range for sockmap a (max 4: indexes 0..3)"}},
	{name: "ip6 in a u32 key", src: "sockhash m: key u32\non msg to m: redirect key(remote_ip6)\n",
		want: []string{badFile + ":2:27: an ip6 address does not fit in key u32"}},
	{name: "empty key in update", src: "sockhash m\non established: update m key()\non msg to m: pass\n",
		want: []string{badFile + ":2:26: key() needs at least one component"}},

	// Types and values.
	{name: "address compared with 0", src: "sockhash m\non msg to m: if remote_ip4 == 0: drop\n",
		want: []string{badFile + ":2:17: mismatched types: ip4 address == integer"}},
	{name: "port compared with 0x10000", src: "sockhash m\non msg to m: if remote_port == 0x10000: drop\n",
		want: []string{badFile + ":2:32: 65536 is out of range for a port (0..65535)"}},
	{name: "cork 0", src: "sockhash m\non msg to m: cork 0\n",
		want: []string{badFile + ":2:19: cork 0 does nothing: the byte count must be at least 1"}},
	{name: "long literal out of range is quoted short", gen: func() string {
		return "sockhash m\non msg to m: if size == 0x" + strings.Repeat("0", 100000) + "100000000: drop\n"
	}, want: []string{badFile + ":2:25: integer 0x000000000000000000...0100000000 (100011 characters) out of range: values are 32-bit, at most 4294967295"}},

	// Every error of a file, whatever finds it.
	{name: "errors of every kind in one file", src: "sockhash m: key u32\non msg to m: if size = 1: drop\non msg to n: pass\n" +
		"on established: count x\non established: count y\nsockmap a: max 0\non skb verdict to a: redirect key(remote_ip6)\n",
		want: []string{
			badFile + `:2:22: expected ":", found "="`,
			badFile + ":3:11: unknown map n",
			badFile + ":5:4: second on established handler (first at 4:1)",
			badFile + ":6:16: max 0 out of range: a map holds 1 to 16777216 sockets",
			badFile + ":7:35: an ip6 address does not fit in key u32",
		}},

	// Limits.
	{name: "33 nested ifs", gen: func() string { return nestedIfs(33) },
		want: []string{badFile + ":35:67: if statements nested too deeply (more than 32)"}},
	{name: "300 nested ifs: one error", gen: func() string { return nestedIfs(300) },
		want: []string{badFile + ":35:67: if statements nested too deeply (more than 32)"}},
	{name: "1025 counters", gen: func() string {
		return "sockhash m\non msg to m:\n" + lines("    count c%d\n", 0, 1100)
	}, want: []string{badFile + ":1027:11: too many counters: at most 1024 per file"}},
	{name: "a sum 65 operators deep: one error", gen: func() string {
		return "sockhash m\non msg to m: if " + strings.Repeat("size + ", 65) + "1 > 1: drop\n"
	}, want: []string{badFile + ":2:17: expression nested too deeply (more than 64 levels)"}},
	{name: "a chain of 2000 ands: one error", gen: func() string {
		return "sockhash m\non msg to m: if " + strings.Repeat("size > 1 and ", 2000) + "size > 1: drop\n"
	}, want: []string{badFile + ":2:17: expression nested too deeply (more than 64 levels)"}},
	{name: "201 parentheses", gen: func() string {
		return "sockhash m\non msg to m: if " + strings.Repeat("(", 201) + "size" + strings.Repeat(")", 201) + " > 1: drop\n"
	}, want: []string{badFile + ":2:217: expression nested too deeply (more than 200 parentheses or nots)"}},
	{name: "20000 parentheses", gen: func() string {
		return "sockhash m\non msg to m: if " + strings.Repeat("(", 20000) + "size > 1: drop\n"
	}, want: []string{badFile + ":2:217: expression nested too deeply (more than 200 parentheses or nots)"}},
	{name: "10000 nots", gen: func() string {
		return "sockhash m\non msg to m: if " + strings.Repeat("not ", 10000) + "size > 1: drop\n"
	}, want: []string{badFile + ":2:817: expression nested too deeply (more than 200 parentheses or nots)"}},
	// Without a bound on "did you mean" work, this took minutes.
	{name: "12000 unknown maps among 12000 maps", gen: func() string {
		return lines("sockhash m%05d\n", 0, 12000) + lines("on msg to x%05d: pass\n", 0, 12000)
	}, wantGen: func() []string {
		var w []string
		for i := 0; i < 12000; i++ {
			w = append(w, fmt.Sprintf("%s:%d:11: unknown map x%05d", badFile, 12001+i, i))
		}
		return w
	}, noCLI: true},
	{name: "two names of 200000 letters", gen: func() string {
		return "sockhash " + strings.Repeat("a", 200000) + "\non msg to " + strings.Repeat("a", 199999) + "b: pass\n"
	}, want: []string{badFile + ":2:11: unknown map " + strings.Repeat("a", 199999) + "b"}},
	{name: "every error of a file", gen: func() string {
		return "sockhash m\non msg to m:\n" + strings.Repeat("    if size: drop\n", 1000)
	}, wantGen: func() []string {
		var w []string
		for i := 0; i < 1000; i++ {
			w = append(w, fmt.Sprintf("%s:%d:8: condition is an integer, not a comparison", badFile, 3+i))
		}
		return w
	}},
}

// checkTimeout bounds the checking of one input: far more than any case
// takes, it turns a hang into a failure.
const checkTimeout = 20 * time.Second

// TestBadInput checks that every bad input gets exactly its diagnostics
// from sockc.Check, and then that the sockc command agrees: `sockc check`
// and `sockc compile -o OUT` both exit with status 1, print the same
// diagnostics, and write nothing.
func TestBadInput(t *testing.T) {
	if len(badInputs) < 40 {
		t.Fatalf("only %d bad inputs", len(badInputs))
	}
	bin := sockcBinary(t)
	seen := map[string]bool{}
	for _, c := range badInputs {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
	}
	// A group, so that the figure is logged after the parallel cases.
	t.Run("cases", func(t *testing.T) { badInputCases(t, bin) })
	if !t.Failed() {
		t.Logf("reliability: bad inputs: %d programs checked (exact diagnostics; sockc check and sockc compile -o: status 1, nothing written)", len(badInputs))
	}
}

func badInputCases(t *testing.T, bin string) {
	for _, c := range badInputs {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			src := c.source()
			want := c.wanted()
			start := time.Now()
			diags := sockc.Check(badFile, src)
			if d := time.Since(start); d > checkTimeout {
				t.Errorf("checking took %v", d)
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Error())
			}
			if !diags.HasErrors() {
				t.Fatalf("no error; diagnostics: %q", got)
			}
			compareLines(t, "sockc.Check", got, want)
			if c.full != "" {
				var b bytes.Buffer
				diags.Format(&b)
				if b.String() != c.full {
					t.Errorf("long form:\n%s\nwant:\n%s", b.String(), c.full)
				}
			}
			if !c.noCLI {
				runBadCLI(t, bin, src, want)
			}
		})
	}
}

func compareLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d diagnostics, want %d:\n%s", what, len(got), len(want), shorten(strings.Join(got, "\n")))
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: diagnostic %d:\n got %s\nwant %s", what, i, shorten(got[i]), shorten(want[i]))
		}
	}
}

// shorten keeps failure messages readable for the huge inputs.
func shorten(s string) string {
	if len(s) > 2000 {
		return s[:1000] + fmt.Sprintf(" ...(%d bytes)... ", len(s)-2000) + s[len(s)-1000:]
	}
	return s
}

// runBadCLI runs `sockc check` and `sockc compile -o` on src as bad.sock.
func runBadCLI(t *testing.T, bin string, src []byte, want []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, badFile), src, 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", badFile},
		{"compile", "-o", filepath.Join("out", "bad.o"), badFile},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("sockc %s: %v, want exit status 1; stderr:\n%s", strings.Join(args, " "), err, shorten(stderr.String()))
			continue
		}
		if stdout.Len() > 0 {
			t.Errorf("sockc %s wrote to stdout: %s", strings.Join(args, " "), shorten(stdout.String()))
		}
		if strings.Contains(stderr.String(), "goroutine ") || strings.Contains(stderr.String(), "panic") {
			t.Errorf("sockc %s: a Go trace:\n%s", strings.Join(args, " "), shorten(stderr.String()))
		}
		// The one-line forms, in order: the lines that start with the
		// file name (source lines are indented).
		var got []string
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, badFile+":") {
				got = append(got, l)
			}
		}
		compareLines(t, "sockc "+strings.Join(args, " "), got, want)
	}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a failed compile left %s behind", e.Name())
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.o")); err == nil {
		t.Errorf("a failed compile wrote bad.o beside the source")
	}
}

// TestSourceSizeLimit checks the edge of sockc.MaxSourceSize: a file of
// exactly that many bytes is read and checked, by the library and by
// `sockc check` (which reads one byte more than the limit, to tell).
func TestSourceSizeLimit(t *testing.T) {
	head := "on msg to sockhash m: pass\n#"
	src := head + strings.Repeat("x", sockc.MaxSourceSize-len(head)-1) + "\n"
	if len(src) != sockc.MaxSourceSize {
		t.Fatalf("built %d bytes", len(src))
	}
	if diags := sockc.Check(badFile, []byte(src)); len(diags) > 0 {
		t.Fatalf("a file at the limit: %v", diags)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.sock")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sockcBinary(t), "check", path).CombinedOutput(); err != nil {
		t.Fatalf("sockc check of a file at the limit: %v\n%s", err, out)
	}
}
