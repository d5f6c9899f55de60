package doctest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The code side of diagnostics_test.go: the message and hint
// patterns the compiler can print, read from its source with go/ast.

// diagMsg is one message or hint the code can print.
type diagMsg struct {
	kind    string // "message" or "hint"
	pattern string // diagWild for each varying part; a warning starts with "warning: "
	where   string // file:function
	pos     string // file:line
}

// diagShow writes a pattern with %v for each varying part.
func diagShow(p string) string { return strings.ReplaceAll(p, diagWild, "%v") }

// diagDynamic reports whether a pattern has no fixed text at all.
func diagDynamic(p string) bool { return strings.Trim(p, diagWild) == "" }

// diagReporter says where a reporting function takes its arguments.
type diagReporter struct {
	format, args, hint, sev int    // argument indexes, -1 when absent
	severity                string // "error" or "warning", when sev is -1
	printf                  bool   // the message is a fmt format
}

// diagPkg is one package of the compiler, parsed.
type diagPkg struct {
	dir      string
	fset     *token.FileSet
	files    []*ast.File
	names    map[*ast.File]string
	funcs    map[string][]*ast.FuncDecl
	imports  map[string]string   // local name -> import path, over all files
	values   map[string]ast.Expr // package-level constants and variables, by name
	wrappers map[string]diagReporter
	depth    int // of the resolution under way, against cycles
}

