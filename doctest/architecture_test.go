package doctest

import (
	"go/ast"
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
	err := walkGoFiles(func(path string) error {
		seen[filepath.ToSlash(filepath.Dir(path))] = true
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
	repoPathRE = regexp.MustCompile(`^(lang|internal|cmd|runtime|e2e|editors|examples|docs|doctest|testdata)(/[A-Za-z0-9_.-]+)*/?$`)
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

var (
	qualifiedRE = regexp.MustCompile(`\b([a-z]\w*)\.([A-Z]\w*)\b`)
	diagPkgRE   = regexp.MustCompile(`(?:^|\s)((?:lang|internal)/\w+|runtime)\b`)
	goFileRE    = regexp.MustCompile(`\b\w+\.go\b`)
	fieldsRE    = regexp.MustCompile(`^\s*\*?([a-z]\w*)\.([A-Z]\w*)\s+([A-Z]\w*(?:, [A-Z]\w*)+)(?:;|$)`)
)

// TestArchitectureDiagram holds the pipeline diagram, the doc's one
// fenced block, to the code: every pkg.Name it shows, for a package of
// the module, is a top-level name of that package; the fields listed
// after a type are fields of it; every package path in the right-hand
// column is a package; and every .go file on a line is a file of that
// line's package. Names of other modules (ebpf.CollectionSpec)
// are left to their modules.
func TestArchitectureDiagram(t *testing.T) {
	_, doc := docCodeSpans(t)
	blocks := fenceRE.FindAllString(doc, -1)
	if len(blocks) != 1 {
		t.Fatalf("%s has %d fenced blocks; the test reads one, the pipeline diagram", architectureDoc, len(blocks))
	}
	dirOf := map[string]string{} // package name: directory
	isPkg := map[string]bool{}
	for _, p := range goPackages(t) {
		isPkg[p] = true
		dirOf[filepath.Base(p)] = p
	}
	dirOf["sockc"] = "." // the root package, not the command cmd/sockc
	decls := map[string]map[string]ast.Node{}
	lookup := func(pkg, name string) ast.Node {
		if decls[pkg] == nil {
			decls[pkg] = packageDecls(t, dirOf[pkg])
		}
		return decls[pkg][name]
	}
	checked := 0
	for _, line := range strings.Split(blocks[0], "\n") {
		for _, m := range qualifiedRE.FindAllStringSubmatch(line, -1) {
			pkg, name := m[1], m[2]
			if _, ours := dirOf[pkg]; !ours {
				continue
			}
			checked++
			if lookup(pkg, name) == nil {
				t.Errorf("%s: the diagram shows %s.%s; package %s has no such name", architectureDoc, pkg, name, dirOf[pkg])
			}
		}
		if m := fieldsRE.FindStringSubmatch(line); m != nil {
			if _, ours := dirOf[m[1]]; ours {
				for _, field := range strings.Split(m[3], ", ") {
					checked++
					if !structHasField(lookup(m[1], m[2]), field) {
						t.Errorf("%s: the diagram lists %s as a field of %s.%s; it is not one", architectureDoc, field, m[1], m[2])
					}
				}
			}
		}
		var linePkg string
		for _, m := range diagPkgRE.FindAllStringSubmatch(line, -1) {
			checked++
			linePkg = m[1]
			if !isPkg[linePkg] {
				t.Errorf("%s: the diagram names package %s, which does not exist", architectureDoc, linePkg)
			}
		}
		for _, file := range goFileRE.FindAllString(line, -1) {
			checked++
			dir := "."
			if linePkg != "" {
				dir = linePkg
			}
			if _, err := os.Stat(filepath.Join(filepath.FromSlash(dir), file)); err != nil {
				t.Errorf("%s: the diagram names %s on the line of package %s: %v", architectureDoc, file, dir, err)
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d names of the diagram checked: has it lost them, or the test its patterns?", checked)
	}
	t.Logf("architecture: names in the pipeline diagram checked against the code: %d", checked)
}

// packageDecls returns the top-level declarations of the package in dir,
// without its tests and methods: a *ast.FuncDecl, *ast.TypeSpec or
// *ast.ValueSpec by name.
func packageDecls(t *testing.T, dir string) map[string]ast.Node {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(filepath.FromSlash(dir), "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	out := map[string]ast.Node{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					out[d.Name.Name] = d
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						out[s.Name.Name] = s
					case *ast.ValueSpec:
						for _, n := range s.Names {
							out[n.Name] = s
						}
					}
				}
			}
		}
	}
	return out
}

// structHasField reports whether decl declares a struct type with the
// named field.
func structHasField(decl ast.Node, field string) bool {
	ts, ok := decl.(*ast.TypeSpec)
	if !ok {
		return false
	}
	st, ok := ts.Type.(*ast.StructType)
	if !ok {
		return false
	}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			if n.Name == field {
				return true
			}
		}
		if len(f.Names) == 0 && embeddedName(f.Type) == field {
			return true
		}
	}
	return false
}

// embeddedName is the field name of an embedded field of type e.
func embeddedName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return embeddedName(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// TestParticipleStaysInParser holds the rule of docs/architecture.md that
// participle is lang/parser's business: no other package, tests included,
// imports it, so that its tokens, errors and messages never become part
// of another package's API.
func TestParticipleStaysInParser(t *testing.T) {
	fset := token.NewFileSet()
	importers := 0
	err := walkGoFiles(func(path string) error {
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if !strings.HasPrefix(strings.Trim(imp.Path.Value, `"`), "github.com/alecthomas/participle") {
				continue
			}
			if filepath.ToSlash(filepath.Dir(path)) != "lang/parser" {
				t.Errorf("%s imports %s: only lang/parser may", path, imp.Path.Value)
			}
			importers++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if importers == 0 {
		t.Error("no file imports participle: has lang/parser moved, or the test lost its way?")
	}
}

// walkGoFiles calls fn with the path of each .go file of the module's
// own tree, skipping hidden, underscore, testdata and bin directories.
func walkGoFiles(fn func(path string) error) error {
	return filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
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
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		return fn(path)
	})
}
