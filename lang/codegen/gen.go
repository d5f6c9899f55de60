package codegen

import (
	"encoding/binary"
	"math"

	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/keys"
)

// BPF return codes and flags (include/uapi/linux/bpf.h).
const (
	skDrop     = 0
	skPass     = 1
	fIngress   = 1 // BPF_F_INGRESS
	sockopsRet = 1
)

// gen compiles the handlers of one program.
type gen struct {
	*emitter
	prog *check.Program
	ls   *lines
	hook hook.Kind

	// ctx holds the context pointer: r1 on entry, r6 when it must
	// survive helper calls.
	ctx          asm.Register
	r1IsCtx      bool // r1 still holds the context pointer (no call, no reuse yet)
	calls        int  // helper calls emitted so far
	ctxAfterCall bool // the context was used after a helper call

	free []asm.Register // scratch registers not in use

	// spilled holds the stack slots (8-byte aligned frame offsets) that
	// an instruction emitted so far may leave holding a spilled register;
	// see toStack. Jumps only go forward, so what was emitted before an
	// instruction is all that can have run before it: the set only grows
	// (an if's then branch, emitted first, does not run before its else).
	spilled map[int16]bool
	// cleared holds the slots the current statement has cleared and not
	// spilled since: a statement's stores run in a straight line.
	cleared map[int16]bool

	pass, exitOK, drop label // epilogues; exitOK is the exit after "r0 = 1"
}

// scratchOrder is the allocation order of scratch registers: caller-saved
// first, then callee-saved ones not reserved for the context.
var scratchOrder = []asm.Register{asm.R2, asm.R3, asm.R4, asm.R5, asm.R0, asm.R1, asm.R7, asm.R8, asm.R9}

func newGen(p *check.Program, ls *lines, k hook.Kind, ctx asm.Register) *gen {
	g := &gen{emitter: newEmitter(), prog: p, ls: ls, hook: k, ctx: ctx, r1IsCtx: true, spilled: map[int16]bool{}, cleared: map[int16]bool{}}
	for _, r := range scratchOrder {
		if r != ctx {
			g.free = append(g.free, r)
		}
	}
	g.pass, g.exitOK, g.drop = g.newLabel(), g.newLabel(), g.newLabel()
	return g
}

func (g *gen) alloc() asm.Register {
	if len(g.free) == 0 {
		// check.MaxRegs keeps expressions within the registers there are;
		// reaching this is a bug in the checker's Need.
		panic("codegen: out of registers")
	}
	r := g.free[0]
	g.free = g.free[1:]
	if r == asm.R1 {
		g.r1IsCtx = false
	}
	return r
}

// take reserves a specific register, which must be free.
func (g *gen) take(r asm.Register) {
	for i, f := range g.free {
		if f == r {
			g.free = append(g.free[:i], g.free[i+1:]...)
			if r == asm.R1 {
				g.r1IsCtx = false
			}
			return
		}
	}
	panic("codegen: register " + r.String() + " is not free")
}

func (g *gen) release(rs ...asm.Register) {
	free := map[asm.Register]bool{}
	for _, r := range append(rs, g.free...) {
		free[r] = true
	}
	// Keep the preference order, so that allocation is deterministic.
	g.free = g.free[:0:0]
	for _, r := range scratchOrder {
		if free[r] {
			g.free = append(g.free, r)
		}
	}
}

// useCtx records a context access for the r1/r6 decision.
func (g *gen) useCtx() {
	if g.calls > 0 {
		g.ctxAfterCall = true
	}
}

func (g *gen) at(n ast.Node) { g.src = g.ls.at(n) }

// body compiles the handlers and the epilogues.
func (g *gen) body(hs []*check.Handler) {
	g.at(hs[0].Decl)
	if g.ctx != asm.R1 {
		g.emit(asm.Mov.Reg(g.ctx, asm.R1))
	}
	if g.hook.Sockops() {
		g.sockops(hs)
		return
	}
	h := hs[0]
	if g.hook == hook.StreamVerdict || g.hook == hook.SkbVerdict {
		g.dropEmpty()
	}
	after := contPass
	if g.hook == hook.StreamParser {
		after = contOther
	}
	g.block(h.Decl.Body.Stmts, after)
	g.at(h.Decl)
	switch {
	case g.hook == hook.StreamParser:
		// Reaching the end of a parser: the whole skb is the message.
		g.length(nil)
	default:
		g.bind(g.pass)
		g.emit(asm.Mov.Imm32(asm.R0, skPass))
		g.bind(g.exitOK)
		g.exit()
		g.bind(g.drop)
		g.emit(asm.Mov.Imm32(asm.R0, skDrop))
		g.exit()
	}
}

