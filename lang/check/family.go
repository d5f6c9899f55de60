package check

import (
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/token"
)

// familyGuard is an enclosing if that lets only one address family's
// sockets through: `if family == inet:` (or an `and` with it), or the else
// of `if family != inet:`.
type familyGuard struct {
	test   ast.Expr // the family comparison
	family uint32   // hook.AFInet or hook.AFInet6
}

// familyTest returns the family a condition requires when it holds (eq)
// or when it fails (!eq): `family == inet` requires inet when it holds,
// `family != inet` when it fails. Only `and` keeps a requirement of one of
// its operands when it holds.
func (c *checker) familyTest(cond ast.Expr, holds bool) *familyGuard {
	switch e := ast.Unparen(cond).(type) {
	case *ast.BinaryExpr:
		switch e.Op {
		case token.LAND:
			if !holds {
				return nil
			}
			if g := c.familyTest(e.X, true); g != nil {
				return g
			}
			return c.familyTest(e.Y, true)
		case token.EQL, token.NEQ:
			if (e.Op == token.EQL) != holds {
				return nil
			}
			if c.prog.Types[e.X] != Family || c.prog.Types[e.Y] != Family {
				return nil
			}
			v, ok := c.prog.Consts[e.Y]
			if !ok {
				v, ok = c.prog.Consts[e.X]
			}
			if !ok || c.prog.IsConst(e.X) && c.prog.IsConst(e.Y) {
				return nil
			}
			return &familyGuard{test: e, family: v}
		}
	}
	return nil
}

// familyWarnings warns about maps that sockops fills only under a test of
// one address family. A bypass keyed by ip4 fields and guarded by `family
// == inet` leaves out every AF_INET6 socket, and that includes the
// sockets a dual-stack server accepts from IPv4 clients (iperf3 -s, Go's
// ":8080"): those connections then silently take the TCP path. The ip fields, which hold either family, need no such test.
func (c *checker) familyWarnings() {
	for _, m := range c.prog.Maps {
		guards := c.updates[m]
		if len(guards) == 0 {
			continue
		}
		fam := uint32(0)
		for _, g := range guards {
			if g == nil || fam != 0 && g.family != fam {
				fam = 0
				break
			}
			fam = g.family
		}
		if fam == 0 {
			continue
		}
		hint := "key by local_ip and remote_ip, which hold an address of either family (IPv4 in IPv4-mapped form), and drop the family test: " +
			"update " + m.Name + " key(local_ip, local_port, remote_ip, remote_port)"
		for _, g := range guards {
			t := g.test
			if fam == hook.AFInet {
				c.errs.Add(diag.Warning, t.Pos(), t.End(), hint,
					"only AF_INET sockets reach this update of map %s: the sockets of a dual-stack server (AF_INET6 with IPv4-mapped addresses, "+
						"as iperf3 -s or Go's \":8080\" accept them) and IPv6 sockets are left out, and their connections take the TCP path", m.Name)
			} else {
				c.errs.Add(diag.Warning, t.Pos(), t.End(), hint,
					"only AF_INET6 sockets reach this update of map %s: AF_INET sockets (IPv4 clients, servers bound to an IPv4 address) "+
						"are left out, and their connections take the TCP path", m.Name)
			}
		}
	}
}

// guarded runs check with g (if not nil) as the innermost family guard.
func (c *checker) guarded(g *familyGuard, check func() bool) bool {
	if g == nil {
		return check()
	}
	c.guards = append(c.guards, g)
	defer func() { c.guards = c.guards[:len(c.guards)-1] }()
	return check()
}

func (c *checker) innermostGuard() *familyGuard {
	if len(c.guards) == 0 {
		return nil
	}
	return c.guards[len(c.guards)-1]
}
