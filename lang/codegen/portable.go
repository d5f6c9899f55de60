package codegen

import (
	"fmt"

	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/lang/hook"
)

// Portable checks insns against the rules that some supported verifier
// enforces and a newer one, or a more privileged caller, would not:
//
//   - Pointers are compared only in the one way every verifier accepts
//     from every caller: a 64-bit == or != against zero, the null check of
//     a pointer a helper returned. A 32-bit compare of a pointer is refused
//     as "pointer comparison prohibited" without CAP_PERFMON on every
//     kernel, and Linux 5.10 to 6.12 keep "map_value_or_null" after it, so
//     the dereference that follows is refused even as root; any other
//     compare of a pointer needs CAP_PERFMON.
//   - No store of less than 8 bytes goes into a stack slot that may hold a
//     spilled register: without CAP_PERFMON, 6.1 (and 6.12 before a
//     backport) refuse it as "attempt to corrupt spilled pointer on stack"
//     even for a spilled scalar, and they take an aligned 4-byte store of
//     a register for such a spill.
//
// Linux 6.18 as root hides all of it, which is why this is checked here
// rather than left to the verifier of the machine that runs the tests.
//
// ctx is the program's context struct, whose pointer fields are known.
// The check is a forward data flow over the instructions that tracks which
// registers may hold a pointer and which stack slots a spilled register;
// it errs on the side of "pointer" and "spilled".
func Portable(insns asm.Instructions, ctx hook.Context) error {
	n := len(insns)
	// Each instruction's offset in raw slots (ld_imm64 takes two), and
	// back, for jump targets.
	starts := make([]int, n)
	index := map[int]int{}
	raw := 0
	for i, ins := range insns {
		starts[i], index[raw] = raw, i
		raw += int(ins.Size() / asm.InstructionSize)
	}
	index[raw] = n

	in := make([]state, n+1)
	seen := make([]bool, n+1)
	in[0] = state{regs: ptrRegs(1<<asm.R1 | 1<<asm.R10)}
	seen[0] = true
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if i >= n {
			continue
		}
		ins := insns[i]
		st := in[i]
		why := comparePointers(ins, st.regs)
		if why == "" {
			why = st.stack.partialWrite(ins)
		}
		if why != "" {
			return &PortabilityError{Offset: starts[i], Instruction: ins, Reason: why}
		}
		out := state{regs: st.regs.after(ins, ctx, st.values), values: st.values.afterValues(ins), stack: st.stack.after(ins)}
		var succ []int
		op := ins.OpCode
		switch {
		case op.JumpOp() == asm.Exit:
		case op.Class().IsJump() && op.JumpOp() == asm.Ja:
			succ = append(succ, jumpTarget(index, starts[i], ins))
		case op.Class().IsJump() && op.JumpOp() != asm.Call:
			succ = append(succ, i+1, jumpTarget(index, starts[i], ins))
		default:
			succ = append(succ, i+1)
		}
		for _, s := range succ {
			if s < 0 {
				return &PortabilityError{Offset: starts[i], Instruction: ins, Reason: reasonMidJump}
			}
			merged := state{regs: in[s].regs | out.regs, values: in[s].values & out.values, stack: in[s].stack | out.stack}
			if !seen[s] {
				merged = out
			}
			if !seen[s] || merged != in[s] {
				seen[s] = true
				in[s] = merged
				work = append(work, s)
			}
		}
	}
	return nil
}

func jumpTarget(index map[int]int, start int, ins asm.Instruction) int {
	t, ok := index[start+1+int(ins.Offset)]
	if !ok {
		return -1
	}
	return t
}

// state is what the check knows before an instruction.
type state struct {
	regs ptrRegs
	// values are the registers that hold a map value pointer (or null)
	// on every path: a 64-bit load through one reads data, not a
	// pointer, as sockc's maps hold no pointers.
	values ptrRegs
	stack  spilledSlots
}

// spilledSlots is the set of 8-byte stack slots that may hold a spilled
// register: bit k for the slot at frame offset -8(k+1).
type spilledSlots uint64

// stackStore returns the slot bit and size of a store to the stack through
// r10, or ok false for any other instruction.
func stackStore(ins asm.Instruction) (bit spilledSlots, size int, ok bool) {
	cls := ins.OpCode.Class()
	if cls != asm.StClass && cls != asm.StXClass || ins.Dst != asm.RFP || ins.OpCode.Mode() != asm.MemMode || ins.Offset >= 0 {
		return 0, 0, false
	}
	k := (-int(ins.Offset) - 1) / 8
	if k >= 64 {
		return 0, 0, false
	}
	return 1 << k, ins.OpCode.Size().Sizeof(), true
}

// partialWrite says why a store is refused, or "".
func (s spilledSlots) partialWrite(ins asm.Instruction) string {
	if bit, size, ok := stackStore(ins); ok && size < 8 && s&bit != 0 {
		return reasonPartialSpill
	}
	return ""
}

// after is the set after ins: see spills for what spills.
func (s spilledSlots) after(ins asm.Instruction) spilledSlots {
	bit, size, ok := stackStore(ins)
	switch {
	case !ok:
		return s
	case spills(ins):
		return s | bit
	case size == 8:
		return s &^ bit // 8 bytes of an immediate zero: the slot is zero
	}
	return s
}

// ptrRegs is the set of registers that may hold a pointer.
type ptrRegs uint16

func (p ptrRegs) has(r asm.Register) bool { return p&(1<<r) != 0 }

func (p ptrRegs) set(r asm.Register, ptr bool) ptrRegs {
	if ptr {
		return p | 1<<r
	}
	return p &^ (1 << r)
}

