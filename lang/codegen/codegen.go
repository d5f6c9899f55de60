// Package codegen lowers a checked sockc program to eBPF instructions with
// cilium/ebpf's asm package, and assembles the maps and programs into an
// ebpf.CollectionSpec that loads in-process or goes to the ELF writer.
package codegen

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/token"
)

// Limits on one program, so that every program that compiles loads. The
// kernel rewrites programs as it loads them: a context field becomes two
// or three loads, a counter's map lookup is inlined. A jump that fit then
// may no longer fit the 16-bit offset ("cannot be patched due to 16-bit
// range"): MaxInstructions keeps programs short enough, with room for that
// growth, and verification fast. The verifier also refuses more than 8192
// pending branches on one path ("the sequence of 8193 jumps is too
// complex"): MaxBranches keeps well below.
const (
	MaxInstructions = 8192
	MaxBranches     = 4096
)

// Error is a code generation failure tied to a source position, such as a
// handler too large for BPF's 16-bit jump offsets.
type Error struct {
	Pos token.Pos
	End token.Pos
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Generate compiles a checked program. The programs are named and ordered
// by their handlers; see abi.ProgramName.
func Generate(p *check.Program, f *token.File) (*ebpf.CollectionSpec, error) {
	spec := &ebpf.CollectionSpec{
		Maps:     map[string]*ebpf.MapSpec{},
		Programs: map[string]*ebpf.ProgramSpec{},
	}
	for _, m := range p.Maps {
		spec.Maps[m.Name] = MapSpec(m)
	}
	for _, m := range p.Peers {
		spec.Maps[m.Name] = MapSpec(m)
	}
	if len(p.Counters) > 0 {
		spec.Maps[abi.CountersMap] = CountersSpec(p.Counters)
	}
	if len(p.StatMaps) > 0 {
		spec.Maps[abi.MapStatsMap] = MapStatsSpec(p.StatMaps)
	}
	if p.FlowMax > 0 {
		for _, ms := range FlowSpecs(p.FlowMax) {
			spec.Maps[ms.Name] = ms
		}
	}
	ls := &lines{file: f, cache: map[int]*Line{}}
	for _, h := range p.Handlers {
		if h.Hook.Sockops() {
			continue
		}
		ps, err := program(p, ls, h.Hook, []*check.Handler{h})
		if err != nil {
			return nil, err
		}
		spec.Programs[ps.Name] = ps
	}
	if hs := p.SockopsHandlers(); len(hs) > 0 {
		ps, err := program(p, ls, hs[0].Hook, hs)
		if err != nil {
			return nil, err
		}
		spec.Programs[ps.Name] = ps
	}
	return spec, nil
}

func branches(insns asm.Instructions) int {
	n := 0
	for _, ins := range insns {
		if op := ins.OpCode.JumpOp(); ins.OpCode.Class().IsJump() && op != asm.Ja && op != asm.Call && op != asm.Exit {
			n++
		}
	}
	return n
}

func rawLen(insns asm.Instructions) int {
	n := 0
	for _, ins := range insns {
		n += int(ins.Size() / asm.InstructionSize)
	}
	return n
}

// MapSpec describes a sockmap or sockhash for cilium/ebpf.
func MapSpec(m *check.Map) *ebpf.MapSpec {
	typ := ebpf.SockHash
	if m.Kind == ast.SockMap {
		typ = ebpf.SockMap
	}
	return &ebpf.MapSpec{
		Name:       m.Name,
		Type:       typ,
		KeySize:    uint32(m.Key.Size()),
		ValueSize:  abi.SockValueSize,
		MaxEntries: m.Max,
	}
}

// CountersSpec describes the per-CPU counters map: one entry whose value
// is a struct with a u64 per counter, named in BTF so that user space can
// find each counter by name.
func CountersSpec(cs []*check.Counter) *ebpf.MapSpec {
	value := abi.SlotStruct(abi.CountersMap, btfU64(), counterNames(cs))
	return &ebpf.MapSpec{
		Name:       abi.CountersMap,
		Type:       ebpf.PerCPUArray,
		KeySize:    4,
		ValueSize:  value.Size,
		MaxEntries: 1,
		Key:        &btf.Int{Name: "unsigned int", Size: 4},
		Value:      value,
	}
}

// btfU64 is the BTF of a u64.
func btfU64() *btf.Int { return &btf.Int{Name: "unsigned long long", Size: 8} }

// programName names the program of handler h, or of the sockops handlers
// when h is the first of them.
// counterNames names the counters in slot order: counterNames(cs)[i] is
// the counter at slot i of CountersMap's value.
func counterNames(cs []*check.Counter) []string {
	names := make([]string, len(cs))
	for _, c := range cs {
		names[c.Index] = c.Name
	}
	return names
}

func programName(h *check.Handler) string {
	if h.Map == nil {
		return abi.ProgramName(h.Hook, "")
	}
	return abi.ProgramName(h.Hook, h.Map.Name)
}

// program compiles one program: a verdict, parser, or the sockops program
// made of all sockops handlers. It first assumes the context pointer must
// survive helper calls (kept in r6); if no context access follows a call it
// compiles again with the context left in r1, saving the copy.
func program(p *check.Program, ls *lines, k hook.Kind, hs []*check.Handler) (*ebpf.ProgramSpec, error) {
	name := programName(hs[0])
	g := newGen(p, ls, k, asm.R6)
	g.body(hs)
	if !g.ctxAfterCall {
		g = newGen(p, ls, k, asm.R1)
		g.body(hs)
	}
	insns, err := g.finish(name)
	if err == nil {
		if n := rawLen(insns); n > MaxInstructions {
			err = fmt.Errorf("program %s is too large: %d instructions, more than the %d sockc allows; simplify the handler", name, n, MaxInstructions)
		} else if b := branches(insns); b > MaxBranches {
			err = fmt.Errorf("program %s has too many conditions: %d conditional jumps, more than the %d sockc allows; simplify the handler", name, b, MaxBranches)
		} else if perr := Portable(insns, k.Context()); perr != nil {
			// A bug of this package, caught before an older kernel or
			// a caller without CAP_PERFMON finds it.
			err = fmt.Errorf("internal compiler error: program %s is not portable: %w", name, perr)
		}
	}
	if err != nil {
		d := hs[0].Decl
		return nil, &Error{Pos: d.Pos(), End: d.HookSpan.End(), Msg: err.Error()}
	}
	insns[0] = insns[0].WithSymbol(name)
	return &ebpf.ProgramSpec{
		Name:         name,
		Type:         k.ProgramType(),
		AttachType:   k.AttachType(),
		SectionName:  k.Section(),
		Instructions: insns,
		License:      abi.License,
	}, nil
}
