package codegen

import (
	"maps"

	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/hook"
)

// mappedPrefix is the third word of an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d): the bytes 00 00 ff ff, as a native word.
var mappedPrefix = ip4Word([4]byte{0, 0, 0xff, 0xff})

// storeIP stores an ip key component at frame offset off: an ip6 value as
// it is, an ip4 value in IPv4-mapped form, and an ip field by its
// socket's family. The kernel keeps an AF_INET socket's addresses in the
// ip4 fields only (its ip6 fields read as zero), and an AF_INET6 socket's
// in the ip6 fields, IPv4-mapped when it talks IPv4, so the mapped form
// gives both ends of one IPv4 connection the same key whatever family
// their sockets have.
func (g *gen) storeIP(off int16, arg ast.Expr) {
	switch g.prog.Types[arg] {
	case check.IP6:
		g.copyIP6(off, g.prog.Fields[ast.Unparen(arg).(*ast.Name)].Offset)
		return
	case check.IP4:
		g.storeMapped(off, func(w int16) { g.storeWord(w, arg) })
		return
	}
	f := g.prog.Fields[ast.Unparen(arg).(*ast.Name)]
	v6, done := g.newLabel(), g.newLabel()
	r := g.alloc()
	g.useCtx()
	g.emit(asm.LoadMem(r, g.ctx, f.FamilyOffset, asm.Word))
	g.jumpImm(asm.JNE, r, hook.AFInet, v6)
	g.release(r)

	// The two paths store to the same slots, and neither runs before the
	// other: each starts from what held at the branch, and after the join
	// a slot is spilled if either path may have spilled it, cleared only
	// if both cleared it.
	spilled, cleared := maps.Clone(g.spilled), maps.Clone(g.cleared)
	g.storeMapped(off, func(w int16) {
		r := g.alloc()
		g.useCtx()
		g.emit(asm.LoadMem(r, g.ctx, f.V4Offset, asm.Word))
		g.toStack(asm.StoreMem(asm.RFP, w, r, asm.Word))
		g.release(r)
	})
	g.jump(done)
	spilled4, cleared4 := g.spilled, g.cleared
	g.spilled, g.cleared = spilled, cleared
	g.bind(v6)
	g.copyIP6(off, f.Offset)
	g.bind(done)
	maps.Copy(g.spilled, spilled4)
	for slot := range g.cleared {
		if !cleared4[slot] {
			delete(g.cleared, slot)
		}
	}
}

// storeMapped stores ::ffff:a.b.c.d at frame offset off, last word first
// (see key); store4 stores the IPv4 address a.b.c.d at the offset it is
// given.
func (g *gen) storeMapped(off int16, store4 func(off int16)) {
	store4(off + 12)
	g.toStack(asm.StoreImm(asm.RFP, off+8, int64(int32(mappedPrefix)), asm.Word))
	if off%8 == 0 {
		// The two zero words fill one slot: one 8-byte store, which also
		// leaves no spill behind.
		g.toStack(storeImm64(off, 0))
		g.cleared[off] = true
		return
	}
	g.toStack(asm.StoreImm(asm.RFP, off+4, 0, asm.Word))
	g.toStack(asm.StoreImm(asm.RFP, off, 0, asm.Word))
}
