package editors

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sockc/sockc/internal/kerneltest"
)

// The npm packages of VS Code's TextMate engine the test runs, pinned so
// that a new release cannot change the result under an unchanged grammar,
// and vendored as the registry's tarballs in testdata/npm (its README says
// where they came from and how to refresh them), so that the test never
// reaches the npm registry: an outage there cannot fail it. integrity is
// the registry's dist.integrity of each, which the test checks the file
// against before installing it. Neither package has dependencies.
var vscodeEngine = []npmTarball{
	{"vscode-textmate@9.3.2", "vscode-textmate-9.3.2.tgz", "sha512-n2uGbUcrjhUEBH16uGA0TvUfhWwliFZ1e3+pTjrkim1Mt7ydB41lV08aUvsi70OlzDWp6X7Bx3w/x3fAXIsN0Q=="},
	{"vscode-oniguruma@2.0.1", "vscode-oniguruma-2.0.1.tgz", "sha512-poJU8iHIWnC3vgphJnrLZyI3YdqRlR27xzqDmpPXYzA93R4Gk8z7T6oqDzDoHjoikA2aS82crdXFkjELCdJsjQ=="},
}

// npmTarball is an npm package as `npm pack NAME@VERSION` saves it.
type npmTarball struct {
	spec, file, integrity string
}

// npmDir holds the vendored tarballs.
const npmDir = "testdata/npm"

// unreachableRegistry is the registry the test gives npm: a closed port
// on loopback, so that a change that made npm fetch anything (a package
// with a dependency, a dropped --offline) fails at once instead of
// passing while the registry happens to be up.
const unreachableRegistry = "http://127.0.0.1:9/"

// randomLines is how many generated lines join the sources' lines.
const randomLines = 20000

// TestGrammarMatchesVSCode runs the grammar in VS Code's own engine,
// vscode-textmate on the Oniguruma regexps VS Code uses (npm packages
// vendored in testdata/npm and installed offline), and in the Go
// tokenizer the other tests use, on every ASCII line of the sources and
// on generated lines, and requires the same scopes on every character. The other tests check the grammar through Go's regexp only;
// this is what keeps those results true of the editors, should an edit
// use a construct the two regexp engines read differently. Non-ASCII
// lines are left out: next to a non-ASCII letter, an error in sockc
// anyway, Oniguruma's \b sees no word boundary and Go's does.
func TestGrammarMatchesVSCode(t *testing.T) {
	node := kerneltest.Tool(t, "node")
	npm := kerneltest.Tool(t, "npm")
	g := loadGrammar(t)

	mods := installEngine(t, npm)

	var lines []string
	skipped := 0
	for _, s := range sources(t) {
		for line := range strings.Lines(string(s.src)) {
			line = strings.TrimSuffix(line, "\n")
			if !isASCII(line) {
				skipped++
				continue
			}
			lines = append(lines, line)
		}
	}
	fromSources := len(lines)
	lines = append(lines, generatedLines(g, randomLines)...)

	in, err := json.Marshal(lines)
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("testdata/vscode-tokenize.cjs")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, grammarPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(mods, "node_modules"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.Bytes())
	}
	var tokens [][]vscodeToken
	if err := json.Unmarshal(out, &tokens); err != nil {
		t.Fatalf("output of %s: %v", script, err)
	}
	if len(tokens) != len(lines) {
		t.Fatalf("vscode-textmate tokenized %d lines of %d", len(tokens), len(lines))
	}

	differ := 0
	for i, line := range lines {
		want := vscodeScopes(tokens[i], len(line))
		got := goScopes(g, line)
		for c := range len(line) {
			if slices.Equal(got[c], want[c]) {
				continue
			}
			differ++
			if differ <= 10 {
				t.Errorf("line %q, column %d (%q): Go gives %v, VS Code %v", line, c+1, line[c], got[c], want[c])
			}
			break
		}
	}
	if differ > 0 {
		t.Fatalf("%d of %d lines are scoped differently by Go and by VS Code's engine", differ, len(lines))
	}
	t.Logf("editors: %d source lines and %d generated lines scoped alike by Go and by %s; %d non-ASCII lines left out",
		fromSources, len(lines)-fromSources, engineName(), skipped)
}

