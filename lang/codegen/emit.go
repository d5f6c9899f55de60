package codegen

import (
	"fmt"
	"math"

	"github.com/cilium/ebpf/asm"
)

// label is a jump target inside one program, bound to an instruction index.
type label int

// slot is an emitted instruction; jumps name their target label until the
// offsets are resolved.
type slot struct {
	ins    asm.Instruction
	target label // noLabel unless ins is a jump
}

const noLabel label = -1

// emitter collects one program's instructions. It drops code that cannot be
// reached (the verifier rejects unreachable instructions), binds labels and
// resolves jump offsets at the end.
type emitter struct {
	code      []slot
	labels    []int // label -> index in code, -1 while unbound
	refs      []int // label -> number of jumps to it
	reachable bool
	src       *Line // source line attached to instructions emitted now
}

func newEmitter() *emitter { return &emitter{reachable: true} }

func (e *emitter) newLabel() label {
	e.labels = append(e.labels, -1)
	e.refs = append(e.refs, 0)
	return label(len(e.labels) - 1)
}

// bind places l at the next instruction. Code after a bind is reachable if
// it was already, or if some jump targets l.
func (e *emitter) bind(l label) {
	e.labels[l] = len(e.code)
	if e.refs[l] > 0 {
		e.reachable = true
	}
}

func (e *emitter) withSource(ins asm.Instruction) asm.Instruction {
	if e.src != nil {
		ins = ins.WithSource(e.src)
	}
	return ins
}

// emit appends ins if the current point is reachable.
func (e *emitter) emit(ins ...asm.Instruction) {
	if !e.reachable {
		return
	}
	for _, in := range ins {
		e.code = append(e.code, slot{ins: e.withSource(in), target: noLabel})
	}
}

// exit emits an exit; what follows is unreachable until a label is bound.
func (e *emitter) exit() {
	e.emit(asm.Return())
	e.reachable = false
}

// jump emits an unconditional jump to l.
func (e *emitter) jump(l label) {
	if !e.reachable {
		return
	}
	e.code = append(e.code, slot{ins: e.withSource(asm.Instruction{OpCode: asm.Ja.Op(asm.ImmSource)}), target: l})
	e.refs[l]++
	e.reachable = false
}

// jumpImm emits a 32-bit compare of dst with an immediate, jumping to l.
func (e *emitter) jumpImm(op asm.JumpOp, dst asm.Register, v uint32, l label) {
	if !e.reachable {
		return
	}
	ins := asm.Instruction{
		OpCode:   asm.OpCode(asm.Jump32Class).SetJumpOp(op).SetSource(asm.ImmSource),
		Dst:      dst,
		Constant: int64(int32(v)),
	}
	e.code = append(e.code, slot{ins: e.withSource(ins), target: l})
	e.refs[l]++
}

// jumpReg emits a 32-bit compare of dst with src, jumping to l.
func (e *emitter) jumpReg(op asm.JumpOp, dst, src asm.Register, l label) {
	if !e.reachable {
		return
	}
	ins := asm.Instruction{
		OpCode: asm.OpCode(asm.Jump32Class).SetJumpOp(op).SetSource(asm.RegSource),
		Dst:    dst,
		Src:    src,
	}
	e.code = append(e.code, slot{ins: e.withSource(ins), target: l})
	e.refs[l]++
}

// finish removes jumps to the next instruction, then resolves every jump
// to a raw offset.
func (e *emitter) finish(name string) (asm.Instructions, error) {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(e.code); i++ {
			if e.code[i].target != noLabel && e.labels[e.code[i].target] == i+1 {
				e.remove(i)
				changed = true
				i--
			}
		}
	}
	raw := make([]int, len(e.code)+1)
	for i, s := range e.code {
		raw[i+1] = raw[i] + int(s.ins.Size()/asm.InstructionSize)
	}
	out := make(asm.Instructions, len(e.code))
	for i, s := range e.code {
		ins := s.ins
		if s.target != noLabel {
			off := raw[e.labels[s.target]] - raw[i] - 1
			if off > math.MaxInt16 || off < math.MinInt16 {
				return nil, fmt.Errorf("program %s is too large: a jump spans %d instructions, more than the %d BPF allows", name, off, math.MaxInt16)
			}
			ins.Offset = int16(off)
		}
		out[i] = ins
	}
	// Like clang's line info, a source line is recorded where it starts;
	// it holds for the instructions after it until the next record.
	var prev fmt.Stringer
	for i := range out {
		src := out[i].Source()
		if src != nil && src == prev {
			out[i] = out[i].WithSource(nil)
		}
		if src != nil {
			prev = src
		}
	}
	return out, nil
}

func (e *emitter) remove(i int) {
	e.code = append(e.code[:i], e.code[i+1:]...)
	for l, at := range e.labels {
		if at > i {
			e.labels[l] = at - 1
		}
	}
}
