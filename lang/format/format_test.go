package format_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/fuzzcheck"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/format"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// lines joins lines with "\n" and ends them with one.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestSource(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", ""},
		{"only blank lines", "\n\n  \n", ""},
		{"only comments", "# one\n\n\n   # two  \n", lines("# one", "", "# two")},
		{
			"spacing",
			lines("sockhash   m :key(ip4,port) ,max 0x10", "on  msg to   m:redirect key( remote_ip4 ,remote_port )ingress"),
			lines("sockhash m: key (ip4, port), max 0x10", "on msg to m: redirect key(remote_ip4, remote_port) ingress"),
		},
		{
			"map options keep their order",
			lines("sockmap s: max 4, key u32", "on msg to sockhash h: pass"),
			lines("sockmap s: max 4, key u32", "on msg to sockhash h: pass"),
		},
		{
			"operators and literals",
			lines("sockhash m", "on msg to m:", "  if (local_port+1)<<2==0x9C44 or not(size>=10 and size<=20):drop",
				"  if remote_ip4 in 10.0.0.0/8 and local_port in 1024..0xffff: pass", "  apply size>>4&0xff", "  length"),
			lines("sockhash m", "on msg to m:", "    if (local_port + 1) << 2 == 0x9C44 or not (size >= 10 and size <= 20): drop",
				"    if remote_ip4 in 10.0.0.0/8 and local_port in 1024..0xffff: pass", "    apply size >> 4 & 0xff", "    length"),
		},
		{
			"one-line bodies stay one-line",
			lines("sockhash m", "on msg to m:   if size > 1:   drop", "on established: update m key(1)"),
			lines("sockhash m", "on msg to m: if size > 1: drop", "on established: update m key(1)"),
		},
		{
			"nested if and else",
			lines("sockhash m", "on msg to m:", " if size > 1:", "   if size > 2: drop", "   else:", "     count mid", "     pass",
				" else: count small", " redirect m key(0)"),
			lines("sockhash m", "on msg to m:", "    if size > 1:", "        if size > 2: drop", "        else:", "            count mid", "            pass",
				"    else: count small", "    redirect m key(0)"),
		},
		{
			"tabs become spaces",
			"sockhash m\non msg to m:\n\tif size > 10:\n\t\tdrop\n\tredirect key(local_port)\n",
			lines("sockhash m", "on msg to m:", "    if size > 10:", "        drop", "    redirect key(local_port)"),
		},
		{
			"CRLF becomes LF",
			"sockhash m\r\non msg to m:\r\n    drop   # bye\r\n\r\n\r\n",
			lines("sockhash m", "on msg to m:", "    drop  # bye"),
		},
		{
			"byte order mark dropped, no final newline added twice",
			"\uFEFF# hi\nsockhash m\non msg to m: pass",
			lines("# hi", "sockhash m", "on msg to m: pass"),
		},
		{
			"blank lines collapsed, dropped at the ends and after a header",
			lines("", "", "sockhash m", "", "", "", "on msg to m:", "", "    count a", "", "", "    count b", "", ""),
			lines("sockhash m", "", "on msg to m:", "    count a", "", "    count b"),
		},
		{
			"no blank line is added between items",
			lines("sockhash a", "sockhash b", "on msg to a: pass", "on msg to b:", "    pass", "on established: count x"),
			lines("sockhash a", "sockhash b", "on msg to a: pass", "on msg to b:", "    pass", "on established: count x"),
		},
		{
			"comments before, between and after items",
			lines("# head", "sockhash m   # map", "# between", "", "  # indented at top level", "on msg to m: pass#tight", "# tail"),
			lines("# head", "sockhash m  # map", "# between", "", "# indented at top level", "on msg to m: pass  #tight", "# tail"),
		},
		{
			"comments inside blocks and after if lines",
			lines("sockhash m", "on msg to m: # header", "# first, at column 1", "  if size > 1:    # if line",
				"          # deeper than the block", "      drop", "  # before else", "  else:  # else line", "      pass", "  count x"),
			lines("sockhash m", "on msg to m:  # header", "    # first, at column 1", "    if size > 1:  # if line",
				"        # deeper than the block", "        drop", "    # before else", "    else:  # else line", "        pass", "    count x"),
		},
		{
			"comments at the end of blocks keep their block",
			lines("sockhash m", "on msg to m:", "  if size > 1:", "    drop", "    # end of the if body", "  # end of the handler",
				"# top level", "on established:", "  count x", "      # end of file, deepest block"),
			lines("sockhash m", "on msg to m:", "    if size > 1:", "        drop", "        # end of the if body", "    # end of the handler",
				"# top level", "on established:", "    count x", "    # end of file, deepest block"),
		},
		{
			"trailing comments of consecutive lines aligned",
			lines("sockhash first", "sockhash second", "on msg to first:", "    redirect key(local_port) # try first",
				"    redirect second key(remote_port) ingress # then second", "    count unmatched # then pass", "", "    pass # alone"),
			lines("sockhash first", "sockhash second", "on msg to first:", "    redirect key(local_port)                  # try first",
				"    redirect second key(remote_port) ingress  # then second", "    count unmatched                           # then pass", "", "    pass  # alone"),
		},
		{
			"type errors do not stop formatting",
			lines("on msg to m:redirect key(remote_prot)"),
			lines("on msg to m: redirect key(remote_prot)"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := format.Source("t.sock", []byte(tt.in))
			if err != nil {
				t.Fatalf("Source: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			again, err := format.Source("t.sock", got)
			if err != nil {
				t.Fatalf("Source of the output: %v", err)
			}
			if string(again) != string(got) {
				t.Errorf("not idempotent; second pass:\n%s", again)
			}
		})
	}
}

