package check

import (
	"fmt"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/keys"
)

func (c *checker) use(m *Map, u keyUse) {
	c.keyUses[m] = append(c.keyUses[m], u)
}

// settleKeys infers the key type of maps that did not declare one, from
// their first use, and checks every use against the map's key type.
func (c *checker) settleKeys() {
	for _, m := range c.prog.Maps {
		if m.incomplete {
			continue
		}
		uses := c.keyUses[m]
		origin := "declared"
		if !m.KeyDeclared && m.Kind == ast.SockHash {
			for _, u := range uses {
				if l, ok := c.infer(u); ok {
					m.Key = l
					origin = "inferred from its use at " + c.at(u.node.Pos())
					break
				}
			}
		}
		if m.Kind == ast.SockMap {
			origin = "a sockmap is indexed by u32"
		}
		for _, u := range uses {
			c.match(m, u, origin)
		}
	}
	for _, s := range c.footguns {
		m := c.prog.StmtMaps[s]
		c.errs.Add(diag.Warning, s.Key.Pos(), s.Key.End(),
			fmt.Sprintf("key by the 4-tuple: update %s key(local_ip, local_port, remote_ip, remote_port), "+
				"and redirect to the peer with key(remote_ip, remote_port, local_ip, local_port)", m.Name),
			"map %s is filled by sockops under one port: a second connection on the same port replaces the first, "+
				"and its bytes go to the wrong socket", m.Name)
	}
}

// infer derives a key layout from a use whose types are all known.
func (c *checker) infer(u keyUse) (keys.Layout, bool) {
	if u.peer {
		return keys.ScalarU64(), true
	}
	for _, t := range u.types {
		if t == Invalid {
			return keys.Layout{}, false
		}
	}
	if len(u.types) == 0 || len(u.types) > keys.MaxComponents {
		return keys.Layout{}, false
	}
	if len(u.types) == 1 && !u.types[0].Wide() {
		return keys.ScalarU32(), true
	}
	cs := make([]keys.Component, len(u.types))
	for i, t := range u.types {
		switch t {
		case Port:
			cs[i] = keys.Port
		case IP4:
			cs[i] = keys.IP4
		case IP6:
			cs[i] = keys.IP6
		case IP:
			cs[i] = keys.IP
		default:
			cs[i] = keys.U32
		}
	}
	return keys.NewTuple(cs...), true
}

// match checks one use of m's key against its layout.
func (c *checker) match(m *Map, u keyUse, origin string) {
	declHint := fmt.Sprintf("map %s has key %s (%s)", m.Name, m.Key, origin)
	if u.peer {
		if !m.Key.Equal(keys.ScalarU64()) {
			c.errs.Add(diag.Error, u.node.Pos(), u.node.End(), declHint,
				"redirect peer needs map %s keyed by u64 (the socket cookie), not %s", m.Name, m.Key)
		}
		return
	}
	for _, t := range u.types {
		if t == Invalid {
			return
		}
	}
	if len(u.args) == 0 {
		return
	}
	if m.Kind == ast.SockMap {
		if len(u.args) != 1 {
			c.errs.Add(diag.Error, u.node.Pos(), u.node.End(), "use a sockhash for tuple keys",
				"sockmap %s is indexed by one u32, but this key has %d components", m.Name, len(u.args))
			return
		}
		if v, ok := c.prog.Consts[u.args[0]]; ok && v >= m.Max {
			c.errorf(u.args[0], "index %d out of range for sockmap %s (max %d: indexes 0..%d)", v, m.Name, m.Max, m.Max-1)
			return
		}
	}
	if !m.Key.Tuple {
		if len(u.args) != 1 {
			c.errs.Add(diag.Error, u.node.Pos(), u.node.End(), declHint,
				"key of map %s is one %s, but this key has %d components", m.Name, m.Key, len(u.args))
			return
		}
		if t := u.types[0]; t.Wide() {
			c.errs.Add(diag.Error, u.args[0].Pos(), u.args[0].End(), declHint,
				"%s does not fit in key %s", t.A(), m.Key)
		}
		return
	}
	if len(u.args) != len(m.Key.Components) {
		c.errs.Add(diag.Error, u.node.Pos(), u.node.End(), declHint,
			"key of map %s has %d components, but this key has %d", m.Name, len(m.Key.Components), len(u.args))
		return
	}
	for i, comp := range m.Key.Components {
		arg, t := u.args[i], u.types[i]
		if !fits(comp, t) {
			c.errs.Add(diag.Error, arg.Pos(), arg.End(), declHint,
				"component %d of the key of map %s is %s; %s is %s", i+1, m.Name, comp, exprText(arg), t.A())
			continue
		}
		if v, ok := c.prog.Consts[arg]; ok && comp == keys.Port && v > 0xffff {
			c.errorf(arg, "%d is out of range for a port (0..65535)", v)
		}
	}
}

// fits reports whether a value of type t may fill a key component.
func fits(comp keys.Component, t Type) bool {
	switch comp {
	case keys.Port:
		return t.Numeric()
	case keys.U32, keys.U64:
		return t.Numeric() || t == Family
	case keys.IP4:
		return t == IP4
	case keys.IP6:
		return t == IP6
	case keys.IP:
		// An ip component holds any address: ip as it is, ip6 as it
		// is, ip4 in its IPv4-mapped form.
		return t == IP || t == IP6 || t == IP4
	}
	return false
}

// exprText quotes a key argument for messages: its source form, or
// "this" when that is too long to quote. The arguments matched against a
// key type are values (a condition was refused by keyArgs), so they hold
// no not or in.
func exprText(e ast.Expr) string {
	if s := ast.ExprString(e); len(s) <= maxQuoted {
		return s
	}
	return "this"
}
