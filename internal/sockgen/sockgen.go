// Package sockgen generates random well-formed sockc programs from a seed, for property tests of the compiler.
package sockgen

import (
	"math/rand/v2"
	"strconv"

	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/keys"
)

// Generate returns a random sockc program that the generator means to be
// clean: it stays within every rule of docs/language.md that lang/check
// enforces, so a diagnostic error on it is a finding about the generator
// or the checker. The same seed always gives the same text.
func Generate(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x50c6_9e4e_7a7e))
	g := &gen{r: r, lay: newLayout(r)}
	g.plan()
	for _, it := range g.items {
		g.lay.filler()
		if it.h != nil {
			g.handler(it.h)
		} else {
			g.mapDecl(it.m)
		}
	}
	return g.lay.bytes()
}

// gen is the state of one generated file.
type gen struct {
	r        *rand.Rand
	lay      *layout
	maps     []*mapPlan
	items    []item
	counters []string
	hook     hook.Kind // of the handler being generated
	budget   int       // statements left in it
}

// item is a top-level item: a map declaration or a handler.
type item struct {
	m *mapPlan
	h *handlerPlan
}

type handlerPlan struct {
	hook   hook.Kind
	m      *mapPlan
	inline bool // declares m in its header: to sockhash NAME
}

// Names are ordinary identifiers, including the words the language
// gives meaning to without reserving them (§2.4).
var (
	mapNames = []string{
		"m", "socks", "proxy", "conns", "flows", "slots", "msg", "stream", "parser", "verdict",
		"skb", "established", "connect", "accept", "u32", "u64", "ip4", "ip6", "port", "size",
		"inet", "inet6", "family", "local_port", "remote_ip6", "M", "_", "_m2", "x9", "egress",
		"sockc", "SOCKC_x", "sockmapx", "a_map_name_longer_than_the_kernel_keeps",
	}
	counterNames = []string{
		"sent", "dropped", "n", "size", "msg", "inet", "u64", "key_", "Count", "_c", "passed",
		"c2", "x", "sockc_x", "remote_port", "established", "a_counter_name_of_some_length",
	}
	maxValues = []uint32{1, 2, 3, 4, 8, 16, 64, 100, 1024, 4096, 65535, 65536, check.MaxEntries}
)

// plan picks the maps, the handlers and the order of the items.
func (g *gen) plan() {
	n := 1 + g.r.IntN(3)
	switch g.r.IntN(20) {
	case 0:
		n = 0
	case 1, 2:
		n = 4
	}
	names := g.pick(mapNames, n)
	for _, name := range names {
		m := &mapPlan{name: name, sockmap: g.r.IntN(3) == 0}
		if m.sockmap {
			m.layout, m.declKey, m.settled = keys.ScalarU32(), g.r.IntN(4) == 0, true
		} else {
			g.planLayout(m)
		}
		if g.r.IntN(3) == 0 {
			m.max = maxValues[g.r.IntN(len(maxValues))]
		}
		g.maps = append(g.maps, m)
	}
	g.counters = g.pick(counterNames, 1+g.r.IntN(6))

	var handlers []*handlerPlan
	for _, m := range g.maps {
		m.msg = g.r.IntN(2) == 0
		switch k := g.r.IntN(20); {
		case k < 6:
		case k < 11:
			m.streamVerdict = true
		case k < 15:
			m.parser, m.streamVerdict = true, true
		case k < 19:
			m.skbVerdict = true
		default:
			m.parser = true // warned: it never runs without a verdict
		}
		if m.peer && !m.streamVerdict && !m.skbVerdict {
			m.skbVerdict = true // so that redirect peer can infer the key
		}
		for _, k := range []struct {
			on   bool
			hook hook.Kind
		}{{m.msg, hook.Msg}, {m.parser, hook.StreamParser}, {m.streamVerdict, hook.StreamVerdict}, {m.skbVerdict, hook.SkbVerdict}} {
			if k.on {
				handlers = append(handlers, &handlerPlan{hook: k.hook, m: m})
			}
		}
	}
	for _, k := range hook.Kinds() {
		if k.Sockops() && g.r.IntN(3) == 0 {
			handlers = append(handlers, &handlerPlan{hook: k})
		}
	}
	if len(handlers) == 0 {
		if len(g.maps) > 0 {
			g.maps[0].msg = true
			handlers = append(handlers, &handlerPlan{hook: hook.Msg, m: g.maps[0]})
		} else {
			handlers = append(handlers, &handlerPlan{hook: hook.Established})
		}
	}
	g.order(handlers)
}

