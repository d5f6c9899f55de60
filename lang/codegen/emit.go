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

// branch emits a jump instruction to l, if the current point is
// reachable.
func (e *emitter) branch(ins asm.Instruction, l label) {
	if !e.reachable {
		return
	}
	e.code = append(e.code, slot{ins: e.withSource(ins), target: l})
	e.refs[l]++
}

// jump emits an unconditional jump to l.
func (e *emitter) jump(l label) {
	e.branch(asm.Instruction{OpCode: asm.Ja.Op(asm.ImmSource)}, l)
	e.reachable = false
}

// jumpImm emits a 32-bit compare of dst with an immediate, jumping to l.
// dst must hold a scalar; a pointer takes jumpNull.
func (e *emitter) jumpImm(op asm.JumpOp, dst asm.Register, v uint32, l label) {
	e.branch(asm.Instruction{
		OpCode:   asm.OpCode(asm.Jump32Class).SetJumpOp(op).SetSource(asm.ImmSource),
		Dst:      dst,
		Constant: int64(int32(v)),
	}, l)
}

// jumpNull emits a 64-bit test of dst against zero, jumping to l when it
// is zero: the null check of a pointer a helper returned. It must be a
// 64-bit compare: verifiers before about 6.18 clear the "_or_null" state
// only after a 64-bit compare, and without CAP_PERFMON every verifier
// refuses a 32-bit compare of a pointer ("pointer comparison
// prohibited"). See portable.go, which rejects any other compare of a
// pointer.
func (e *emitter) jumpNull(dst asm.Register, l label) {
	e.branch(asm.Instruction{
		OpCode: asm.OpCode(asm.JumpClass).SetJumpOp(asm.JEq).SetSource(asm.ImmSource),
		Dst:    dst,
	}, l)
}

// jumpReg emits a 32-bit compare of dst with src, jumping to l.
func (e *emitter) jumpReg(op asm.JumpOp, dst, src asm.Register, l label) {
	e.jumpRegIn(asm.Jump32Class, op, dst, src, l)
}

// jumpReg64 emits a 64-bit compare of dst with src, jumping to l.
func (e *emitter) jumpReg64(op asm.JumpOp, dst, src asm.Register, l label) {
	e.jumpRegIn(asm.JumpClass, op, dst, src, l)
}

func (e *emitter) jumpRegIn(class asm.Class, op asm.JumpOp, dst, src asm.Register, l label) {
	e.branch(asm.Instruction{
		OpCode: asm.OpCode(class).SetJumpOp(op).SetSource(asm.RegSource),
		Dst:    dst,
		Src:    src,
	}, l)
}

// finish resolves labels, cleans up the control flow and computes jump
// offsets. The cleanup is what an optimizer's last pass does: jumps to
// jumps are threaded, a conditional jump over an unconditional one is
// inverted, jumps to the next instruction go, and so does every
// instruction that became unreachable (the verifier rejects those).
func (e *emitter) finish(name string) (asm.Instructions, error) {
	code := make([]flat, len(e.code))
	for i, s := range e.code {
		code[i] = flat{ins: s.ins, target: -1}
		if s.target != noLabel {
			code[i].target = e.labels[s.target]
		}
	}
	for changed := true; changed; {
		changed = threadJumps(code)
		var c bool
		code, c = invertOverJumps(code)
		changed = changed || c
		code, c = dropJumpsToNext(code)
		changed = changed || c
		code, c = dropUnreachable(code)
		changed = changed || c
	}
	raw := make([]int, len(code)+1)
	for i, f := range code {
		raw[i+1] = raw[i] + int(f.ins.Size()/asm.InstructionSize)
	}
	out := make(asm.Instructions, len(code))
	for i, f := range code {
		ins := f.ins
		if f.target >= 0 {
			off := raw[f.target] - raw[i] - 1
			if off > math.MaxInt16 || off < math.MinInt16 {
				return nil, fmt.Errorf("program %s is too large: a jump spans %d instructions, more than the %d BPF allows", name, off, math.MaxInt16)
			}
			ins.Offset = int16(off)
		}
		out[i] = ins
	}
	return out, nil
}

// flat is an instruction whose jump target is an instruction index.
type flat struct {
	ins    asm.Instruction
	target int // -1 unless ins is a jump
}

func isJa(f flat) bool {
	return f.target >= 0 && f.ins.OpCode.JumpOp() == asm.Ja
}

// ends reports whether control never falls through f.
func ends(f flat) bool {
	return isJa(f) || f.ins.OpCode.JumpOp() == asm.Exit
}

func threadJumps(code []flat) bool {
	changed := false
	for i := range code {
		for hops := 0; code[i].target >= 0 && hops < len(code); hops++ {
			t := code[i].target
			if !isJa(code[t]) || code[t].target == t {
				break
			}
			code[i].target = code[t].target
			changed = true
		}
	}
	return changed
}

var inverse = map[asm.JumpOp]asm.JumpOp{
	asm.JEq: asm.JNE, asm.JNE: asm.JEq, asm.JGT: asm.JLE, asm.JLE: asm.JGT, asm.JGE: asm.JLT, asm.JLT: asm.JGE,
	asm.JSGT: asm.JSLE, asm.JSLE: asm.JSGT, asm.JSGE: asm.JSLT, asm.JSLT: asm.JSGE,
}

// invertOverJumps rewrites "if c goto L; goto M; L:" as "if !c goto M; L:".
func invertOverJumps(code []flat) ([]flat, bool) {
	changed := false
	for i := 0; i+2 <= len(code)-1; i++ {
		f := code[i]
		inv, ok := inverse[f.ins.OpCode.JumpOp()]
		if f.target != i+2 || isJa(f) || !ok || !isJa(code[i+1]) || targeted(code, i+1) {
			continue
		}
		code[i].ins.OpCode = f.ins.OpCode.SetJumpOp(inv)
		code[i].target = code[i+1].target
		code = removeAt(code, i+1)
		changed = true
	}
	return code, changed
}

func targeted(code []flat, i int) bool {
	for _, f := range code {
		if f.target == i {
			return true
		}
	}
	return false
}

func dropJumpsToNext(code []flat) ([]flat, bool) {
	changed := false
	for i := 0; i < len(code); i++ {
		if code[i].target == i+1 {
			code = removeAt(code, i)
			changed = true
			i--
		}
	}
	return code, changed
}

func dropUnreachable(code []flat) ([]flat, bool) {
	seen := make([]bool, len(code))
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if i >= len(code) || seen[i] {
			continue
		}
		seen[i] = true
		if code[i].target >= 0 {
			work = append(work, code[i].target)
		}
		if !ends(code[i]) {
			work = append(work, i+1)
		}
	}
	changed := false
	for i := len(code) - 1; i >= 0; i-- {
		if !seen[i] {
			code = removeAt(code, i)
			changed = true
		}
	}
	return code, changed
}

// removeAt deletes instruction i; jumps past it move back by one, jumps to
// it now land on its successor.
func removeAt(code []flat, i int) []flat {
	code = append(code[:i], code[i+1:]...)
	for j := range code {
		if code[j].target > i {
			code[j].target--
		}
	}
	return code
}