// diagLoad parses the non-test Go files of dir, or srcs (file name to
// source) when it is not nil.
func diagLoad(dir string, srcs map[string]string) (*diagPkg, error) {
	p := &diagPkg{
		dir: dir, fset: token.NewFileSet(), names: map[*ast.File]string{},
		funcs:   map[string][]*ast.FuncDecl{},
		imports: map[string]string{}, values: map[string]ast.Expr{}, wrappers: map[string]diagReporter{},
	}
	if srcs == nil {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		srcs = map[string]string{}
		for _, path := range paths {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			srcs[filepath.ToSlash(path)] = string(b)
		}
	}
	var names []string
	for name := range srcs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		// Object resolution is on: it ties each use of a local variable
		// to its declaration, which is how assignments are followed.
		f, err := parser.ParseFile(p.fset, name, srcs[name], 0)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
		p.names[f] = name
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			local := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			p.imports[local] = path
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				p.funcs[d.Name.Name] = append(p.funcs[d.Name.Name], d)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if vs, ok := s.(*ast.ValueSpec); ok && len(vs.Values) == len(vs.Names) {
						for i, n := range vs.Names {
							p.values[n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
	}
	if len(p.files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", dir)
	}
	return p, nil
}

// importPath returns the import path of x when it names an imported
// package, else "".
func (p *diagPkg) importPath(x ast.Expr) string {
	id, ok := x.(*ast.Ident)
	if !ok || id.Obj != nil {
		return ""
	}
	return p.imports[id.Name]
}

// severityOf reads diag.Error or diag.Warning.
func (p *diagPkg) severityOf(e ast.Expr) string {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || !strings.HasSuffix(p.importPath(sel.X), "/lang/diag") {
		return ""
	}
	switch sel.Sel.Name {
	case "Error":
		return "error"
	case "Warning":
		return "warning"
	}
	return ""
}

// reporter tells whether call reports a diagnostic, and how.
func (p *diagPkg) reporter(call *ast.CallExpr) (diagReporter, bool) {
	var name string
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		name = fun.Name
	case *ast.SelectorExpr:
		name = fun.Sel.Name
		if path := p.importPath(fun.X); path != "" {
			if p.dir != diagCodegenDir {
				return diagReporter{}, false
			}
			switch {
			case path == "fmt" && name == "Errorf":
				return diagReporter{format: 0, args: 1, hint: -1, sev: -1, severity: "error", printf: true}, true
			case path == "errors" && name == "New":
				return diagReporter{format: 0, args: -1, hint: -1, sev: -1, severity: "error"}, true
			}
			return diagReporter{}, false
		}
		// The methods of diag.Collector.
		switch {
		case (name == "Errorf" || name == "Warnf") && len(call.Args) >= 3:
			sev := "error"
			if name == "Warnf" {
				sev = "warning"
			}
			return diagReporter{format: 2, args: 3, hint: -1, sev: -1, severity: sev, printf: true}, true
		case name == "Add" && len(call.Args) >= 5:
			return diagReporter{format: 4, args: 5, hint: 3, sev: 0, printf: true}, true
		}
	default:
		return diagReporter{}, false
	}
	w, ok := p.wrappers[name]
	return w, ok
}

// paramIndex returns the index of the parameter of fd that e names, or -1.
func diagParamIndex(fd *ast.FuncDecl, e ast.Expr) int {
	id, ok := e.(*ast.Ident)
	if !ok || id.Obj == nil {
		return -1
	}
	i := 0
	for _, f := range fd.Type.Params.List {
		for _, n := range f.Names {
			if n.Obj == id.Obj {
				return i
			}
			i++
		}
		if len(f.Names) == 0 {
			i++
		}
	}
	return -1
}

// findWrappers finds the functions that pass their parameters on as the
// message, hint or severity of a report, until no more are found.
func (p *diagPkg) findWrappers() error {
	for changed := true; changed; {
		changed = false
		for _, fds := range p.funcs {
			for _, fd := range fds {
				if fd.Body == nil {
					continue
				}
				var err error
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || err != nil {
						return err == nil
					}
					r, ok := p.reporter(call)
					if !ok {
						return true
					}
					w := diagReporter{format: -1, args: -1, hint: -1, sev: -1, severity: r.severity, printf: r.printf}
					if r.format >= 0 && r.format < len(call.Args) {
						w.format = diagParamIndex(fd, call.Args[r.format])
					}
					if r.hint >= 0 && r.hint < len(call.Args) {
						w.hint = diagParamIndex(fd, call.Args[r.hint])
					}
					if w.format < 0 && w.hint < 0 {
						return true
					}
					if r.args >= 0 && call.Ellipsis.IsValid() && len(call.Args) == r.args+1 {
						w.args = diagParamIndex(fd, call.Args[r.args])
					}
					if r.sev >= 0 {
						if w.severity = p.severityOf(call.Args[r.sev]); w.severity == "" {
							w.sev = diagParamIndex(fd, call.Args[r.sev])
						}
					}
					name := fd.Name.Name
					if old, ok := p.wrappers[name]; ok {
						if old != w {
							err = fmt.Errorf("%s: two reporting functions named %s", p.fset.Position(fd.Pos()), name)
						}
						return true
					}
					p.wrappers[name] = w
					changed = true
					return true
				})
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// collect returns the messages and hints the package reports, and every
// string value its code writes (for the checks of diagDocEndings).
func (p *diagPkg) collect() (msgs, values []diagMsg, err error) {
	if err := p.findWrappers(); err != nil {
		return nil, nil, err
	}
	for _, f := range p.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			where := p.names[f] + ":" + fd.Name.Name
			add := func(kind string, pats []string, sev string, at token.Pos) {
				for _, pat := range pats {
					if pat == "" {
						continue // no hint
					}
					if kind == "message" && sev == "warning" {
						pat = "warning: " + pat
					}
					pos := p.fset.Position(at)
					msgs = append(msgs, diagMsg{kind, pat, where, fmt.Sprintf("%s:%d", pos.Filename, pos.Line)})
				}
			}
			_, wrapper := p.wrappers[fd.Name.Name]
			passed := func(e ast.Expr) bool { return wrapper && diagParamIndex(fd, e) >= 0 }
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					r, ok := p.reporter(n)
					if !ok {
						return true
					}
					sev := r.severity
					if r.sev >= 0 && r.sev < len(n.Args) {
						if sev = p.severityOf(n.Args[r.sev]); sev == "" && !passed(n.Args[r.sev]) {
							err = fmt.Errorf("%s: cannot tell the severity of this report", p.fset.Position(n.Pos()))
						}
					}
					if r.format >= 0 && r.format < len(n.Args) && !passed(n.Args[r.format]) {
						pats := p.resolve(fd, n.Args[r.format])
						if r.printf {
							var args []ast.Expr
							if r.args >= 0 && r.args <= len(n.Args) {
								args = n.Args[r.args:]
							}
							pats = p.format(fd, pats, args)
						}
						add("message", pats, sev, n.Pos())
					}
					if r.hint >= 0 && r.hint < len(n.Args) && !passed(n.Args[r.hint]) {
						add("hint", p.resolve(fd, n.Args[r.hint]), sev, n.Pos())
					}
				case *ast.CompositeLit:
					var lits []*ast.CompositeLit
					switch {
					case p.isDiagType(n.Type, "Diagnostic"):
						lits = append(lits, n)
					case p.isDiagType(n.Type, "List"):
						for _, e := range n.Elts {
							if u, ok := e.(*ast.UnaryExpr); ok {
								e = u.X
							}
							if c, ok := e.(*ast.CompositeLit); ok {
								lits = append(lits, c)
							}
						}
					}
					for _, lit := range lits {
						sev := "error"
						for _, e := range lit.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok && diagKey(kv) == "Severity" {
								if sev = p.severityOf(kv.Value); sev == "" {
									err = fmt.Errorf("%s: cannot tell the severity of this diagnostic", p.fset.Position(kv.Pos()))
								}
							}
						}
						for _, e := range lit.Elts {
							kv, ok := e.(*ast.KeyValueExpr)
							if !ok {
								continue
							}
							switch diagKey(kv) {
							case "Message":
								add("message", p.resolve(fd, kv.Value), sev, kv.Pos())
							case "Hint":
								add("hint", p.resolve(fd, kv.Value), sev, kv.Pos())
							}
						}
					}
				}
				return err == nil
			})
			if err != nil {
				return nil, nil, err
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var pats []string
			switch n := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
					pats = []string{diagVerbs(s)}
				}
			case *ast.BinaryExpr:
				if n.Op == token.ADD {
					pats = p.value(n)
				}
			}
			for _, s := range pats {
				// Only text that starts with a literal: "x + y" would
				// match any words.
				if !diagDynamic(s) && !strings.HasPrefix(s, diagWild) {
					pos := p.fset.Position(n.Pos())
					values = append(values, diagMsg{"value", s, p.names[f], fmt.Sprintf("%s:%d", pos.Filename, pos.Line)})
				}
			}
			return pats == nil // a concatenation is taken whole
		})
	}
	return msgs, values, nil
}