// order shuffles the items: maps may be declared anywhere, or inline in
// the header of their first handler.
func (g *gen) order(handlers []*handlerPlan) {
	for _, h := range handlers {
		g.items = append(g.items, item{h: h})
	}
	g.r.Shuffle(len(g.items), func(i, j int) { g.items[i], g.items[j] = g.items[j], g.items[i] })
	var decls []item
	for _, m := range g.maps {
		if !m.declKey && m.max == 0 && g.r.IntN(4) == 0 {
			if h := g.firstHandler(m); h != nil {
				h.inline, m.inline = true, true
				continue
			}
		}
		decls = append(decls, item{m: m})
	}
	if g.r.IntN(2) == 0 {
		g.items = append(decls, g.items...) // the usual style
		return
	}
	for _, d := range decls {
		i := g.r.IntN(len(g.items) + 1)
		g.items = append(g.items[:i], append([]item{d}, g.items[i:]...)...)
	}
}

func (g *gen) firstHandler(m *mapPlan) *handlerPlan {
	for _, it := range g.items {
		if it.h != nil && it.h.m == m {
			return it.h
		}
	}
	return nil
}

// pick returns n distinct names from pool, or made-up ones when it runs
// out.
func (g *gen) pick(pool []string, n int) []string {
	idx := g.r.Perm(len(pool))
	var out []string
	for i := range n {
		if i < len(idx) {
			out = append(out, pool[idx[i]])
		} else {
			out = append(out, "n"+strconv.Itoa(i))
		}
	}
	return out
}

// mapDecl writes sockmap NAME or sockhash NAME, with its options in
// either order.
func (g *gen) mapDecl(m *mapPlan) {
	toks := []string{kindWord(m), m.name}
	var opts [][]string
	if m.declKey {
		opts = append(opts, append([]string{"key"}, keyType(m.layout)...))
	}
	if m.max != 0 {
		opts = append(opts, []string{"max", g.intText(m.max)})
	}
	g.r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	for i, o := range opts {
		if i == 0 {
			toks = append(toks, ":")
		} else {
			toks = append(toks, ",")
		}
		toks = append(toks, o...)
	}
	g.lay.line("", toks)
}

func kindWord(m *mapPlan) string {
	if m.sockmap {
		return "sockmap"
	}
	return "sockhash"
}

// keyType writes a key type as declared: u32, u64 or (c1, c2, ...).
func keyType(l keys.Layout) []string {
	if !l.Tuple {
		return []string{l.Components[0].String()}
	}
	toks := []string{"("}
	for i, c := range l.Components {
		if i > 0 {
			toks = append(toks, ",")
		}
		toks = append(toks, c.String())
	}
	return append(toks, ")")
}

// handler generates and writes one handler.
func (g *gen) handler(h *handlerPlan) {
	head := []string{"on"}
	head = append(head, splitWords(h.hook.String())...)
	if h.m != nil {
		head = append(head, "to")
		if h.inline {
			head = append(head, kindWord(h.m))
		}
		head = append(head, h.m.name)
	}
	head = append(head, ":")
	body := g.body(handlerCtx{hook: h.hook, m: h.m})
	tabs := g.r.IntN(4) == 0
	switch {
	case body.oneSimple() && g.r.IntN(3) == 0:
		g.lay.line("", append(head, body.stmts[0].simple...))
	case len(body.stmts) == 1 && body.stmts[0].els == nil && body.stmts[0].then != nil &&
		body.stmts[0].then.oneSimple() && g.r.IntN(2) == 0:
		s := body.stmts[0]
		g.lay.line("", append(append(append(head, "if"), s.cond.toks...), append([]string{":"}, s.then.stmts[0].simple...)...))
	default:
		g.lay.line("", head)
		g.writeBlock(body, g.lay.indentUnit(tabs), tabs)
	}
}

func splitWords(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// writeBlock writes the statements of a block at indent; bodies of ifs
// with one simple statement sometimes follow their ':' on the same line.
func (g *gen) writeBlock(b *block, indent string, tabs bool) {
	for _, s := range b.stmts {
		g.lay.filler()
		if s.then == nil {
			g.lay.line(indent, s.simple)
			continue
		}
		head := append(append([]string{"if"}, s.cond.toks...), ":")
		g.writeBody(head, s.then, indent, tabs)
		if s.els != nil {
			g.lay.filler()
			g.writeBody([]string{"else", ":"}, s.els, indent, tabs)
		}
	}
}

func (g *gen) writeBody(head []string, b *block, indent string, tabs bool) {
	if b.oneSimple() && g.r.IntN(2) == 0 {
		g.lay.line(indent, append(head, b.stmts[0].simple...))
		return
	}
	g.lay.line(indent, head)
	g.writeBlock(b, indent+g.lay.indentUnit(tabs), tabs)
}
