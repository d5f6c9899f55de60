package codegen

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/check"
)

// MapStatsSpec describes the per-CPU map of the statistics the compiled
// code keeps for each of ms (see abi.MapStatsMap): one entry whose
// value is a struct of u64 members named by abi.StatName.
func MapStatsSpec(ms []*check.Map) *ebpf.MapSpec {
	names := make([]string, len(ms)*int(abi.NumStats))
	for _, m := range ms {
		for s := abi.Stat(0); s < abi.NumStats; s++ {
			names[m.StatSlot(s)] = abi.StatName(m.Name, s)
		}
	}
	value := abi.SlotStruct(abi.MapStatsMap, btfU64(), names)
	return &ebpf.MapSpec{
		Name:       abi.MapStatsMap,
		Type:       ebpf.PerCPUArray,
		KeySize:    4,
		ValueSize:  value.Size,
		MaxEntries: 1,
		Key:        &btf.Int{Name: "unsigned int", Size: 4},
		Value:      value,
	}
}

// countInserted follows a map update: r0 is the helper's result, 0 when
// the socket went into the map.
func (g *gen) countInserted(m *check.Map) {
	skip := g.newLabel()
	g.jumpImm(asm.JNE, asm.R0, 0, skip)
	g.lookupSlots(abi.MapStatsMap, skip)
	g.addOne(m.StatSlot(abi.StatInserted))
	g.bind(skip)
}

// countRedirect follows a redirect helper: r0 is its verdict, SK_PASS
// when it found the socket. It counts a redirect or a miss, and leaves r0
// as it found it when what the handler does next (next) reads it. The
// verdict waits in r7, which survives the lookup's call: no expression is
// live between statements, and the context is in r6 or r1, never r7.
func (g *gen) countRedirect(m *check.Map, next cont) {
	done, hit := g.newLabel(), g.newLabel()
	g.take(asm.R7)
	g.emit(asm.Mov.Reg(asm.R7, asm.R0))
	g.lookupSlots(abi.MapStatsMap, done)
	g.emit(asm.Mov.Imm32(asm.R1, 1))
	g.jumpImm(asm.JEq, asm.R7, skPass, hit)
	g.addR1(m.StatSlot(abi.StatMissed))
	g.jump(done)
	g.bind(hit)
	g.addR1(m.StatSlot(abi.StatRedirected))
	g.bind(done)
	if next != contPass {
		g.emit(asm.Mov.Reg(asm.R0, asm.R7))
	}
	g.release(asm.R7)
}