// dropEmpty drops an skb without data before the handler runs. A verdict
// program sees the empty skb that carries a connection's FIN. Redirected,
// or passed while the socket's backlog holds skbs, it reaches the backlog
// worker as a zero-byte send, which the worker takes for a hard error: the
// socket gets EPIPE and stops transmitting for good (sk_psock_backlog in
// net/core/skmsg.c). Dropping it loses nothing: TCP has already processed
// the FIN.
func (g *gen) dropEmpty() {
	r := g.alloc()
	g.useCtx()
	g.emit(asm.LoadMem(r, g.ctx, hook.SkbLenOffset, asm.Word))
	g.jumpImm(asm.JEq, r, 0, g.drop)
	g.release(r)
}

// sockops compiles all sockops handlers into one program: each body runs
// when the op is one of its hook's ops.
func (g *gen) sockops(hs []*check.Handler) {
	for _, h := range hs {
		g.at(h.Decl)
		skip := g.newLabel()
		r := g.alloc()
		g.useCtx()
		g.emit(asm.LoadMem(r, g.ctx, hook.OpOffset, asm.Word))
		ops := h.Hook.Ops()
		if len(ops) == 1 {
			g.jumpImm(asm.JNE, r, uint32(ops[0]), skip)
		} else {
			// established: active (4) or passive (5), one unsigned range test.
			g.emit(asm.Sub.Imm32(r, ops[0]))
			g.jumpImm(asm.JGT, r, uint32(ops[len(ops)-1]-ops[0]), skip)
		}
		g.release(r)
		g.block(h.Decl.Body.Stmts, contOther)
		g.bind(skip)
	}
	g.at(hs[len(hs)-1].Decl)
	g.emit(asm.Mov.Imm32(asm.R0, sockopsRet))
	g.exit()
}

// cont says where control goes after a statement: straight to the pass
// or drop epilogue, or on to other code.
type cont int

const (
	contOther cont = iota
	contPass
	contDrop
)

// block compiles a statement list; after is where control goes when the
// list ends.
func (g *gen) block(stmts []ast.Stmt, after cont) {
	for i, s := range stmts {
		if !g.reachable {
			// After pass, drop or length: the checker warned about the
			// rest, and there is nothing to emit.
			return
		}
		next := after
		if i+1 < len(stmts) {
			next = contOf(stmts[i+1])
		}
		g.stmt(s, next)
	}
}

func contOf(s ast.Stmt) cont {
	switch s.(type) {
	case *ast.PassStmt:
		return contPass
	case *ast.DropStmt:
		return contDrop
	}
	return contOther
}

func (g *gen) stmt(s ast.Stmt, next cont) {
	g.at(s)
	g.cleared = map[int16]bool{}
	switch s := s.(type) {
	case *ast.PassStmt:
		g.jump(g.pass)
	case *ast.DropStmt:
		g.jump(g.drop)
	case *ast.IfStmt:
		g.ifStmt(s, next)
	case *ast.RedirectStmt:
		g.redirect(s, next)
	case *ast.ApplyStmt:
		g.msgBytes(asm.FnMsgApplyBytes, s.Bytes)
	case *ast.CorkStmt:
		g.msgBytes(asm.FnMsgCorkBytes, s.Bytes)
	case *ast.LengthStmt:
		g.length(s.X)
	case *ast.UpdateStmt:
		g.update(s)
	case *ast.CountStmt:
		g.count(s)
	}
}