// installEngine installs the vendored tarballs of vscodeEngine into a
// fresh directory and returns it. npm runs offline, with an empty cache
// of its own and an unreachable registry, and runs no package scripts:
// nothing can come from the network, nor from the cache of the user
// running the test.
func installEngine(t *testing.T, npm string) string {
	t.Helper()
	args := []string{"install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", "--ignore-scripts"}
	for _, p := range vscodeEngine {
		file, err := filepath.Abs(filepath.Join(npmDir, p.file))
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s, vendored from npm: %v (%s/README.md says how to fetch it)", p.spec, err, npmDir)
		}
		sum := sha512.Sum512(data)
		if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != p.integrity {
			t.Fatalf("%s: integrity %s; the registry published %s as %s", file, got, p.spec, p.integrity)
		}
		args = append(args, file)
	}
	// Flags, not npm_config_ variables: npm ranks its command line above
	// the environment and every npmrc.
	mods := t.TempDir()
	args = append(args, "--prefix", mods, "--cache", t.TempDir(), "--registry", unreachableRegistry, "--no-update-notifier")
	install := exec.Command(npm, args...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return mods
}

// engineName names the packages of vscodeEngine, for the log.
func engineName() string {
	var specs []string
	for _, p := range vscodeEngine {
		specs = append(specs, p.spec)
	}
	return strings.Join(specs, " with ")
}

// vscodeToken is one token of vscode-textmate: [start, end, scopes].
type vscodeToken struct {
	start, end int
	scopes     []string
}

func (tok *vscodeToken) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return fmt.Errorf("token %s: want [start, end, scopes]", b)
	}
	for i, dst := range []any{&tok.start, &tok.end, &tok.scopes} {
		if err := json.Unmarshal(raw[i], dst); err != nil {
			return fmt.Errorf("token %s: %w", b, err)
		}
	}
	return nil
}

// vscodeScopes returns the scopes of each character of a line of n
// characters, from vscode-textmate's tokens.
func vscodeScopes(tokens []vscodeToken, n int) [][]string {
	out := make([][]string, n)
	for _, tok := range tokens {
		for c := tok.start; c < tok.end && c < n; c++ {
			out[c] = tok.scopes
		}
	}
	return out
}

// goScopes returns the scopes of each character of a line from the Go
// tokenizer, nested as a TextMate engine nests them: the grammar's scope,
// then the match's, then its captures' in group order.
func goScopes(g *grammar, line string) [][]string {
	out := make([][]string, len(line))
	for c := range out {
		out[c] = []string{g.ScopeName}
	}
	for _, sp := range g.tokenize(line) {
		for c := sp.start; c < sp.end; c++ {
			out[c] = append(out[c], sp.scopes[len(sp.scopes)-1])
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// generatedLines returns n lines, the same every run, made of the words
// the grammar knows, numbers and addresses valid and not, operators,
// punctuation, comments and stray characters, joined with and without
// blanks: the places where two regexp engines could part.
func generatedLines(g *grammar, n int) []string {
	pieces := grammarWords(g)
	pieces = append(pieces,
		"proxy", "_x", "a1", "Foo", "on1", "x_y", "remote_portx",
		"0", "7", "010", "0x", "0x1f", "0X1F", "0xg", "4294967295", "99999999999", "1_000",
		"10.0.0.1", "300.1.1.1", "1.2.3", "1.2.3.4.5", "10.0.0.0/8", "/33", "1..5", "1...5", "..", ".",
		"==", "!=", "<", "<=", ">", ">=", "+", "-", "|", "^", "<<", ">>", "&", "(", ")", ",", ":", "/",
		"=", "&&", "||", "!", "~", "*", "%", "$", "@", "`", "'", `"x"`, "[", "]", "{", "}", ";", "\\",
		"#", "# a comment", "#on", "\t", "  ",
	)
	r := rand.New(rand.NewPCG(7, 11))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			if b.Len() > 0 && r.IntN(3) > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		out[i] = b.String()
	}
	return out
}
