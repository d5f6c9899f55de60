package sockgen

import (
	"math"

	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/hook"
)

// maxNesting is how deep if statements nest.
const maxNesting = check.MaxNesting

// bigBudget is the least statement budget of a large handler.
const bigBudget = 100

// stmt is a generated statement: a simple statement's tokens, or an if.
type stmt struct {
	simple []string
	ends   bool // pass, drop, length: ends the handler
	cond   expr
	then   *block
	els    *block // nil: no else
}

type block struct{ stmts []*stmt }

// oneSimple reports whether b is one simple statement, which may follow
// the ':' of its header on the same line.
func (b *block) oneSimple() bool { return len(b.stmts) == 1 && b.stmts[0].then == nil }

// handlerCtx is the handler whose body is being generated.
type handlerCtx struct {
	hook hook.Kind
	m    *mapPlan // nil for sockops
}

// body generates a handler's statements.
func (g *gen) body(h handlerCtx) *block {
	g.hook = h.hook
	g.budget = 2 + g.r.IntN(12)
	if g.r.IntN(300) == 0 {
		g.budget = bigBudget + g.r.IntN(3*bigBudget) // long jumps, a long verification
	}
	if g.r.IntN(40) == 0 {
		return g.deepNest(h, 0)
	}
	var first []*stmt
	if h.m != nil && h.m.peer && !h.m.settled && h.hook.Allows(hook.StmtRedirectPeer) && g.r.IntN(4) > 0 {
		first = append(first, g.redirectPeer(h.m))
	}
	b := g.block(h, 0)
	b.stmts = append(first, b.stmts...)
	return b
}

// deepNest is a chain of ifs nested as deep as the checker allows,
// generated in source order like everything else (key inference depends
// on it).
func (g *gen) deepNest(h handlerCtx, depth int) *block {
	b := &block{}
	if g.r.IntN(2) == 0 || depth == maxNesting {
		b.stmts = append(b.stmts, g.simple(h))
	}
	if depth == maxNesting {
		return b
	}
	s := &stmt{cond: g.condition()}
	s.then = g.deepNest(h, depth+1)
	if g.r.IntN(3) == 0 {
		s.els = &block{stmts: []*stmt{g.simple(h)}}
	}
	b.stmts = append(b.stmts, s)
	return b
}

// block is a statement list at if-nesting depth.
func (g *gen) block(h handlerCtx, depth int) *block {
	b := &block{}
	n := 1 + g.r.IntN(4)
	if depth == 0 && g.budget >= bigBudget {
		n = g.budget / 2 // a large program is spent at the top
	}
	for i := 0; i < n && (i == 0 || g.budget > 0); i++ {
		s := g.stmt(h, depth)
		b.stmts = append(b.stmts, s)
		if s.ends && g.r.IntN(8) > 0 && n < bigBudget/2 {
			return b // mostly; sometimes go on, unreachable
		}
	}
	if t := g.terminal(h); t != nil && g.r.IntN(3) == 0 {
		b.stmts = append(b.stmts, t)
	}
	return b
}

func (g *gen) stmt(h handlerCtx, depth int) *stmt {
	g.budget--
	if depth < maxNesting && g.budget > 0 && g.r.IntN(4) == 0 {
		s := &stmt{cond: g.condition(), then: g.block(h, depth+1)}
		if g.r.IntN(2) == 0 {
			s.els = g.block(h, depth+1)
		}
		return s
	}
	return g.simple(h)
}

// condition is an if condition within the checker's limits.
func (g *gen) condition() expr {
	return g.limited(func() expr { return g.cond(1 + g.r.IntN(7)) })
}

// terminal is a statement that ends the handler, if the hook has one.
func (g *gen) terminal(h handlerCtx) *stmt {
	switch {
	case h.hook.Allows(hook.StmtPass) && g.r.IntN(2) == 0:
		return &stmt{simple: []string{"pass"}, ends: true}
	case h.hook.Allows(hook.StmtDrop):
		return &stmt{simple: []string{"drop"}, ends: true}
	case h.hook.Allows(hook.StmtLength):
		return g.length()
	}
	return nil
}

