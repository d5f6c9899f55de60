// Package check resolves and type-checks a parsed sockc file: maps and their
// key types, hooks, statements allowed per hook, fields and expressions. A
// file that checks clean must compile to instructions the verifier accepts.
package check

import (
	"fmt"
	"strings"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/keys"
	"github.com/sockc/sockc/lang/token"
)

// Check resolves f and reports problems to errs. The Program is complete
// only when errs has no errors.
func Check(f *ast.File, errs *diag.Collector) *Program {
	c := &checker{
		errs: errs,
		prog: &Program{File: f, Info: Info{
			Types:     map[ast.Expr]Type{},
			Consts:    map[ast.Expr]uint32{},
			Bools:     map[ast.Expr]bool{},
			Fields:    map[*ast.Name]hook.Field{},
			StmtMaps:  map[ast.Stmt]*Map{},
			CounterOf: map[*ast.CountStmt]*Counter{},
		}},
		maps:        map[string]*Map{},
		keyUses:     map[*Map][]keyUse{},
		updates:     map[*Map][]*familyGuard{},
		counters:    map[string]*Counter{},
		suggestLeft: suggestBudget,
	}
	c.declareMaps(f)
	for _, h := range c.resolveHandlers(f) {
		c.handler(h)
	}
	c.settleKeys()
	c.familyWarnings()
	c.hookPairs()
	c.statMaps()
	return c.prog
}

type checker struct {
	errs     *diag.Collector
	prog     *Program
	maps     map[string]*Map
	keyUses  map[*Map][]keyUse
	counters map[string]*Counter
	// footguns are sockops updates keyed by one port, reported once the
	// map's key type is settled.
	footguns []*ast.UpdateStmt
	// guards are the family guards of the enclosing ifs, innermost last;
	// updates holds, per map, the innermost guard of each of its sockops
	// updates (nil: none).
	guards          []*familyGuard
	updates         map[*Map][]*familyGuard
	tooManyCounters bool
	// mapList caches the map names for suggestions.
	mapList []string
	// suggestLeft is what remains of the file's budget of "did you mean"
	// comparisons (see suggest).
	suggestLeft int
	// deepReported is set once the expression being checked has been
	// reported as nested too deeply, so that it is reported once.
	deepReported bool
	// flowMaps are the maps whose redirect peer is metered (see
	// flowControl).
	flowMaps map[*Map]bool
}

// keyUse is one place a map's key is built.
type keyUse struct {
	node  ast.Node
	args  []ast.Expr // nil for redirect peer
	types []Type
	peer  bool
}

func (c *checker) errorf(n ast.Node, format string, args ...any) {
	c.errs.Errorf(n.Pos(), n.End(), format, args...)
}

func (c *checker) hintf(n ast.Node, hint, format string, args ...any) {
	c.errs.Add(diag.Error, n.Pos(), n.End(), hint, format, args...)
}

func (c *checker) at(p token.Pos) string {
	pos := c.errs.File().Position(p)
	return fmt.Sprintf("%d:%d", pos.Line, pos.Column)
}

// declareMaps collects map declarations, including the inline ones in
// handler headers, before anything refers to them: maps may be used above
// their declaration.
func (c *checker) declareMaps(f *ast.File) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.MapDecl:
			m := c.declare(d.Name, d.Kind)
			if m == nil {
				continue
			}
			if d.Key != nil {
				c.declaredKey(m, d.Key)
			}
			if d.Max != nil {
				m.Max = c.maxEntries(d.Max)
			}
		case *ast.Handler:
			if d.Map != nil && d.Map.Kind != ast.NoMapKind {
				c.declare(d.Map.Name, d.Map.Kind)
			}
		case *ast.BadDecl:
			if d.Map != nil {
				if m := c.declare(d.Map.Name, d.Map.Kind); m != nil {
					m.incomplete = true
				}
			}
		}
	}
}

func (c *checker) declare(name *ast.Ident, kind ast.MapKind) *Map {
	if prev, ok := c.maps[name.Name]; ok {
		c.errs.Add(diag.Error, name.Pos(), name.End(), "declare a map once, either on its own line or inline after `to`",
			"map %s redeclared (first declared at %s)", name.Name, c.at(prev.Pos))
		return nil
	}
	if abi.Reserved(name.Name) {
		c.errorf(name, "map name %s: the prefix %s is reserved for maps sockc declares", name.Name, abi.ReservedPrefix)
	}
	m := &Map{Name: name.Name, Kind: kind, Key: keys.ScalarU32(), Max: DefaultMax, Pos: name.Pos()}
	c.maps[name.Name] = m
	c.prog.Maps = append(c.prog.Maps, m)
	return m
}

