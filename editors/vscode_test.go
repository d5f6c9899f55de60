package editors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// vscodeManifest is the part of editors/vscode/package.json that must agree
// with the grammar.
type vscodeManifest struct {
	Files       []string `json:"files"`
	Contributes struct {
		Languages []struct {
			ID            string   `json:"id"`
			Extensions    []string `json:"extensions"`
			Configuration string   `json:"configuration"`
		} `json:"languages"`
		Grammars []struct {
			Language  string `json:"language"`
			ScopeName string `json:"scopeName"`
			Path      string `json:"path"`
		} `json:"grammars"`
	} `json:"contributes"`
}

// languageConfiguration is the part of language-configuration.json that
// says something about the language.
type languageConfiguration struct {
	Comments struct {
		LineComment string `json:"lineComment"`
	} `json:"comments"`
	IndentationRules struct {
		IncreaseIndentPattern string `json:"increaseIndentPattern"`
		DecreaseIndentPattern string `json:"decreaseIndentPattern"`
	} `json:"indentationRules"`
	WordPattern string `json:"wordPattern"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestVSCodeExtension: the manifest contributes the grammar's scope for
// its file type, names the grammar file that the README copies beside it
// (VS Code loads no grammar from outside the extension's folder), and
// packs it; the language configuration comments with # and its regexps
// indent after a header and compile in the common subset.
func TestVSCodeExtension(t *testing.T) {
	g := loadGrammar(t)
	var m vscodeManifest
	readJSON(t, "vscode/package.json", &m)
	c := m.Contributes
	if len(c.Languages) != 1 || len(c.Grammars) != 1 {
		t.Fatalf("want one language and one grammar, have %d and %d", len(c.Languages), len(c.Grammars))
	}
	lang, gr := c.Languages[0], c.Grammars[0]
	if gr.Language != lang.ID || gr.ScopeName != g.ScopeName {
		t.Errorf("grammar for language %q with scope %q; want %q and %q", gr.Language, gr.ScopeName, lang.ID, g.ScopeName)
	}
	var exts []string
	for _, ft := range g.FileTypes {
		exts = append(exts, "."+ft)
	}
	if !slices.Equal(lang.Extensions, exts) {
		t.Errorf("extensions %q; want %q", lang.Extensions, exts)
	}
	base := filepath.Base(grammarPath)
	if gr.Path != "./"+base || !slices.Contains(m.Files, base) {
		t.Errorf("grammar path %q, files %q: want ./%s, packed", gr.Path, m.Files, base)
	}
	var lc languageConfiguration
	readJSON(t, filepath.Join("vscode", lang.Configuration), &lc)
	if !slices.Contains(m.Files, filepath.Base(lang.Configuration)) {
		t.Errorf("files %q do not pack %s", m.Files, lang.Configuration)
	}
	if lc.Comments.LineComment != "#" {
		t.Errorf("lineComment %q; sockc comments start with #", lc.Comments.LineComment)
	}
	increase, err := regexp.Compile(lc.IndentationRules.IncreaseIndentPattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{lc.IndentationRules.DecreaseIndentPattern, lc.WordPattern} {
		if _, err := regexp.Compile(p); err != nil || notCommonSubset.MatchString(p) {
			t.Errorf("%q: %v, or outside the common subset", p, err)
		}
	}
	for line, want := range map[string]bool{
		"on msg to m:":                 true,
		"    if size > 1:  # big: yes": true,
		"    else:":                    true,
		"on msg to m: pass":            false,
		"    if size > 1: drop # x: y": false,
		"sockhash m: key u32":          false,
	} {
		if got := increase.MatchString(line); got != want {
			t.Errorf("increaseIndentPattern on %q: %v, want %v", line, got, want)
		}
	}
}