func (g *gen) ifStmt(s *ast.IfStmt, next cont) {
	// `if C: pass` and `if C: drop` jump straight to the epilogue; an
	// else body then simply follows.
	if len(s.Then.Stmts) == 1 {
		var target label = noLabel
		switch s.Then.Stmts[0].(type) {
		case *ast.PassStmt:
			target = g.pass
		case *ast.DropStmt:
			target = g.drop
		}
		if target != noLabel {
			g.branch(s.Cond, true, target)
			if s.Else != nil {
				g.block(s.Else.Stmts, next)
			}
			return
		}
	}
	els, end := g.newLabel(), g.newLabel()
	g.branch(s.Cond, false, els)
	g.block(s.Then.Stmts, next)
	if s.Else != nil {
		g.jump(end)
		g.bind(els)
		g.block(s.Else.Stmts, next)
	} else {
		g.bind(els)
	}
	g.bind(end)
}

// call emits a helper call; r1-r5 are clobbered.
func (g *gen) call(fn asm.BuiltinFunc) {
	g.emit(fn.Call())
	g.calls++
	g.r1IsCtx = false
}

// ctxArg puts the context pointer in r1 for a helper call.
func (g *gen) ctxArg() {
	g.useCtx()
	if !g.r1IsCtx {
		g.emit(asm.Mov.Reg(asm.R1, g.ctx))
		g.r1IsCtx = true
	}
}

func (g *gen) mapPtr(r asm.Register, name string) {
	if r == asm.R1 {
		g.r1IsCtx = false
	}
	g.emit(asm.LoadMapPtr(r, 0).WithReference(name))
}

func (g *gen) redirect(s *ast.RedirectStmt, next cont) {
	m := g.prog.StmtMaps[s]
	var flags int32
	if s.Ingress {
		flags = fIngress
	}
	msg := g.hook == hook.Msg
	switch {
	case s.Peer:
		// The companion map holds each socket under its peer's cookie, so
		// the key is this socket's own cookie (see abi.PeerMapName).
		g.ctxArg()
		g.call(asm.FnGetSocketCookie)
		g.toStack(asm.StoreMem(asm.RFP, -8, asm.R0, asm.DWord))
		redirectPeer := func() {
			g.ctxArg()
			g.mapPtr(asm.R2, m.PeerMap)
			g.emit(asm.Mov.Reg(asm.R3, asm.RFP), asm.Add.Imm(asm.R3, -8))
			g.emit(asm.Mov.Imm32(asm.R4, flags))
			g.call(asm.FnSkRedirectHash)
		}
		if !g.metered(s) {
			redirectPeer()
			break
		}
		// A socket without a FlowMap entry takes a copy of the redirect
		// that counts nothing: one copy whose count tests for the entry
		// is refused by the verifiers before 6.17 from a caller without
		// CAP_PERFMON. They follow the mispredicted side of a null test
		// they know the answer to, with the register made unknown, and
		// refuse the count's access there.
		unmetered, done := g.newLabel(), g.newLabel()
		g.flowGate(unmetered)
		redirectPeer()
		g.flowCount()
		g.jump(done)
		g.bind(unmetered)
		redirectPeer()
		g.bind(done)
		g.release(asm.R7)
	case m.Kind == ast.SockMap:
		// The *_map helpers take the u32 index by value.
		g.take(asm.R3)
		g.value(s.Key.Args[0], asm.R3)
		g.ctxArg()
		g.mapPtr(asm.R2, m.Name)
		g.emit(asm.Mov.Imm32(asm.R4, flags))
		g.release(asm.R3)
		if msg {
			g.call(asm.FnMsgRedirectMap)
		} else {
			g.call(asm.FnSkRedirectMap)
		}
	default:
		off := g.key(m.Key, s.Key.Args)
		g.ctxArg()
		g.mapPtr(asm.R2, m.Name)
		g.emit(asm.Mov.Reg(asm.R3, asm.RFP), asm.Add.Imm(asm.R3, int32(off)))
		g.emit(asm.Mov.Imm32(asm.R4, flags))
		if msg {
			g.call(asm.FnMsgRedirectHash)
		} else {
			g.call(asm.FnSkRedirectHash)
		}
	}
	g.countRedirect(m, next)
	// The helper returns SK_PASS when it found the socket; returning that
	// completes the redirect. On SK_DROP the handler goes on: a failed
	// lookup never drops by itself.
	switch next {
	case contPass:
		// Whatever the helper said, the next stop is "return SK_PASS".
	case contDrop:
		// redirect, else drop: the helper's result is the verdict
		// (SK_MSG and SK_SKB return values are not range-checked).
		g.exit()
	default:
		g.jumpImm(asm.JEq, asm.R0, skPass, g.exitOK)
	}
}

