package doctest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/keys"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// textBlock is a ```text block of docs/language.md and how the document
// says it is checked: the <!-- checked: HOW --> line after it.
type textBlock struct {
	line    int
	body    string
	checked string
	input   string // for "output of ...": the nearest program or input block above
}

var checkedRE = regexp.MustCompile(`^<!-- checked: (.*) -->$`)

// readTextBlocks collects the ```text blocks of a Markdown file with their
// <!-- checked: ... --> lines, and for each the text of the nearest block
// above it that a command can read: a sock block, or a text block checked
// as "input of the next block".
func readTextBlocks(t *testing.T, path string) []textBlock {
	t.Helper()
	var blocks []textBlock
	input := ""
	for _, f := range readFences(t, path) {
		switch {
		case f.Info == "text":
			b := textBlock{line: f.Line, body: f.Body(), input: input}
			if m := checkedRE.FindStringSubmatch(f.Next()); m != nil {
				b.checked = m[1]
			}
			if b.checked == "input of the next block" {
				input = f.Body()
			}
			blocks = append(blocks, b)
		case strings.HasPrefix(f.Info, "sock"):
			input = f.Body()
		}
	}
	return blocks
}

// TestLanguageDocTextBlocks checks every ```text block of
// docs/language.md against the code, as the <!-- checked: ... --> line
// after it says: the keyword and operator tables against the scanner, the
// key tables against lang/keys, the diagnostic templates against real
// diagnostics, command outputs and usage lines against the sockc binary,
// and the bpftool session by running it. A block without such a line,
// or with one the test does not know, fails.
func TestLanguageDocTextBlocks(t *testing.T) {
	blocks := readTextBlocks(t, "docs/language.md")
	if len(blocks) < 10 {
		t.Fatalf("found %d text blocks in docs/language.md; the reference has more", len(blocks))
	}
	sockcBin := sync.OnceValue(func() string { return buildSockc(t) })
	counts := map[string]int{}
	for _, b := range blocks {
		where := fmt.Sprintf("docs/language.md:%d", b.line)
		kind, arg, _ := strings.Cut(b.checked, " of ")
		counts[kind]++
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			switch {
			case b.checked == "keywords":
				checkKeywordTable(t, where, b.body)
			case b.checked == "operators":
				checkOperatorTable(t, where, b.body)
			case b.checked == "key types":
				checkKeyTypeTable(t, where, b.body)
			case b.checked == "key layout":
				checkKeyLayout(t, where, b.body)
			case b.checked == "diagnostic format":
				checkDiagnosticTemplate(t, where, b.body)
			case b.checked == "input of the next block":
				// Checked as the input of the output block after it.
			case kind == "output" && strings.HasPrefix(arg, "sockc "):
				checkCommandOutput(t, where, sockcBin(), arg, b)
			case kind == "usage" && strings.HasPrefix(arg, "sockc "):
				checkUsage(t, where, sockcBin(), arg, b.body)
			case b.checked == "run as root":
				checkRootSession(t, where, sockcBin(), b.body)
			case b.checked == "":
				t.Errorf("%s: text block without a <!-- checked: ... --> line after it", where)
			default:
				t.Errorf("%s: <!-- checked: %s --> is not a check the test knows", where, b.checked)
			}
		})
	}
	t.Logf("language: %d text blocks of docs/language.md checked against the code (%v)", len(blocks), counts)
}

// buildSockc builds the sockc command into a temporary directory.
func buildSockc(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "sockc")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sockc").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sockc: %v\n%s", err, out)
	}
	return bin
}

var countedWordsRE = regexp.MustCompile(`These (\d+) words are reserved`)