func (c *checker) declaredKey(m *Map, k *ast.KeyType) {
	m.KeyDeclared = true
	if k.Scalar != nil {
		switch k.Scalar.Name {
		case "u32":
			m.Key = keys.ScalarU32()
		case "u64":
			m.Key = keys.ScalarU64()
		default:
			if _, ok := keys.ParseComponent(k.Scalar.Name); ok {
				c.hintf(k.Scalar, fmt.Sprintf("write key (%s) for a one-field tuple, or key u32", k.Scalar.Name),
					"key type %s must be u32, u64 or a tuple", k.Scalar.Name)
			} else {
				c.errorf(k.Scalar, "unknown key type %s: want u32, u64 or a tuple such as (ip4, port)", k.Scalar.Name)
			}
			m.KeyDeclared = false
			return
		}
	} else {
		var cs []keys.Component
		ok := true
		for _, id := range k.Components {
			comp, found := keys.ParseComponent(id.Name)
			if !found {
				c.errorf(id, "unknown key component %s: want ip, ip4, ip6, port or u32", id.Name)
				ok = false
				continue
			}
			cs = append(cs, comp)
		}
		if len(k.Components) > keys.MaxComponents {
			c.errorf(k, "key has %d components; at most %d are allowed", len(k.Components), keys.MaxComponents)
			ok = false
		}
		if !ok {
			m.KeyDeclared = false
			return
		}
		m.Key = keys.NewTuple(cs...)
	}
	if m.Kind == ast.SockMap && !m.Key.Equal(keys.ScalarU32()) {
		c.hintf(k, "use a sockhash for other key types", "sockmap %s is indexed by u32; it cannot have key %s", m.Name, m.Key)
		m.Key = keys.ScalarU32()
	}
}

func (c *checker) maxEntries(lit *ast.IntLit) uint32 {
	if !lit.Valid {
		return DefaultMax
	}
	if lit.Value < 1 || lit.Value > MaxEntries {
		c.errorf(lit, "max %s out of range: a map holds 1 to %d sockets", shortLit(lit.Raw), MaxEntries)
		return DefaultMax
	}
	return uint32(lit.Value)
}

func (c *checker) lookupMap(id *ast.Ident) *Map {
	if m, ok := c.maps[id.Name]; ok {
		return m
	}
	hint := ""
	if s := c.suggest(id.Name, c.mapNames()); s != "" {
		hint = "did you mean " + s + "?"
	} else {
		hint = "declare it: sockhash " + id.Name + ": key ..., or inline: to sockhash " + id.Name
	}
	c.errs.Add(diag.Error, id.Pos(), id.End(), hint, "unknown map %s", id.Name)
	return nil
}