func diagKey(kv *ast.KeyValueExpr) string {
	if id, ok := kv.Key.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// isDiagType reports whether e is diag.NAME.
func (p *diagPkg) isDiagType(e ast.Expr, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == name && strings.HasSuffix(p.importPath(sel.X), "/lang/diag")
}

// resolve returns the texts e can have where it is a whole message or
// hint: variables are followed to what is assigned to them, and calls of
// the package's functions to what they return.
func (p *diagPkg) resolve(fd *ast.FuncDecl, e ast.Expr) []string {
	if p.depth > 8 {
		return []string{diagWild}
	}
	p.depth++
	defer func() { p.depth-- }()
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return []string{s}
		}
	case *ast.ParenExpr:
		return p.resolve(fd, e.X)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return p.value(e)
		}
	case *ast.Ident:
		return p.ident(fd, e)
	case *ast.CallExpr:
		return p.call(fd, e, 0)
	}
	return []string{diagWild}
}

// value returns the texts of a part of a message: a literal is itself, a
// concatenation is followed, and anything else is a part that varies (a
// name, a type, a token: what the doc writes in upper case).
func (p *diagPkg) value(e ast.Expr) []string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return []string{s}
		}
	case *ast.ParenExpr:
		return p.value(e.X)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return diagConcat(p.value(e.X), p.value(e.Y))
		}
	}
	return []string{diagWild}
}

// diagConcat returns every a+b.
func diagConcat(as, bs []string) []string {
	var out []string
	for _, a := range as {
		for _, b := range bs {
			out = append(out, diagCollapse(a+b))
		}
	}
	return diagUnique(out)
}

// ident resolves a variable or constant.
func (p *diagPkg) ident(fd *ast.FuncDecl, id *ast.Ident) []string {
	obj := id.Obj
	if obj == nil {
		// Declared in another file of the package, or not at all.
		if v, ok := p.values[id.Name]; ok {
			return p.resolve(nil, v)
		}
		return []string{diagWild}
	}
	switch d := obj.Decl.(type) {
	case *ast.Field:
		if fd != nil && fd.Type.Results != nil && d.Pos() >= fd.Type.Results.Pos() && d.End() <= fd.Type.Results.End() {
			return p.assigned(fd, obj)
		}
		return []string{diagWild} // a parameter: a value the caller passes
	case *ast.ValueSpec:
		if fd == nil || d.Pos() < fd.Pos() || d.End() > fd.End() {
			for i, n := range d.Names {
				if n.Obj == obj && i < len(d.Values) && len(d.Values) == len(d.Names) {
					return p.resolve(nil, d.Values[i])
				}
			}
			return []string{diagWild}
		}
		return p.assigned(fd, obj)
	case *ast.AssignStmt:
		if fd != nil {
			return p.assigned(fd, obj)
		}
	}
	return []string{diagWild}
}