// checkKeywordTable: the table lists each keyword of lang/scanner once and
// nothing else.
func checkKeywordTable(t *testing.T, where, body string) {
	words := strings.Fields(body)
	if !sameSet(words, scanner.Keywords()) {
		t.Errorf("%s lists the keywords %v; lang/scanner has %v", where, words, scanner.Keywords())
	}
	doc, err := os.ReadFile("docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	if m := countedWordsRE.FindSubmatch(doc); m == nil || string(m[1]) != strconv.Itoa(len(scanner.Keywords())) {
		t.Errorf("docs/language.md should say \"These %d words are reserved\"", len(scanner.Keywords()))
	}
}

// checkOperatorTable: each operator in the table (the words after them
// describe the row) scans as one token, and the table holds exactly the
// quoted non-word terminals of the grammar's ```ebnf blocks.
func checkOperatorTable(t *testing.T, where, body string) {
	var ops []string
	for line := range strings.Lines(body) {
		for _, f := range strings.Fields(line) {
			if regexp.MustCompile(`^[a-z]+$`).MatchString(f) {
				break
			}
			ops = append(ops, f)
		}
	}
	for _, op := range ops {
		f := token.NewFile("op.sock", []byte("x "+op+" y\n"))
		errs := diag.NewCollector(f)
		res := scanner.Scan(f, errs)
		if len(errs.List()) != 0 || len(res.Tokens) < 3 || res.Tokens[1].Text != op {
			t.Errorf("%s: %q does not scan as one token", where, op)
		}
	}
	if grammar := grammarPunctuation(t); !sameSet(ops, grammar) {
		t.Errorf("%s lists %v; the grammar's terminals are %v", where, ops, grammar)
	}
}

var ebnfTerminalRE = regexp.MustCompile(`"([^"\w\s]+)"`)