// resolveHandlers finds each handler's hook and map, and rejects duplicate
// handlers. It returns every handler whose body can be checked, including
// those with an unknown map or a duplicate hook, so that their statements
// are checked too; only the valid ones join the Program.
func (c *checker) resolveHandlers(f *ast.File) []*Handler {
	var bodies []*Handler
	type slot struct {
		m *Map
		k hook.Kind
	}
	seen := map[slot]*ast.Handler{}
	for _, d := range f.Decls {
		hd, ok := d.(*ast.Handler)
		if !ok {
			continue
		}
		words := hd.HookWords()
		k := hook.Parse(words)
		if k == hook.Invalid {
			hint, guess := c.hookHint(hd, words)
			c.errs.Add(diag.Error, hd.HookSpan.Pos(), hd.HookSpan.End(), hint,
				"unknown hook %q", strings.Join(words, " "))
			if guess != nil {
				// The mistake is plain enough to check the body as
				// meant, so that its own errors are reported too.
				bodies = append(bodies, guess)
			}
			continue
		}
		h := &Handler{Decl: hd, Hook: k}
		switch {
		case k.NeedsMap() && hd.Map == nil:
			c.errs.Add(diag.Error, hd.HookSpan.Pos(), hd.HookSpan.End(), "write: on "+k.String()+" to MAP:",
				"on %s needs a map: on %s to MAP", k, k)
			continue
		case !k.NeedsMap() && hd.Map != nil:
			c.errs.Add(diag.Error, hd.Map.Pos(), hd.Map.End(), "sockops handlers run for every TCP socket of the cgroup; use update MAP key(...) to fill a map",
				"on %s does not attach to a map", k)
			continue
		}
		if hd.Map != nil {
			h.Map = c.lookupMap(hd.Map.Name)
			if h.Map == nil {
				bodies = append(bodies, h)
				continue
			}
		}
		s := slot{h.Map, k}
		if prev, dup := seen[s]; dup {
			what := "on " + k.String()
			if h.Map != nil {
				what += " handler for map " + h.Map.Name
			} else {
				what += " handler"
			}
			c.errs.Add(diag.Error, hd.HookSpan.Pos(), hd.HookSpan.End(), "merge the two handlers into one",
				"second %s (first at %s)", what, c.at(prev.Pos()))
			bodies = append(bodies, h)
			continue
		}
		seen[s] = hd
		c.prog.Handlers = append(c.prog.Handlers, h)
		bodies = append(bodies, h)
	}
	return bodies
}

// hookHint suggests a hook for unknown hook words. When the mistake is
// plain, it also returns the handler as meant, whose body can then be
// checked: a hook needing a map followed by one more word is a missing
// `to` (`on msg m:` for `on msg to m:`), and a hook in capitals or with
// underscores is that hook (`on Stream_Verdict to m:`).
func (c *checker) hookHint(hd *ast.Handler, words []string) (string, *Handler) {
	if n := len(words); n > 1 && hd.Map == nil {
		if k := hook.Parse(words[:n-1]); k != hook.Invalid && k.NeedsMap() {
			// A map that does not exist is not reported: the hook is.
			return "did you mean on " + k.String() + " to " + words[n-1] + "?",
				&Handler{Decl: hd, Hook: k, Map: c.maps[words[n-1]]}
		}
	}
	if k := hook.Parse(strings.Fields(strings.ToLower(strings.ReplaceAll(strings.Join(words, " "), "_", " ")))); k != hook.Invalid {
		h := &Handler{Decl: hd, Hook: k}
		if k.NeedsMap() != (hd.Map != nil) {
			h = nil // and more is wrong than the spelling
		} else if hd.Map != nil {
			h.Map = c.maps[hd.Map.Name.Name]
		}
		return "did you mean on " + k.String() + "?", h
	}
	var all []string
	for _, k := range hook.Kinds() {
		all = append(all, k.String())
	}
	if s := c.suggest(strings.Join(words, " "), all); s != "" {
		return "did you mean on " + s + "?", nil
	}
	return "hooks are: " + strings.Join(all, ", "), nil
}

// hookPairs checks combinations the kernel refuses or ignores.
func (c *checker) hookPairs() {
	by := map[*Map]map[hook.Kind]*Handler{}
	for _, h := range c.prog.Handlers {
		if h.Map == nil {
			continue
		}
		if by[h.Map] == nil {
			by[h.Map] = map[hook.Kind]*Handler{}
		}
		by[h.Map][h.Hook] = h
	}
	for _, h := range c.prog.Handlers {
		if h.Map == nil {
			continue
		}
		hs := by[h.Map]
		switch h.Hook {
		case hook.SkbVerdict:
			if sv := hs[hook.StreamVerdict]; sv != nil {
				c.errs.Add(diag.Error, h.Decl.HookSpan.Pos(), h.Decl.HookSpan.End(),
					"use stream verdict (with or without a parser) or skb verdict, not both",
					"map %s already has a stream verdict handler (at %s); the kernel refuses skb verdict beside it",
					h.Map.Name, c.at(sv.Decl.Pos()))
			}
		case hook.StreamParser:
			if hs[hook.StreamVerdict] == nil {
				c.errs.Add(diag.Warning, h.Decl.HookSpan.Pos(), h.Decl.HookSpan.End(),
					"add: on stream verdict to "+h.Map.Name+": ...",
					"the stream parser of map %s never runs without a stream verdict handler", h.Map.Name)
			}
		}
	}
}