// TestSourceErrors checks that a file that does not parse is refused with
// exactly the parser's diagnostics.
func TestSourceErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"syntax", lines("sockhash m", "on msg to m:", "    if size = 1: drop"), `expected ":", found "="`},
		{"mixed tabs and spaces", "sockhash m\non msg to m:\n    count a\n\tdrop\n", "mixed indentation: this line is indented with tabs, its block with spaces"},
		{"tabs and spaces in one indentation", "sockhash m\non msg to m:\n \tdrop\n", "indentation mixes tabs and spaces"},
		{"bad unindent", lines("sockhash m", "on msg to m:", "    if size > 1:", "        drop", "      pass"), "unindent does not match"},
		{"lexical", lines("sockhash m", "on msg to m: if size > 1 $ 2: drop"), "invalid character"},
		{"literal", lines("sockhash m", "on msg to m: if size > 010: drop"), "leading zero"},
		{"empty block", lines("sockhash m", "on msg to m:", "sockhash n"), "expected an indented block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := format.Source("t.sock", []byte(tt.in))
			if err == nil {
				t.Fatalf("Source succeeded:\n%s", out)
			}
			var diags diag.List
			if !errors.As(err, &diags) {
				t.Fatalf("error %T is not a diag.List: %v", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			f := token.NewFile("t.sock", []byte(tt.in))
			errs := diag.NewCollector(f)
			parser.ParseFile(f, errs)
			var a, b strings.Builder
			diags.Format(&a)
			errs.List().Format(&b)
			if a.String() != b.String() {
				t.Errorf("diagnostics differ from the parser's:\n%s\nparser:\n%s", a.String(), b.String())
			}
		})
	}
}

// TestSourceBrokenInput feeds every prefix of a file, and junk. Source
// recovers from a panic, so returning is not enough: each input must get
// one of the two answers Source promises, output that formats to itself,
// or a diag.List with an error, each diagnostic well formed and pointing
// into the file. An internal error, a recovered panic included, fails.
// The prefixes must give both answers, or the test shows little.
func TestSourceBrokenInput(t *testing.T) {
	src := lines("# c", "sockhash m: key (ip4, port), max 8", "on msg to m:", "    if size > 1:  # x", "        drop", "    else: pass", "    redirect key(remote_ip4, 1) ingress")
	var inputs []string
	for i := range len(src) + 1 {
		inputs = append(inputs, src[:i])
	}
	inputs = append(inputs, "\x00", "\xff\xfe", "((((", ":", "on", "\t#", "else:", "\uFEFF\uFEFF")
	answers := map[string]int{}
	for _, in := range inputs {
		out, err := format.Source("t.sock", []byte(in))
		var diags diag.List
		switch {
		case errors.As(err, &diags):
			answers["refused"]++
			if out != nil {
				t.Errorf("%q: refused, with output %q", in, out)
			}
			if !diags.HasErrors() {
				t.Errorf("%q: refused without an error: %v", in, diags)
			}
			if err := fuzzcheck.CheckDiagnostics(token.NewFile("t.sock", []byte(in)), diags); err != nil {
				t.Errorf("%q: %v", in, err)
			}
		case err != nil:
			t.Errorf("%q: %v", in, err)
		default:
			answers["formatted"]++
			again, err := format.Source("t.sock", out)
			if err != nil {
				t.Errorf("%q: the output does not format: %v\n%s", in, err, out)
			} else if string(again) != string(out) {
				t.Errorf("%q: not idempotent:\n--- first\n%s--- second\n%s", in, out, again)
			}
		}
	}
	if answers["refused"] == 0 || answers["formatted"] == 0 {
		t.Errorf("%d inputs, answers %v: want some refused and some formatted", len(inputs), answers)
	}
}