// key builds a sockhash key on the stack and returns its frame offset.
// The words are stored from the last to the first: within an 8-byte slot
// the upper word before the lower, aligned one (see toStack).
func (g *gen) key(l keys.Layout, args []ast.Expr) int16 {
	base := -int16((l.Size() + 7) &^ 7)
	if !l.Tuple && l.Components[0] == keys.U64 {
		g.storeU64(base, args[0])
		return base
	}
	for i := len(l.Components) - 1; i >= 0; i-- {
		c := l.Components[i]
		off := base + int16(l.Offset(i))
		arg := args[i]
		switch c {
		case keys.IP6:
			g.copyIP6(off, g.prog.Fields[ast.Unparen(arg).(*ast.Name)].Offset)
			continue
		case keys.IP:
			g.storeIP(off, arg)
			continue
		}
		g.storeWord(off, arg)
	}
	return base
}

// storeWord stores a 32-bit value at frame offset off: a constant as an
// immediate.
func (g *gen) storeWord(off int16, arg ast.Expr) {
	if v, ok := g.prog.Consts[arg]; ok {
		g.toStack(asm.StoreImm(asm.RFP, off, int64(int32(v)), asm.Word))
		return
	}
	r := g.alloc()
	g.value(arg, r)
	g.toStack(asm.StoreMem(asm.RFP, off, r, asm.Word))
	g.release(r)
}

// toStack emits a store to the stack. Verifiers before Linux 6.13 (and
// 6.12.x before the fix's backport) refuse, from a caller without
// CAP_PERFMON, a store of less than 8 bytes into an 8-byte slot that
// holds a spilled register ("attempt to corrupt spilled pointer on
// stack"), even a spilled scalar; and since 6.x a 4-byte store of a
// register at an aligned offset is itself such a spill. So a slot that
// an earlier store may have left spilled is cleared with an 8-byte store
// of zero first, and keys store the upper word of a slot before the lower
// one. Portable checks the result.
func (g *gen) toStack(ins asm.Instruction) {
	size := int16(ins.OpCode.Size().Sizeof())
	slot := ins.Offset &^ 7 // floor to the slot: offsets are negative
	if size < 8 && g.spilled[slot] && !g.cleared[slot] {
		g.emit(clearSlot(slot))
		g.cleared[slot] = true
	}
	g.emit(ins)
	if spills(ins) {
		g.spilled[slot] = true
		g.cleared[slot] = false
	}
}

// clearSlot stores 8 zero bytes at a stack slot: the verifier marks them
// zero, no longer a spilled register.
func clearSlot(off int16) asm.Instruction { return storeImm64(off, 0) }

// storeImm64 stores the sign-extended immediate v as 8 bytes at a stack
// offset. (cilium/ebpf's asm.StoreImm refuses DWord.)
func storeImm64(off int16, v int32) asm.Instruction {
	return asm.Instruction{OpCode: asm.StoreImmOp(asm.DWord), Dst: asm.RFP, Offset: off, Constant: int64(v)}
}

// spills reports whether a store to the stack may leave its slot holding
// a spilled register on some supported verifier: any store of a register
// of 8 bytes, or of fewer at an aligned offset, and any store of a
// non-zero immediate at an aligned offset (6.3 and later spill those as
// constants).
func spills(ins asm.Instruction) bool {
	aligned := ins.Offset%8 == 0
	if ins.OpCode.Class() == asm.StXClass {
		return aligned || ins.OpCode.Size() == asm.DWord
	}
	return aligned && ins.Constant != 0
}