// PortabilityError is an instruction that some supported verifier
// refuses; see Portable.
type PortabilityError struct {
	Offset      int // in instruction slots, as the verifier counts
	Instruction asm.Instruction
	Reason      string
}

func (e *PortabilityError) Error() string {
	return fmt.Sprintf("instruction %d (%v): %s", e.Offset, e.Instruction, e.Reason)
}

// The reasons of a PortabilityError.
const (
	reasonJump32       = "a 32-bit compare of a pointer: refused without CAP_PERFMON, and Linux 5.10-6.12 keep a null-checked map value 'or_null' after it; compare pointers with a 64-bit jump"
	reasonPtrCmp       = "a pointer compared other than == or != 0: refused without CAP_PERFMON"
	reasonMidJump      = "a jump into the middle of an instruction"
	reasonPartialSpill = "a store of less than 8 bytes into a stack slot that may hold a spilled register: refused without CAP_PERFMON by Linux 6.1; clear the slot with an 8-byte store first"
)

// comparePointers says why a conditional jump on a pointer is refused, or
// "": only the 64-bit null check is portable.
func comparePointers(ins asm.Instruction, regs ptrRegs) string {
	op := ins.OpCode
	if !op.Class().IsJump() {
		return ""
	}
	switch op.JumpOp() {
	case asm.Ja, asm.Call, asm.Exit:
		return ""
	}
	ptr := regs.has(ins.Dst) || op.Source() == asm.RegSource && regs.has(ins.Src)
	switch {
	case !ptr:
		return ""
	case op.Class() == asm.Jump32Class:
		return reasonJump32
	case op.Source() == asm.ImmSource && ins.Constant == 0 && (op.JumpOp() == asm.JEq || op.JumpOp() == asm.JNE):
		return ""
	}
	return reasonPtrCmp
}

// afterValues is the set of map value registers after ins.
func (p ptrRegs) afterValues(ins asm.Instruction) ptrRegs {
	op := ins.OpCode
	switch cls := op.Class(); {
	case cls.IsJump() && op.JumpOp() == asm.Call:
		for r := asm.R0; r <= asm.R5; r++ {
			p = p.set(r, false)
		}
		fn := asm.BuiltinFunc(ins.Constant)
		return p.set(asm.R0, fn == asm.FnMapLookupElem || fn == asm.FnMapLookupPercpuElem)
	case cls == asm.ALU64Class && op.ALUOp() == asm.Mov && op.Source() == asm.RegSource:
		return p.set(ins.Dst, p.has(ins.Src))
	case cls == asm.LdXClass || cls == asm.LdClass || cls == asm.ALUClass || cls == asm.ALU64Class:
		return p.set(ins.Dst, false)
	}
	return p
}

// after is the register state after ins; values are the map value
// registers before it.
func (p ptrRegs) after(ins asm.Instruction, ctx hook.Context, values ptrRegs) ptrRegs {
	op := ins.OpCode
	switch cls := op.Class(); {
	case ins.IsLoadFromMap() || ins.IsConstantLoad(asm.DWord) && ins.Src != 0:
		// ld_imm64 of a map (or another pseudo source): a pointer.
		return p.set(ins.Dst, true)
	case ins.IsConstantLoad(asm.DWord):
		return p.set(ins.Dst, false)
	case cls == asm.LdXClass:
		return p.set(ins.Dst, op.Size() == asm.DWord && !values.has(ins.Src) || p.has(ins.Src) && ins.Src != asm.RFP && pointerField(ctx, ins.Offset))
	case cls == asm.ALU64Class:
		switch op.ALUOp() {
		case asm.Mov:
			if op.Source() == asm.RegSource {
				return p.set(ins.Dst, p.has(ins.Src))
			}
			return p.set(ins.Dst, false)
		case asm.Add, asm.Sub:
			// pointer ± scalar stays a pointer.
			return p.set(ins.Dst, p.has(ins.Dst) || op.Source() == asm.RegSource && p.has(ins.Src))
		}
		return p.set(ins.Dst, false)
	case cls == asm.ALUClass:
		return p.set(ins.Dst, false)
	case cls.IsJump() && op.JumpOp() == asm.Call:
		for r := asm.R1; r <= asm.R5; r++ {
			p = p.set(r, false)
		}
		return p.set(asm.R0, returnsPointer(asm.BuiltinFunc(ins.Constant)))
	}
	return p
}

// pointerField reports whether a 32-bit load at off from the context gives
// a pointer: __sk_buff's data, data_end and data_meta are 32-bit fields
// that the kernel rewrites into pointer loads. 64-bit loads count as
// pointers anyway.
func pointerField(ctx hook.Context, off int16) bool {
	if ctx != hook.SkBuff {
		return false
	}
	switch off {
	case 76, 80, 140: // data, data_end, data_meta
		return true
	}
	return false
}

// returnsPointer reports whether a helper returns a pointer (or null).
func returnsPointer(fn asm.BuiltinFunc) bool {
	switch fn {
	case asm.FnMapLookupElem, asm.FnMapLookupPercpuElem, asm.FnSkLookupTcp, asm.FnSkLookupUdp,
		asm.FnSkcLookupTcp, asm.FnSkFullsock, asm.FnTcpSock, asm.FnGetListenerSock, asm.FnSkStorageGet,
		asm.FnGetLocalStorage, asm.FnRingbufReserve, asm.FnPerCpuPtr, asm.FnThisCpuPtr,
		asm.FnSkcToTcpSock, asm.FnSkcToTcp6Sock, asm.FnSkcToTcpTimewaitSock, asm.FnSkcToTcpRequestSock,
		asm.FnSkcToUdp6Sock:
		return true
	}
	return false
}