// grammarPunctuation returns the quoted terminals of the ```ebnf blocks
// of docs/language.md that are not words, "…" ranges left aside.
func grammarPunctuation(t *testing.T) []string {
	doc, err := os.ReadFile("docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, block := range regexp.MustCompile("(?ms)^```ebnf\n(.*?)^```").FindAllSubmatch(doc, -1) {
		for _, m := range ebnfTerminalRE.FindAllSubmatch(block[1], -1) {
			if s := string(m[1]); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no punctuation terminals in the ebnf blocks of docs/language.md")
	}
	return out
}

var (
	keyScalarRE    = regexp.MustCompile(`^(u32|u64)\s+(\d+)-byte scalar`)
	keyTupleRE     = regexp.MustCompile(`packed tuple of 1 to (\d+) components`)
	keyComponentRE = regexp.MustCompile(`(\w+) \((\d+) bytes\)`)
)

// checkKeyTypeTable: the scalar sizes, the tuple's bound and every tuple
// component with its size are lang/keys', and no component is missing.
func checkKeyTypeTable(t *testing.T, where, body string) {
	scalars := map[string]keys.Layout{"u32": keys.ScalarU32(), "u64": keys.ScalarU64()}
	var seen []string
	for line := range strings.Lines(body) {
		if m := keyScalarRE.FindStringSubmatch(line); m != nil {
			if size, _ := strconv.Atoi(m[2]); size != scalars[m[1]].Size() {
				t.Errorf("%s: %s is %d bytes, the doc says %s", where, m[1], scalars[m[1]].Size(), m[2])
			}
			delete(scalars, m[1])
		}
		if m := keyTupleRE.FindStringSubmatch(line); m != nil && m[1] != strconv.Itoa(keys.MaxComponents) {
			t.Errorf("%s: a tuple has up to %d components, the doc says %s", where, keys.MaxComponents, m[1])
		}
		for _, m := range keyComponentRE.FindAllStringSubmatch(line, -1) {
			c, ok := keys.ParseComponent(m[1])
			if !ok {
				t.Errorf("%s: %s is not a tuple component", where, m[1])
				continue
			}
			if size, _ := strconv.Atoi(m[2]); size != c.Size() {
				t.Errorf("%s: %s is %d bytes, the doc says %s", where, m[1], c.Size(), m[2])
			}
			seen = append(seen, m[1])
		}
	}
	for name := range scalars {
		t.Errorf("%s does not list the scalar key %s", where, name)
	}
	for _, c := range []keys.Component{keys.U32, keys.U64, keys.Port, keys.IP4, keys.IP6} {
		if _, ok := keys.ParseComponent(c.String()); ok && !slices.Contains(seen, c.String()) {
			t.Errorf("%s does not list the tuple component %s", where, c)
		}
	}
}

// checkKeyLayout: the offsets, the components and the example bytes of
// the layout picture are what lang/keys computes for those components
// and the values written under them.
func checkKeyLayout(t *testing.T, where, body string) {
	var offsets, comps, bytesRow, values []string
	for line := range strings.Lines(body) {
		f := strings.Fields(strings.NewReplacer("|", " ", "+", " ", "-", " ").Replace(line))
		switch {
		case len(f) > 0 && f[0] == "offset":
			offsets = f[1:]
		case len(f) > 0 && f[0] == "bytes":
			bytesRow = f[1:]
		case strings.Contains(line, "|") && comps == nil:
			comps = f
		case len(f) > 0 && strings.Count(f[0], ".") == 3:
			values = f
		}
	}
	var cs []keys.Component
	for _, name := range comps {
		c, ok := keys.ParseComponent(name)
		if !ok {
			t.Fatalf("%s: %q is not a component", where, name)
		}
		cs = append(cs, c)
	}
	layout := keys.NewTuple(cs...)
	if len(offsets) != len(cs)+1 || len(values) != len(cs) {
		t.Fatalf("%s: %d offsets and %d values for %d components", where, len(offsets), len(values), len(cs))
	}
	for i, off := range offsets {
		want := layout.Size()
		if i < len(cs) {
			want = layout.Offset(i)
		}
		if off != strconv.Itoa(want) {
			t.Errorf("%s: offset %d is %s; lang/keys says %d", where, i, off, want)
		}
	}
	args := make([]any, len(cs))
	for i, v := range values {
		if addr, err := netip.ParseAddr(v); err == nil {
			args[i] = addr
		} else if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			args[i] = uint32(n)
		} else {
			t.Fatalf("%s: value %q is neither an address nor a number", where, v)
		}
	}
	key, err := layout.Encode(args...)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skipf("%s shows the bytes of a little-endian host", where)
	}
	if got := strings.Fields(fmt.Sprintf("% x", key)); !slices.Equal(got, bytesRow) {
		t.Errorf("%s shows the key as %v; lang/keys encodes %v", where, bytesRow, got)
	}
}

// diagnosticSamples are sources whose first diagnostic has every part of
// a template: an error with a hint, and a warning.
var diagnosticSamples = map[bool]string{
	false: "sockhash m: key u32\non msg to m:\n    if local_port = 9000: drop\n",
	true:  "sockhash m\non msg to m:\n    drop\n    count never\n",
}

// checkDiagnosticTemplate: the template, its upper-case words standing for
// the parts that vary, matches the first diagnostic of a real error (with
// its hint) or warning, line for line.
func checkDiagnosticTemplate(t *testing.T, where, body string) {
	tmpl := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	warning := strings.Contains(tmpl[0], "warning:")
	diags := sockc.Check("sample.sock", []byte(diagnosticSamples[warning]))
	var out strings.Builder
	diags.Format(&out)
	got := strings.Split(out.String(), "\n")
	if len(diags) == 0 || strings.Contains(got[0], "warning:") != warning {
		t.Fatalf("%s: the sample gives no diagnostic of the template's kind:\n%s", where, out.String())
	}
	if len(got) < len(tmpl) {
		t.Fatalf("%s: the template has %d lines; the diagnostic is\n%s", where, len(tmpl), out.String())
	}
	placeholders := strings.NewReplacer(
		"SOURCE LINE", `.*`, "FILE", `\S+`, "LINE", `\d+`, "COL", `\d+`,
		"MESSAGE", `.+`, "HINT", `.+`, `\^~~~~~`, `\s*\^~*`)
	for i, line := range tmpl {
		re := regexp.MustCompile("^" + placeholders.Replace(regexp.QuoteMeta(line)) + "$")
		if !re.MatchString(got[i]) {
			t.Errorf("%s: template line %q does not match line %d of a real diagnostic, %q", where, line, i+1, got[i])
		}
	}
}