// assigned returns the texts the variable obj of fd can hold: the union of
// its assignments, with each += appended to them.
func (p *diagPkg) assigned(fd *ast.FuncDecl, obj *ast.Object) []string {
	var bases, suffixes []string
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); !ok || id.Obj != obj {
					continue
				}
				switch {
				case n.Tok == token.ADD_ASSIGN:
					suffixes = append(suffixes, p.value(n.Rhs[0])...)
				case len(n.Lhs) == len(n.Rhs):
					bases = append(bases, p.resolve(fd, n.Rhs[i])...)
				default:
					bases = append(bases, p.tuple(fd, n.Rhs[0], i)...)
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				switch {
				case id.Obj != obj:
				case len(n.Values) == 0:
					bases = append(bases, "")
				case len(n.Values) == len(n.Names):
					bases = append(bases, p.resolve(fd, n.Values[i])...)
				default:
					bases = append(bases, p.tuple(fd, n.Values[0], i)...)
				}
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok && id.Obj == obj {
					bases = append(bases, diagWild)
				}
			}
		}
		return true
	})
	if len(bases) == 0 {
		bases = []string{""} // a named result never assigned
	}
	out := bases
	for _, s := range suffixes {
		out = append(out, diagConcat(bases, []string{s})...)
	}
	return diagUnique(out)
}

// tuple resolves result i of a call assigned to several variables.
func (p *diagPkg) tuple(fd *ast.FuncDecl, e ast.Expr, i int) []string {
	if call, ok := e.(*ast.CallExpr); ok {
		return p.call(fd, call, i)
	}
	return []string{diagWild}
}

// call resolves result i of a call: fmt.Sprintf, or a function of the
// package that returns a string there.
func (p *diagPkg) call(fd *ast.FuncDecl, call *ast.CallExpr, i int) []string {
	var name string
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		name = fun.Name
	case *ast.SelectorExpr:
		if path := p.importPath(fun.X); path != "" {
			if path == "fmt" && fun.Sel.Name == "Sprintf" && i == 0 && len(call.Args) > 0 {
				return p.format(fd, p.resolve(fd, call.Args[0]), call.Args[1:])
			}
			return []string{diagWild}
		}
		name = fun.Sel.Name
	default:
		return []string{diagWild}
	}
	var out []string
	for _, callee := range p.funcs[name] {
		out = append(out, p.returns(callee, i)...)
	}
	if len(out) == 0 {
		return []string{diagWild}
	}
	return diagUnique(out)
}

// returns resolves result i of every return statement of fd, when that
// result is a string.
func (p *diagPkg) returns(fd *ast.FuncDecl, i int) []string {
	if fd.Body == nil || fd.Type.Results == nil {
		return nil
	}
	var results []*ast.Ident // names, nil for unnamed
	var isString []bool
	for _, f := range fd.Type.Results.List {
		id, ok := f.Type.(*ast.Ident)
		str := ok && id.Name == "string"
		if len(f.Names) == 0 {
			results, isString = append(results, nil), append(isString, str)
		}
		for _, n := range f.Names {
			results, isString = append(results, n), append(isString, str)
		}
	}
	if i >= len(results) || !isString[i] {
		return []string{diagWild}
	}
	var out []string
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			switch {
			case len(n.Results) == len(results):
				out = append(out, p.resolve(fd, n.Results[i])...)
			case len(n.Results) == 1:
				out = append(out, p.tuple(fd, n.Results[0], i)...)
			case len(n.Results) == 0 && results[i] != nil:
				out = append(out, p.assigned(fd, results[i].Obj)...)
			}
		}
		return true
	})
	return out
}

// format applies a fmt format to its arguments: a verb is a part that
// varies, except that a format that is one %s or %v passes its argument on
// as the message, which is then resolved.
func (p *diagPkg) format(fd *ast.FuncDecl, formats []string, args []ast.Expr) []string {
	var out []string
	for _, f := range formats {
		if (f == "%s" || f == "%v") && len(args) == 1 {
			out = append(out, p.resolve(fd, args[0])...)
			continue
		}
		out = append(out, diagVerbs(f))
	}
	return diagUnique(out)
}

// diagVerbs replaces the verbs of a fmt format by diagWild.
func diagVerbs(f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("+-# 0123456789.*[]", f[j]) >= 0 {
			j++
		}
		b.WriteString(diagWild)
		i = j // the verb letter
	}
	return diagCollapse(b.String())
}

// diagCollapse merges adjacent wildcards.
func diagCollapse(s string) string {
	for strings.Contains(s, diagWild+diagWild) {
		s = strings.ReplaceAll(s, diagWild+diagWild, diagWild)
	}
	return s
}

func diagUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
