package sockc_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const architectureDoc = "docs/architecture.md"

// goPackages lists the module's packages as slash paths relative to the
// root ("." for the root package): every directory holding .go files,
// test-only ones included, as go list ./... sees them. Hidden
// directories, testdata and bin hold no packages of the module.
func goPackages(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			seen[filepath.ToSlash(filepath.Dir(path))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	if len(out) < 20 {
		t.Fatalf("found only %d packages: %v", len(out), out)
	}
	return out
}

// modulePath reads the module path from go.mod: the doc names the root
// package by it.
func modulePath(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	return string(m[1])
}

var (
	fenceRE = regexp.MustCompile("(?ms)^```.*?^```")
	codeRE  = regexp.MustCompile("`([^`\n]+)`")
	// repoPathRE matches a code span that names something in the tree:
	// a package, a directory (trailing slash) or a file under one of the
	// module's top-level directories.
	repoPathRE = regexp.MustCompile(`^(lang|internal|cmd|runtime|bench|e2e|editors|examples|docs|testdata)(/[A-Za-z0-9_.-]+)*/?$`)
)

// docCodeSpans returns the inline code spans of the doc, outside fenced
// blocks.
func docCodeSpans(t *testing.T) (map[string]bool, string) {
	t.Helper()
	b, err := os.ReadFile(architectureDoc)
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string]bool{}
	for _, m := range codeRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(string(b), ""), -1) {
		spans[m[1]] = true
	}
	return spans, string(b)
}

// TestArchitectureNamesEveryPackage: docs/architecture.md names every
// package of the module in a code span (the root by its module path), so
// that a new package comes with its paragraph.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	spans, _ := docCodeSpans(t)
	mod := modulePath(t)
	pkgs := goPackages(t)
	for _, p := range pkgs {
		name := p
		if p == "." {
			name = mod
		}
		if !spans[name] {
			t.Errorf("%s does not name package %s (as `%s`): add its paragraph", architectureDoc, p, name)
		}
	}
	t.Logf("architecture: packages named in %s: %d", architectureDoc, len(pkgs))
}

// TestArchitecturePathsExist: every package, directory or file that
// docs/architecture.md names in a code span exists, and a path without a
// trailing slash or file extension is a package, so that the doc cannot
// keep describing what was moved or deleted.
func TestArchitecturePathsExist(t *testing.T) {
	spans, _ := docCodeSpans(t)
	isPkg := map[string]bool{}
	for _, p := range goPackages(t) {
		isPkg[p] = true
	}
	checked := 0
	for s := range spans {
		if !repoPathRE.MatchString(s) {
			continue
		}
		checked++
		fi, err := os.Stat(filepath.FromSlash(strings.TrimSuffix(s, "/")))
		switch {
		case err != nil:
			t.Errorf("%s names `%s`, which does not exist", architectureDoc, s)
		case strings.HasSuffix(s, "/"):
			if !fi.IsDir() {
				t.Errorf("%s names `%s` as a directory; it is not one", architectureDoc, s)
			}
		case fi.IsDir() && !isPkg[s]:
			t.Errorf("%s names `%s` as a package; it holds no Go files (write `%s/` for a directory)", architectureDoc, s, s)
		}
	}
	if checked < 30 {
		t.Errorf("only %d paths checked in %s: has the doc lost its paths, or the pattern its reach?", checked, architectureDoc)
	}
	t.Logf("architecture: paths named in %s and checked: %d", architectureDoc, checked)
}

// TestPackageComments: each package has exactly one package comment, and
// it starts "Package NAME" ("Command NAME" for a main package, NAME the
// directory), as go doc expects. A package with only test files (e2e)
// keeps its comment in a test file of the package itself.
func TestPackageComments(t *testing.T) {
	for _, dir := range goPackages(t) {
		matches, err := filepath.Glob(filepath.Join(filepath.FromSlash(dir), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		var files, tests []string
		for _, m := range matches {
			if strings.HasSuffix(m, "_test.go") {
				tests = append(tests, m)
			} else {
				files = append(files, m)
			}
		}
		if len(files) == 0 {
			files = tests
		}
		fset := token.NewFileSet()
		var docs []string
		pkgName := ""
		for _, path := range files {
			f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f.Name.Name, "_test") {
				continue // an external test package documents nothing
			}
			pkgName = f.Name.Name
			if f.Doc != nil {
				docs = append(docs, filepath.Base(path)+": "+firstLine(f.Doc.Text()))
			}
		}
		want := "Package " + pkgName + " "
		if pkgName == "main" {
			want = "Command " + filepath.Base(filepath.FromSlash(dir)) + " "
		}
		switch {
		case len(docs) == 0:
			t.Errorf("package %s has no package comment; want one starting %q", dir, want)
		case len(docs) > 1:
			t.Errorf("package %s has %d package comments, want one: %s", dir, len(docs), strings.Join(docs, "; "))
		case !strings.HasPrefix(strings.SplitN(docs[0], ": ", 2)[1]+" ", want):
			t.Errorf("package %s: package comment %q does not start %q", dir, docs[0], want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