// checkCommandOutput runs "sockc ARGS FILE" in a fresh directory, FILE
// holding the program or input block above, and requires the block to be
// its output, byte for byte.
func checkCommandOutput(t *testing.T, where, bin, command string, b textBlock) {
	args := strings.Fields(command)[1:]
	file := args[len(args)-1]
	if b.input == "" {
		t.Fatalf("%s: no block above holds %s", where, file)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(b.input), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %s: %v", where, command, err)
	}
	if string(out) != b.body {
		t.Errorf("%s shows the output of %s as\n%s\nit is\n%s", where, command, b.body, out)
	}
}

// checkUsage: the block is the usage line of the command's help, without
// the "[flags]" the help adds.
func checkUsage(t *testing.T, where, bin, command string, body string) {
	args := append(strings.Fields(command)[1:], "--help")
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %s --help: %v\n%s", where, command, err, out)
	}
	want := strings.TrimSpace(body) + " [flags]"
	for line := range strings.Lines(string(out)) {
		if strings.TrimSpace(line) == want {
			return
		}
	}
	t.Errorf("%s shows the usage %q; %s --help says\n%s", where, strings.TrimSpace(body), command, out)
}

// checkRootSession runs the "$ " lines of the block with bash, in a
// directory holding the examples, with sockc on PATH and a test pin
// directory in place of the bpffs path shown. The lines after a command
// must be the first lines of its output; "..." stands for the rest.
func checkRootSession(t *testing.T, where, bin, body string) {
	kerneltest.Require(t)
	kerneltest.Tool(t, "bpftool")
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS("examples")); err != nil {
		t.Fatal(err)
	}
	pinRE := regexp.MustCompile(`/sys/fs/bpf/[\w.-]+`)
	pins := filepath.Join(kerneltest.PinDir(t), "session")
	type step struct {
		cmd    string
		want   []string
		elided bool
	}
	var steps []step
	for line := range strings.Lines(strings.TrimSuffix(body, "\n")) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "$ "):
			steps = append(steps, step{cmd: pinRE.ReplaceAllString(line[2:], pins)})
		case len(steps) == 0:
			t.Fatalf("%s: output %q before any command", where, line)
		case line == "...":
			steps[len(steps)-1].elided = true
		default:
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
		}
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, s := range steps {
		cmd := exec.Command("bash", "-c", s.cmd)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", where, s.cmd, err, out)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(out) == 0 {
			got = nil
		}
		if len(got) < len(s.want) || !slices.Equal(got[:len(s.want)], s.want) || (!s.elided && len(got) != len(s.want)) {
			t.Errorf("%s: %s printed\n%s\nthe doc shows\n%s", where, s.cmd, out, strings.Join(s.want, "\n"))
		}
	}
}

// sameSet reports whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) && len(slices.Compact(a)) == len(b)
}

// TestLanguageDocBlockKinds: every fenced block of docs/language.md is of
// a kind that a test reads (sock, sock-error and sock-warning by
// sockblocks_test.go, ebnf by ebnf_test.go, text here), so that no block
// goes unchecked.
func TestLanguageDocBlockKinds(t *testing.T) {
	known := []string{"sock", "sock-error", "sock-warning", "ebnf", "text"}
	for _, f := range readFences(t, "docs/language.md") {
		if !slices.Contains(known, f.Info) {
			t.Errorf("docs/language.md:%d: a block of kind %q, which no test reads; use one of %v", f.Line, f.Info, known)
		}
	}
}