// storeU64 stores a 32-bit value zero-extended to a u64 key.
func (g *gen) storeU64(off int16, arg ast.Expr) {
	if v, ok := g.prog.Consts[arg]; ok && v <= math.MaxInt32 {
		// The immediate of a 64-bit store is sign-extended: only
		// non-negative int32 values store as themselves.
		g.toStack(storeImm64(off, int32(v)))
		return
	}
	r := g.alloc()
	g.value(arg, r)
	g.toStack(asm.StoreMem(asm.RFP, off, r, asm.DWord))
	g.release(r)
}

// copyIP6 copies the 16-byte address field at context offset field to the
// stack, word by word: context fields only allow 4-byte loads.
func (g *gen) copyIP6(off, field int16) {
	r := g.alloc()
	for w := int16(3); w >= 0; w-- { // last word first: see key
		g.useCtx()
		g.emit(asm.LoadMem(r, g.ctx, field+4*w, asm.Word))
		g.toStack(asm.StoreMem(asm.RFP, off+4*w, r, asm.Word))
	}
	g.release(r)
}

func (g *gen) msgBytes(fn asm.BuiltinFunc, n ast.Expr) {
	g.take(asm.R2)
	g.value(n, asm.R2)
	g.ctxArg()
	g.release(asm.R2)
	g.call(fn)
}

// length ends a stream parser with the message length in r0.
func (g *gen) length(x ast.Expr) {
	if x == nil {
		g.useCtx()
		g.emit(asm.LoadMem(asm.R0, g.ctx, hook.SkbLenOffset, asm.Word))
	} else {
		g.take(asm.R0)
		g.value(x, asm.R0)
		g.release(asm.R0)
	}
	g.exit()
}

func (g *gen) update(s *ast.UpdateStmt) {
	m := g.prog.StmtMaps[s]
	off := g.key(m.Key, s.Key.Args)
	g.ctxArg()
	g.mapPtr(asm.R2, m.Name)
	g.emit(asm.Mov.Reg(asm.R3, asm.RFP), asm.Add.Imm(asm.R3, int32(off)))
	g.emit(asm.Mov.Imm32(asm.R4, 0)) // BPF_ANY
	if m.Kind == ast.SockMap {
		g.call(asm.FnSockMapUpdate)
	} else {
		g.call(asm.FnSockHashUpdate)
	}
	g.countInserted(m)
}

// count adds one to a counter slot of this CPU's counters value. The add is
// atomic because a softirq (sk_skb) may interrupt a process-context
// handler (sk_msg) on the same CPU.
func (g *gen) count(s *ast.CountStmt) {
	skip := g.newLabel()
	g.lookupSlots(abi.CountersMap, skip)
	g.addOne(g.prog.CounterOf[s].Index)
	g.bind(skip)
}

// lookupSlots puts the pointer to this CPU's value of the per-CPU array
// name in r0, or jumps to skip if the lookup fails (it does not: the one
// key, 0, always exists). r1-r5 are clobbered.
func (g *gen) lookupSlots(name string, skip label) {
	// The u32 key 0, in an 8-byte store of zero: a whole slot, so no
	// earlier spill there matters (see toStack).
	g.toStack(clearSlot(-8))
	g.emit(asm.Mov.Reg(asm.R2, asm.RFP), asm.Add.Imm(asm.R2, -8))
	g.mapPtr(asm.R1, name)
	g.call(asm.FnMapLookupElem)
	g.jumpNull(asm.R0, skip)
}

// addOne adds one to u64 slot i of the value r0 points to.
func (g *gen) addOne(i int) {
	g.emit(asm.Mov.Imm32(asm.R1, 1))
	g.addR1(i)
}

// addR1 adds r1 to u64 slot i of the value r0 points to.
func (g *gen) addR1(i int) {
	add := asm.StoreXAdd(asm.R0, asm.R1, asm.DWord)
	add.Offset = int16(abi.SlotOffset(i))
	g.emit(add)
}

// ip4Word is an IPv4 address as a 32-bit load from the context gives it:
// network-order bytes in a native word.
func ip4Word(b [4]byte) uint32 { return binary.NativeEndian.Uint32(b[:]) }

// prefixMask is the netmask of a /bits prefix as an ip4Word.
func prefixMask(bits int) uint32 {
	var b [4]byte
	for i := 0; i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return ip4Word(b)
}