// simple is one simple statement the hook allows.
func (g *gen) simple(h handlerCtx) *stmt {
	for {
		switch g.r.IntN(12) {
		case 0, 1:
			return g.count()
		case 2:
			if t := g.terminal(h); t != nil {
				return t
			}
		case 3, 4, 5:
			if h.hook.Allows(hook.StmtRedirect) {
				if s := g.redirect(h); s != nil {
					return s
				}
			}
		case 6:
			if h.hook.Allows(hook.StmtRedirectPeer) && h.m.peerTarget() {
				return g.redirectPeer(h.m)
			}
		case 7:
			if h.hook.Allows(hook.StmtApply) {
				return g.byteCount("apply")
			}
		case 8:
			if h.hook.Allows(hook.StmtCork) {
				return g.byteCount("cork")
			}
		case 9:
			if h.hook.Allows(hook.StmtLength) {
				return g.length()
			}
		case 10, 11:
			if h.hook.Allows(hook.StmtUpdate) {
				if s := g.update(); s != nil {
					return s
				}
			}
		}
	}
}

func (g *gen) count() *stmt {
	return &stmt{simple: []string{"count", g.counters[g.r.IntN(len(g.counters))]}}
}

// redirect is redirect [MAP] key(...) [ingress], to the handler's map or
// another one.
func (g *gen) redirect(h handlerCtx) *stmt {
	m, named := h.m, g.r.IntN(8) == 0
	if g.r.IntN(4) == 0 {
		m, named = g.maps[g.r.IntN(len(g.maps))], true
	}
	k, ok := g.key(m)
	if !ok {
		return nil
	}
	toks := []string{"redirect"}
	if named {
		toks = append(toks, m.name)
	}
	toks = append(toks, k...)
	if g.r.IntN(2) == 0 {
		toks = append(toks, "ingress")
	}
	return &stmt{simple: toks}
}

// redirectPeer is redirect peer [ingress]; it infers m's u64 key if m
// declares none.
func (g *gen) redirectPeer(m *mapPlan) *stmt {
	m.settled = true
	toks := []string{"redirect", "peer"}
	if g.r.IntN(2) == 0 {
		toks = append(toks, "ingress")
	}
	return &stmt{simple: toks}
}

// update is update MAP key(...) into any map.
func (g *gen) update() *stmt {
	if len(g.maps) == 0 {
		return nil
	}
	m := g.maps[g.r.IntN(len(g.maps))]
	k, ok := g.key(m)
	if !ok {
		return nil
	}
	return &stmt{simple: append([]string{"update", m.name}, k...)}
}

// byteCount is apply N or cork N: a numeric N, never a constant 0.
func (g *gen) byteCount(kw string) *stmt {
	e := g.limited(func() expr {
		if g.r.IntN(10) == 0 {
			return g.hungry()
		}
		return g.num(g.valueSize())
	})
	if e.konst && e.val == 0 {
		e = g.intLit(1 + uint32(g.r.IntN(4096)))
	}
	return &stmt{simple: append([]string{kw}, e.toks...)}
}

// length is length [N]: a constant N is 1 to 2^31-1.
func (g *gen) length() *stmt {
	s := &stmt{simple: []string{"length"}, ends: true}
	if g.r.IntN(3) == 0 {
		return s
	}
	e := g.limited(func() expr {
		if g.r.IntN(10) == 0 {
			return g.hungry()
		}
		return g.num(g.valueSize())
	})
	if e.konst && (e.val == 0 || e.val > math.MaxInt32) {
		e = g.intLit(1 + uint32(g.r.IntN(65536)))
	}
	s.simple = append(s.simple, e.toks...)
	return s
}
