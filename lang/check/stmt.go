package check

import (
	"math"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/keys"
)

func (c *checker) handler(h *Handler) {
	c.block(h, h.Decl.Body, 0)
}

// block checks a statement list and reports whether every path through it
// ends the handler (pass, drop, length).
func (c *checker) block(h *Handler, b *ast.Block, depth int) bool {
	done, warned := false, false
	for _, s := range b.Stmts {
		if done && !warned {
			c.errs.Add(diag.Warning, s.Pos(), s.End(), "", "unreachable statement")
			warned = true
		}
		// Unreachable statements are still checked: they are code the
		// user means to run.
		if c.stmt(h, s, depth) {
			done = true
		}
	}
	return done
}

// allowed reports whether hook h allows s, and reports it if not.
func (c *checker) allowed(h *Handler, n ast.Node, s hook.Stmt, name string) bool {
	if h.Hook.Allows(s) {
		return true
	}
	c.errs.Add(diag.Error, n.Pos(), n.End(), name+" is allowed in: "+hook.HooksAllowing(s),
		"%s is not allowed in on %s", name, h.Hook)
	return false
}

func (c *checker) stmt(h *Handler, s ast.Stmt, depth int) bool {
	switch s := s.(type) {
	case *ast.PassStmt:
		// A statement the hook refuses does not end the block, so that
		// the lines after it are not reported as unreachable as well.
		return c.allowed(h, s, hook.StmtPass, "pass")
	case *ast.DropStmt:
		return c.allowed(h, s, hook.StmtDrop, "drop")
	case *ast.IfStmt:
		if depth >= MaxNesting {
			c.errorf(s, "if statements nested too deeply (more than %d)", MaxNesting)
			return false
		}
		c.cond(h, s.Cond)
		then := c.guarded(c.familyTest(s.Cond, true), func() bool { return c.block(h, s.Then, depth+1) })
		if s.Else == nil {
			return false
		}
		els := c.guarded(c.familyTest(s.Cond, false), func() bool { return c.block(h, s.Else, depth+1) })
		return then && els
	case *ast.RedirectStmt:
		c.redirect(h, s)
	case *ast.ApplyStmt:
		if c.allowed(h, s, hook.StmtApply, "apply") {
			c.byteCount(h, s.Bytes, "apply")
		}
	case *ast.CorkStmt:
		if c.allowed(h, s, hook.StmtCork, "cork") {
			c.byteCount(h, s.Bytes, "cork")
		}
	case *ast.LengthStmt:
		if !c.allowed(h, s, hook.StmtLength, "length") {
			return false
		}
		if s.X != nil {
			if t := c.value(h, s.X); t != Invalid && !t.Numeric() {
				c.errorf(s.X, "length needs a byte count, not %s", t.A())
			} else if v, ok := c.prog.Consts[s.X]; ok && v == 0 {
				c.errs.Add(diag.Error, s.X.Pos(), s.X.End(), "a message must be at least 1 byte long",
					"length 0 means \"need more data\" to the kernel: the parser would wait forever")
			} else if ok && v > math.MaxInt32 {
				c.errs.Add(diag.Error, s.X.Pos(), s.X.End(), "a message is at most 2147483647 bytes (and at most the receive buffer)",
					"length %d is an error code to the kernel, which reads the parser's result as a signed int: the connection would be aborted", v)
			}
		}
		return true
	case *ast.UpdateStmt:
		if !c.allowed(h, s, hook.StmtUpdate, "update") {
			return false
		}
		m := c.lookupMap(s.Map)
		args := c.keyArgs(h, s.Key)
		if m == nil {
			return false
		}
		c.prog.StmtMaps[s] = m
		c.use(m, keyUse{node: s.Key, args: s.Key.Args, types: args})
		c.updates[m] = append(c.updates[m], c.innermostGuard())
		if len(s.Key.Args) == 1 {
			if n, ok := ast.Unparen(s.Key.Args[0]).(*ast.Name); ok && c.prog.Types[n] == Port {
				c.footguns = append(c.footguns, s)
			}
		}
	case *ast.CountStmt:
		c.count(s)
	}
	return false
}

