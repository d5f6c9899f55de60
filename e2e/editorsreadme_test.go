package e2e

import (
	"archive/zip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/internal/mdfence"
	"github.com/sockc/sockc/internal/netns"
)

const editorsReadmePath = "../editors/README.md"

// editorsSample is the file the test has bat highlight.
const editorsSample = "examples/proxy.sock"

// codeRecorder stands in for VS Code's `code` command, which cannot be
// installed here (it is not in Debian, and Microsoft's download servers
// are out of reach): it records its arguments, one per line, so that the
// test can check what VS Code would have been given.
const codeRecorder = `#!/bin/sh
printf '%s\n' "$@" > "$HOME/code-args"
`

// TestEditorsReadme runs every block of editors/README.md as written, as
// one shell script each, in a copy of the checkout with a fresh HOME and
// TMPDIR: the VS Code block packages the extension with the real vsce
// from npm, the bat block installs the Sublime syntax into the real bat.
// Then it checks the results: the package holds exactly the repository's
// grammar and manifests, in the layout VS Code reads, and is what `code
// --install-extension` was given; bat lists sockc and highlights an
// example it printed plain before.
//
// vsce cannot be vendored (with its dependencies it is 285 npm
// packages), so a block that runs npx needs the npm registry. Before such
// a block the test asks the registry once for the package npx will fetch
// (registryDown); if the registry cannot be reached, the block and the
// package checks are left out, the other blocks run and are checked as
// usual, and the test ends skipped, saying so: an npm outage is no
// reason to fail a change. If the registry answers, any failure of the
// block fails the test.
func TestEditorsReadme(t *testing.T) {
	blocks, err := mdfence.Read(editorsReadmePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"bash", "npx", "npm"} {
		kerneltest.Tool(t, tool)
	}
	home := t.TempDir()
	bin := filepath.Join(home, ".local", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("bat"); err != nil {
		// What the README tells Debian and Ubuntu readers to do.
		if err := os.Symlink(kerneltest.Tool(t, "batcat"), filepath.Join(bin, "bat")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "code"), []byte(codeRecorder), 0o755); err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "sockc")
	if err := copyCheckout("..", clone); err != nil {
		t.Fatal(err)
	}
	env := append(readerEnv(),
		"HOME="+home,
		"TMPDIR="+t.TempDir(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
	)
	sh := &tutorialShell{dir: clone, env: env}

	sample, err := os.ReadFile(filepath.Join(clone, editorsSample))
	if err != nil {
		t.Fatal(err)
	}
	before := batColors(t, sh, sample)
	if len(before) > 1 {
		t.Fatalf("bat colours %s in %d colours before the sockc syntax is installed; the test cannot tell the syntax's work from bat's", editorsSample, len(before))
	}

	var notRun []string // why a block that needs the npm registry did not run
	for _, b := range blocks {
		where := fmt.Sprintf("%s:%d", editorsReadmePath, b.Line)
		script := "set -e -o pipefail\n" + strings.Join(b.Lines, "\n")
		if m := npxRE.FindStringSubmatch(script); m != nil {
			if down := registryDown(t, sh, m[1]); down != "" {
				notRun = append(notRun, fmt.Sprintf("%s not run: %s", where, down))
				t.Logf("%s not run: %s", where, down)
				continue
			}
		} else if strings.Contains(script, "npx") {
			t.Fatalf("%s runs npx, but the test finds no package in it to ask the npm registry for", where)
		}
		out, code, err := sh.run(script, 5*time.Minute)
		if err != nil || code != 0 {
			t.Fatalf("%s: exit status %d, %v\n%s", where, code, err, out)
		}
		t.Logf("%s: ran %d lines", where, len(b.Lines))
	}

	if notRun == nil {
		checkVSIXInstalled(t, home)
	}

	out, code, err := sh.run("bat --list-languages", time.Minute)
	if err != nil || code != 0 {
		t.Fatalf("bat --list-languages: exit status %d, %v\n%s", code, err, out)
	}
	if !slices.Contains(strings.Split(out, "\n"), "sockc:sock") {
		t.Errorf("bat --list-languages has no line sockc:sock after the README's block:\n%s", out)
	}
	after := batColors(t, sh, sample)
	if len(after) < 3 {
		t.Errorf("bat colours %s in %d colours after the README's block (%q); want at least 3, as comments, keywords and names differ", editorsSample, len(after), after)
	}
	if notRun != nil && !t.Failed() {
		t.Skipf("%s\nso that block of the README was not checked, nor any VS Code package; the other blocks ran and passed (bat colours %s in %d colours, %d before)",
			strings.Join(notRun, "\n"), editorsSample, len(after), len(before))
	}
	t.Logf("editors: vsix checked; bat colours %s in %d colours, %d before", editorsSample, len(after), len(before))
}

// npxRE finds the package a block runs with npx, as npx is given it.
var npxRE = regexp.MustCompile(`\bnpx\s+(?:(?:--yes|-y)\s+)?([^\s-]\S*)`)

// npmNetworkErrors are the npm error codes of a registry that did not
// answer: the connection failed or timed out (FETCH_ERROR is npm's
// "network timeout"), or the name did not resolve. A 5xx status, the
// registry's own outage, is matched apart.
var npmNetworkErrors = []string{
	"EAI_AGAIN", "ENOTFOUND", "ECONNREFUSED", "ECONNRESET", "ECONNABORTED",
	"ETIMEDOUT", "ENETUNREACH", "ENETDOWN", "EHOSTUNREACH", "EHOSTDOWN", "FETCH_ERROR",
}

var (
	npmErrorCodeRE = regexp.MustCompile(`(?m)^npm error code (\S+)$`)
	npmServerRE    = regexp.MustCompile(`^E5[0-9][0-9]$`)
)

// registryDown asks the npm registry, from sh as the blocks run, for
// spec, the package a block has npx fetch: one `npm view` with an empty
// cache (so that no earlier answer stands in for the registry's), no
// retries and 20 seconds to answer. It returns why the registry cannot
// be reached, naming it, or "" if it answered with the package. An
// answer that is an error (no such package or version, say) fails the
// test: the registry is up, and the block would fail.
func registryDown(t *testing.T, sh *tutorialShell, spec string) string {
	t.Helper()
	registry := "the npm registry"
	if out, code, err := sh.run("npm config get registry", time.Minute); err == nil && code == 0 {
		registry += " " + strings.TrimSpace(out)
	}
	view := "npm view " + spec + " version"
	probe := netns.Quote("npm", "view", spec, "version", "--cache", t.TempDir(), "--fetch-retries=0", "--fetch-timeout=20000")
	out, code, err := sh.run(probe, 40*time.Second)
	switch {
	case err != nil && code == -1 && strings.HasPrefix(err.Error(), "timed out"):
		return fmt.Sprintf("%s cannot be reached (%s: no answer within 40 s)", registry, view)
	case err != nil:
		t.Fatalf("%s: %v\n%s", probe, err, out)
	case code == 0 && strings.TrimSpace(out) != "":
		return ""
	}
	m := npmErrorCodeRE.FindStringSubmatch(out)
	if m != nil && (slices.Contains(npmNetworkErrors, m[1]) || npmServerRE.MatchString(m[1])) {
		return fmt.Sprintf("%s cannot be reached (%s: %s)", registry, view, m[1])
	}
	t.Fatalf("%s: exit status %d: %s answered, and the block would fail:\n%s", probe, code, registry, out)
	return ""
}

var sgrRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// batColors has bat print the sample in colour and returns the distinct
// escape sequences it used, other than the reset, after checking that
// the text without them is the sample.
func batColors(t *testing.T, sh *tutorialShell, sample []byte) []string {
	t.Helper()
	out, code, err := sh.run("bat --color=always --style=plain --paging=never --theme=ansi "+editorsSample, time.Minute)
	if err != nil || code != 0 {
		t.Fatalf("bat %s: exit status %d, %v\n%s", editorsSample, code, err, out)
	}
	if plain := sgrRE.ReplaceAllString(out, ""); plain != string(sample) {
		t.Fatalf("bat printed %s as\n%s\nwhich, without colours, is not the file", editorsSample, plain)
	}
	var colors []string
	for _, sgr := range sgrRE.FindAllString(out, -1) {
		if sgr != "\x1b[0m" && !slices.Contains(colors, sgr) {
			colors = append(colors, sgr)
		}
	}
	slices.Sort(colors)
	return colors
}

// vsixManifest is the part of a VSIX's extension.vsixmanifest that names
// the extension.
type vsixManifest struct {
	Identity struct {
		ID        string `xml:"Id,attr"`
		Version   string `xml:"Version,attr"`
		Publisher string `xml:"Publisher,attr"`
	} `xml:"Metadata>Identity"`
}

// extensionManifest is the part of package.json that VS Code resolves to
// files of the extension.
type extensionManifest struct {
	Name        string `json:"name"`
	Publisher   string `json:"publisher"`
	Version     string `json:"version"`
	Contributes struct {
		Languages []struct {
			Configuration string `json:"configuration"`
		} `json:"languages"`
		Grammars []struct {
			Path string `json:"path"`
		} `json:"grammars"`
	} `json:"contributes"`
}

// checkVSIXInstalled checks that `code` was asked to install one .vsix
// and that the package is the repository's extension: the manifests and
// the grammar byte for byte under extension/, nothing else but the VSIX's
// own two files, every file package.json names present, and a VSIX
// identity that matches package.json.
func checkVSIXInstalled(t *testing.T, home string) {
	t.Helper()
	args, err := os.ReadFile(filepath.Join(home, "code-args"))
	if err != nil {
		t.Fatalf("the README's VS Code block never ran code: %v", err)
	}
	argv := strings.Split(strings.TrimSuffix(string(args), "\n"), "\n")
	if len(argv) != 2 || argv[0] != "--install-extension" || !strings.HasSuffix(argv[1], ".vsix") {
		t.Fatalf("code was run as code %q; want code --install-extension FILE.vsix", argv)
	}
	zr, err := zip.OpenReader(argv[1])
	if err != nil {
		t.Fatalf("the package code was given: %v", err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s in the package: %v", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s in the package: %v", f.Name, err)
		}
		files[f.Name] = data
	}

	want := map[string]string{ // name in the package: file in the repository
		"extension/sockc.tmLanguage.json": "../editors/textmate/sockc.tmLanguage.json",
	}
	jsons, err := filepath.Glob("../editors/vscode/*.json")
	if err != nil || len(jsons) == 0 {
		t.Fatalf("editors/vscode/*.json: %v, %d files", err, len(jsons))
	}
	for _, j := range jsons {
		want["extension/"+filepath.Base(j)] = j
	}
	for name, src := range want {
		repo, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := files[name]
		switch {
		case !ok:
			t.Errorf("the package has no %s", name)
		case string(got) != string(repo):
			t.Errorf("%s in the package differs from %s", name, src)
		}
	}
	for name := range files {
		if _, ok := want[name]; !ok && name != "extension.vsixmanifest" && name != "[Content_Types].xml" {
			t.Errorf("the package holds %s, which is not part of the extension", name)
		}
	}

	var pkg extensionManifest
	if err := json.Unmarshal(files["extension/package.json"], &pkg); err != nil {
		t.Fatalf("package.json in the package: %v", err)
	}
	var refs []string
	for _, l := range pkg.Contributes.Languages {
		refs = append(refs, l.Configuration)
	}
	for _, g := range pkg.Contributes.Grammars {
		refs = append(refs, g.Path)
	}
	if len(refs) == 0 {
		t.Error("package.json contributes no language configuration and no grammar")
	}
	for _, ref := range refs {
		if _, ok := files[path.Join("extension", ref)]; !ok {
			t.Errorf("package.json names %q, which is not in the package", ref)
		}
	}
	var vm vsixManifest
	if err := xml.Unmarshal(files["extension.vsixmanifest"], &vm); err != nil {
		t.Fatalf("extension.vsixmanifest: %v", err)
	}
	if id := vm.Identity; id.ID != pkg.Name || id.Publisher != pkg.Publisher || id.Version != pkg.Version {
		t.Errorf("extension.vsixmanifest names %s.%s %s; package.json %s.%s %s",
			id.Publisher, id.ID, id.Version, pkg.Publisher, pkg.Name, pkg.Version)
	}
}
