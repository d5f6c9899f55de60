package codegen

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/hook"
)

// FlowSpecs describes abi.FlowMap and abi.FlowCtlMap for a program
// whose FlowMax is max: hashes from a socket cookie to a struct of u64
// members named by abi.FlowStat and abi.FlowCtl.
func FlowSpecs(max uint32) []*ebpf.MapSpec {
	u64 := btfU64()
	spec := func(name string, members []string) *ebpf.MapSpec {
		value := abi.SlotStruct(name, u64, members)
		return &ebpf.MapSpec{
			Name:       name,
			Type:       ebpf.Hash,
			KeySize:    8,
			ValueSize:  value.Size,
			MaxEntries: max,
			Key:        u64,
			Value:      value,
		}
	}
	var stats, ctls []string
	for s := abi.FlowStat(0); s < abi.NumFlowStats; s++ {
		stats = append(stats, s.String())
	}
	for c := abi.FlowCtl(0); c < abi.NumFlowCtls; c++ {
		ctls = append(ctls, c.String())
	}
	return []*ebpf.MapSpec{spec(abi.FlowMap, stats), spec(abi.FlowCtlMap, ctls)}
}

// metered reports whether redirect peer s goes through the flow control
// of abi.FlowMap: out of the peer (egress) in an sk_skb handler. An
// ingress redirect lands in the peer's receive queue, not its TCP: the
// loader's measure of what the peer took (its bytes sent) would not see
// it, and the proxy never pairs sockets that way.
func (g *gen) metered(s *ast.RedirectStmt) bool {
	return g.prog.FlowMax > 0 && !s.Ingress && (g.hook == hook.StreamVerdict || g.hook == hook.SkbVerdict)
}

// flowGate comes before the redirect helper of a metered redirect peer;
// the socket's cookie is at fp-8. It jumps to unmetered when the socket
// has no FlowMap entry. It passes the skb to the socket's own receive
// queue (SK_PASS, and the handler ends) while bytes passed before wait
// to be relayed by the loader, or when the skb would take the redirected
// bytes over the loader's limit. Else it leaves the pointer to the
// socket's FlowMap value in r7 for flowCount; the caller releases r7.
func (g *gen) flowGate(unmetered label) {
	open, hold := g.newLabel(), g.newLabel()
	g.take(asm.R7)
	g.emit(asm.Mov.Reg(asm.R2, asm.RFP), asm.Add.Imm(asm.R2, -8))
	g.mapPtr(asm.R1, abi.FlowMap)
	g.call(asm.FnMapLookupElem)
	g.emit(asm.Mov.Reg(asm.R7, asm.R0))
	g.jumpNull(asm.R0, unmetered)
	g.emit(asm.Mov.Reg(asm.R2, asm.RFP), asm.Add.Imm(asm.R2, -8))
	g.mapPtr(asm.R1, abi.FlowCtlMap)
	g.call(asm.FnMapLookupElem)
	g.jumpNull(asm.R0, open)
	g.emit(
		asm.LoadMem(asm.R1, asm.R7, flowSlot(int(abi.FlowPassed)), asm.DWord),
		asm.LoadMem(asm.R2, asm.R0, flowSlot(int(abi.FlowRelayed)), asm.DWord),
	)
	g.jumpReg64(asm.JNE, asm.R1, asm.R2, hold)
	g.useCtx()
	g.emit(
		asm.LoadMem(asm.R1, asm.R7, flowSlot(int(abi.FlowRedirected)), asm.DWord),
		asm.LoadMem(asm.R2, g.ctx, hook.SkbLenOffset, asm.Word),
		asm.Add.Reg(asm.R1, asm.R2),
		asm.LoadMem(asm.R2, asm.R0, flowSlot(int(abi.FlowLimit)), asm.DWord),
	)
	g.jumpReg64(asm.JLE, asm.R1, asm.R2, open)
	g.bind(hold)
	g.addLen(asm.R7, abi.FlowPassed)
	g.jump(g.pass)
	g.bind(open)
}

// flowCount follows the redirect helper of a metered redirect peer: r0
// is its verdict, r7 the socket's FlowMap value. A redirect that found
// the peer adds the skb's length to the bytes redirected.
func (g *gen) flowCount() {
	skip := g.newLabel()
	g.jumpImm(asm.JNE, asm.R0, skPass, skip)
	g.addLen(asm.R7, abi.FlowRedirected)
	g.bind(skip)
}

// addLen adds the skb's length to slot s of the FlowMap value r points
// to; r1 is clobbered. The add is atomic although one socket's skbs pass
// its verdict one at a time: the loader reads the value meanwhile.
func (g *gen) addLen(r asm.Register, s abi.FlowStat) {
	g.useCtx()
	add := asm.StoreXAdd(r, asm.R1, asm.DWord)
	add.Offset = flowSlot(int(s))
	g.emit(asm.LoadMem(asm.R1, g.ctx, hook.SkbLenOffset, asm.Word), add)
}

func flowSlot(i int) int16 { return int16(abi.SlotOffset(i)) }