func (c *checker) redirect(h *Handler, s *ast.RedirectStmt) {
	if s.Peer {
		if h.Hook == hook.Msg {
			c.errs.Add(diag.Error, s.Pos(), s.End(), "use on stream verdict or on skb verdict, or redirect key(...)",
				"redirect peer is not available in on msg: sk_msg programs cannot read the socket cookie")
			return
		}
		if !c.allowed(h, s, hook.StmtRedirectPeer, "redirect peer") {
			return
		}
	} else if !c.allowed(h, s, hook.StmtRedirect, "redirect") {
		return
	}
	m := h.Map
	if s.Map != nil {
		m = c.lookupMap(s.Map)
	}
	var args []Type
	if !s.Peer {
		args = c.keyArgs(h, s.Key)
	}
	if m == nil {
		return
	}
	c.prog.StmtMaps[s] = m
	if s.Peer {
		if m.Kind != ast.SockHash {
			c.errs.Add(diag.Error, s.Pos(), s.End(), "declare it as: sockhash "+m.Name+": key u64",
				"redirect peer needs a sockhash keyed by socket cookie; %s is a sockmap", m.Name)
			return
		}
		c.use(m, keyUse{node: s, peer: true})
		if m.PeerMap == "" {
			m.PeerMap = abi.PeerMapName(m.Name)
			c.prog.Peers = append(c.prog.Peers, &Map{
				Name: m.PeerMap, Kind: ast.SockHash, Key: keys.ScalarU64(), Max: m.Max, Pos: m.Pos, KeyDeclared: true,
			})
		}
		if (h.Hook == hook.StreamVerdict || h.Hook == hook.SkbVerdict) && !s.Ingress {
			c.flowControl(m)
		}
		return
	}
	c.use(m, keyUse{node: s.Key, args: s.Key.Args, types: args})
}

// keyArgs checks the components of key(...).
func (c *checker) keyArgs(h *Handler, k *ast.KeyExpr) []Type {
	switch {
	case len(k.Args) == 0:
		c.errorf(k, "key() needs at least one component")
	case len(k.Args) > keys.MaxComponents:
		c.errorf(k, "key has %d components; at most %d are allowed", len(k.Args), keys.MaxComponents)
	}
	types := make([]Type, len(k.Args))
	for i, a := range k.Args {
		t := c.value(h, a)
		if t == Bool {
			c.errorf(a, "a key component must be a value, not a condition")
			t = Invalid
		}
		types[i] = t
	}
	if len(k.Args) > keys.MaxComponents {
		// Reported above; keep the key out of inference and matching.
		for i := range types {
			types[i] = Invalid
		}
	}
	return types
}

// byteCount checks the argument of apply and cork.
func (c *checker) byteCount(h *Handler, e ast.Expr, stmt string) {
	t := c.value(h, e)
	if t == Invalid {
		return
	}
	if !t.Numeric() {
		c.errorf(e, "%s needs a byte count, not %s", stmt, t.A())
		return
	}
	if v, ok := c.prog.Consts[e]; ok && v == 0 {
		c.errorf(e, "%s 0 does nothing: the byte count must be at least 1", stmt)
	}
}

func (c *checker) count(s *ast.CountStmt) {
	if ctr, ok := c.counters[s.Name.Name]; ok {
		c.prog.CounterOf[s] = ctr
		return
	}
	if len(c.counters) >= MaxCounters {
		if !c.tooManyCounters { // once, not for every further name
			c.errorf(s.Name, "too many counters: at most %d per file", MaxCounters)
			c.tooManyCounters = true
		}
		return
	}
	ctr := &Counter{Name: s.Name.Name, Index: len(c.prog.Counters), Pos: s.Name.Pos()}
	c.counters[ctr.Name] = ctr
	c.prog.Counters = append(c.prog.Counters, ctr)
	c.prog.CounterOf[s] = ctr
}
