package sockgen

import (
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/keys"
)

// mapPlan is a map of the generated file and what the checker will know
// about its key while the handlers are written in source order.
type mapPlan struct {
	name    string
	sockmap bool
	max     uint32 // 0: not written (the default, 65535)
	layout  keys.Layout
	// declKey: the declaration writes the key type. Otherwise the checker
	// infers it from the first use in source order, which the generator
	// then writes with exactly the types that infer layout.
	declKey bool
	inline  bool // declared in the header of its first handler
	settled bool // the checker knows the key type by now
	peer    bool // an undeclared u64 key: only redirect peer can infer it
	// Handlers attached to the map.
	msg, parser, streamVerdict, skbVerdict bool
}

// capacity is the map's max_entries as the checker sees it.
func (m *mapPlan) capacity() uint32 {
	if m.max == 0 {
		return check.DefaultMax
	}
	return m.max
}

// peerTarget reports whether redirect peer may use m: a sockhash keyed by
// u64, declared or inferred from the redirect peer itself.
func (m *mapPlan) peerTarget() bool {
	return !m.sockmap && m.layout.Equal(keys.ScalarU64()) && (m.declKey || m.peer)
}

// keyable reports whether a key(...) for m can be written now. An
// undeclared u64 key must first be inferred from a redirect peer.
func (m *mapPlan) keyable() bool { return !m.peer || m.settled }

// components lists the key components that a tuple may hold.
func components() []keys.Component {
	var out []keys.Component
	for c := keys.Component(0); c.String() != ""; c++ {
		if _, ok := keys.ParseComponent(c.String()); ok {
			out = append(out, c)
		}
	}
	return out
}

// planLayout picks the key type of a sockhash, and whether it is written.
func (g *gen) planLayout(m *mapPlan) {
	m.declKey = g.r.IntN(2) == 0
	switch g.r.IntN(6) {
	case 0:
		m.layout = keys.ScalarU32()
	case 1:
		m.layout = keys.ScalarU64()
		m.peer = !m.declKey
	default:
		cs := components()
		n := 1 + g.r.IntN(4)
		if g.r.IntN(4) == 0 {
			n = 1 + g.r.IntN(keys.MaxComponents)
		}
		var tuple []keys.Component
		for range n {
			tuple = append(tuple, cs[g.r.IntN(len(cs))])
		}
		m.layout = keys.NewTuple(tuple...)
		if !m.declKey && n == 1 && tuple[0] != keys.IP6 && tuple[0] != keys.IP {
			// One component that is not a 16-byte address infers u32,
			// not a tuple: such a tuple can only be declared.
			m.declKey = true
		}
	}
	m.settled = m.declKey
}

// key writes the arguments of key(...) for m in the current handler and
// records the use. ok is false when no key can be written for m yet.
func (g *gen) key(m *mapPlan) (toks []string, ok bool) {
	if !m.keyable() {
		return nil, false
	}
	exact := !m.settled // the first use infers the layout
	m.settled = true
	var args []expr
	switch {
	case m.sockmap:
		args = []expr{g.index(m)}
	case !m.layout.Tuple:
		args = []expr{g.scalar()}
	default:
		for _, c := range m.layout.Components {
			args = append(args, g.component(c, exact))
		}
	}
	toks = []string{"key", "("}
	for i, a := range args {
		if i > 0 {
			toks = append(toks, ",")
		}
		toks = append(toks, a.toks...)
	}
	return append(toks, ")"), true
}

// valueSize is the size of expressions in keys and statements.
func (g *gen) valueSize() int { return 1 + g.r.IntN(5) }

// scalar is the one component of a u32 or u64 key: any value but an ip6
// address.
func (g *gen) scalar() expr {
	return g.limited(func() expr {
		switch g.r.IntN(6) {
		case 0:
			return g.ip4(g.valueSize())
		case 1:
			return g.family(g.valueSize())
		case 2:
			if g.r.IntN(4) == 0 {
				return g.hungry()
			}
		}
		return g.num(g.valueSize())
	})
}

// index is a sockmap index: a scalar whose constant value is below max.
func (g *gen) index(m *mapPlan) expr {
	for {
		e := g.scalar()
		if !e.konst || e.val < m.capacity() {
			return e
		}
		if g.r.IntN(4) == 0 {
			// An IPv4 literal whose value, its bytes as loaded, is an
			// index: 3.0.0.0 on a little-endian host.
			v := uint32(g.r.IntN(int(min(m.capacity(), 256))))
			if e := g.ip4Lit([4]byte{byte(v)}); e.val < m.capacity() {
				return e
			}
		}
		return g.intLit(uint32(g.r.IntN(int(min(m.capacity(), 1<<16)))))
	}
}

// component is one component of a tuple key. exact: the use infers the
// layout, so each argument has exactly the type that infers c.
func (g *gen) component(c keys.Component, exact bool) expr {
	return g.limited(func() expr {
		switch c {
		case keys.IP4:
			return g.ip4(g.valueSize())
		case keys.IP6:
			return g.fieldOf(tIP6)
		case keys.IP:
			// An ip component takes any address; only an ip field
			// infers it.
			switch r := g.r.IntN(4); {
			case exact || r < 2:
				return g.fieldOf(tIP)
			case r == 2:
				return g.fieldOf(tIP6)
			}
			return g.ip4(g.valueSize())
		case keys.Port:
			if exact {
				return g.fieldOf(tPort)
			}
			e := g.num(g.valueSize())
			if e.konst && e.val > 0xffff {
				e = g.intLit(e.val & 0xffff)
			}
			return e
		}
		// u32
		if g.r.IntN(4) == 0 {
			return g.family(g.valueSize())
		}
		if exact {
			return g.intExact(g.valueSize())
		}
		return g.num(g.valueSize())
	})
}
