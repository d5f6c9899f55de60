package codegen

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/lang/hook"
)

func jmp32Imm(op asm.JumpOp, dst asm.Register, v int64, off int16) asm.Instruction {
	return asm.Instruction{OpCode: asm.OpCode(asm.Jump32Class).SetJumpOp(op).SetSource(asm.ImmSource), Dst: dst, Constant: v, Offset: off}
}

func jmpImm(op asm.JumpOp, dst asm.Register, v int64, off int16) asm.Instruction {
	return asm.Instruction{OpCode: asm.OpCode(asm.JumpClass).SetJumpOp(op).SetSource(asm.ImmSource), Dst: dst, Constant: v, Offset: off}
}

func jmpReg(class asm.Class, op asm.JumpOp, dst, src asm.Register, off int16) asm.Instruction {
	return asm.Instruction{OpCode: asm.OpCode(class).SetJumpOp(op).SetSource(asm.RegSource), Dst: dst, Src: src, Offset: off}
}

// lookup is the counter lookup sockc emits, up to the null check.
func lookup() asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.RFP, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, 3),
		asm.FnMapLookupElem.Call(),
	}
}

func tail(ins ...asm.Instruction) asm.Instructions {
	return append(ins, asm.Mov.Imm32(asm.R0, 1), asm.Return())
}

// TestPortableRefusesPointerCompares holds Portable to the verifier rules
// it stands for: each refused program is one an older or less privileged
// verifier refuses, each accepted one is what sockc emits.
func TestPortableRefusesPointerCompares(t *testing.T) {
	refused := []struct {
		name  string
		ctx   hook.Context
		insns asm.Instructions
		want  string
	}{
		{"32-bit null check of a map value", hook.SkMsgMD,
			append(lookup(), tail(jmp32Imm(asm.JEq, asm.R0, 0, 2), asm.Mov.Imm32(asm.R1, 1), asm.StoreXAdd(asm.R0, asm.R1, asm.DWord))...),
			"32-bit compare of a pointer"},
		{"32-bit compare of the context", hook.SkMsgMD,
			tail(jmp32Imm(asm.JNE, asm.R1, 0, 0)),
			"32-bit compare of a pointer"},
		{"32-bit compare of the context, copied", hook.SockOps,
			tail(asm.Mov.Reg(asm.R6, asm.R1), jmp32Imm(asm.JEq, asm.R6, 0, 0)),
			"32-bit compare of a pointer"},
		{"pointer against a non-zero constant", hook.SkMsgMD,
			append(lookup(), tail(jmpImm(asm.JEq, asm.R0, 8, 0))...),
			"other than == or != 0"},
		{"pointer ordered against zero", hook.SkMsgMD,
			append(lookup(), tail(jmpImm(asm.JGT, asm.R0, 0, 0))...),
			"other than == or != 0"},
		{"scalar against a pointer register", hook.SkMsgMD,
			tail(asm.Mov.Imm32(asm.R2, 0), jmpReg(asm.Jump32Class, asm.JEq, asm.R2, asm.R1, 0)),
			"32-bit compare of a pointer"},
		{"skb data is a pointer from a 32-bit load", hook.SkBuff,
			tail(asm.LoadMem(asm.R2, asm.R1, 76, asm.Word), jmp32Imm(asm.JEq, asm.R2, 0, 0)),
			"32-bit compare of a pointer"},
		{"a pointer on one path reaches the compare", hook.SkMsgMD,
			tail(
				asm.LoadMem(asm.R2, asm.R1, 16, asm.Word),
				jmp32Imm(asm.JEq, asm.R2, 2, 1),
				asm.Mov.Reg(asm.R2, asm.R1), // the other path: r2 = ctx
				jmp32Imm(asm.JEq, asm.R2, 0, 0)),
			"32-bit compare of a pointer"},
	}
	stw := func(off int16, r asm.Register) asm.Instruction { return asm.StoreMem(asm.RFP, off, r, asm.Word) }
	refused = append(refused, []struct {
		name  string
		ctx   hook.Context
		insns asm.Instructions
		want  string
	}{
		{"lower word, then upper word of a slot", hook.SkMsgMD,
			tail(asm.LoadMem(asm.R2, asm.R1, 20, asm.Word), stw(-16, asm.R2), stw(-12, asm.R2)),
			"stack slot that may hold a spilled register"},
		{"the same aligned word twice", hook.SkMsgMD,
			tail(asm.LoadMem(asm.R2, asm.R1, 60, asm.Word), stw(-8, asm.R2), stw(-8, asm.R2)),
			"stack slot that may hold a spilled register"},
		{"a word into a spilled cookie", hook.SkBuff,
			tail(asm.FnGetSocketCookie.Call(), asm.StoreMem(asm.RFP, -8, asm.R0, asm.DWord), asm.StoreImm(asm.RFP, -4, 0, asm.Word)),
			"stack slot that may hold a spilled register"},
		{"a spill on one path only", hook.SkMsgMD,
			tail(asm.LoadMem(asm.R2, asm.R1, 16, asm.Word), jmp32Imm(asm.JEq, asm.R2, 2, 1), stw(-8, asm.R2), stw(-4, asm.R2)),
			"stack slot that may hold a spilled register"},
	}...)
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			err := Portable(c.insns, c.ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Portable = %v, want an error saying %q", err, c.want)
			}
		})
	}
	accepted := []struct {
		name  string
		ctx   hook.Context
		insns asm.Instructions
	}{
		{"64-bit null check", hook.SkMsgMD,
			append(lookup(), tail(jmpImm(asm.JEq, asm.R0, 0, 2), asm.Mov.Imm32(asm.R1, 1), asm.StoreXAdd(asm.R0, asm.R1, asm.DWord))...)},
		{"64-bit non-null check", hook.SkMsgMD,
			append(lookup(), tail(jmpImm(asm.JNE, asm.R0, 0, 0))...)},
		{"32-bit compares of fields", hook.SkMsgMD,
			tail(asm.LoadMem(asm.R2, asm.R1, 60, asm.Word), jmp32Imm(asm.JEq, asm.R2, 80, 0), jmpReg(asm.Jump32Class, asm.JLT, asm.R2, asm.R2, 0))},
		{"a helper's scalar result", hook.SkBuff,
			tail(asm.FnGetSocketCookie.Call(), jmp32Imm(asm.JEq, asm.R0, 1, 0))},
		{"a register that held a pointer, then a field", hook.SkMsgMD,
			tail(asm.Mov.Reg(asm.R2, asm.R1), asm.LoadMem(asm.R2, asm.R1, 20, asm.Word), jmp32Imm(asm.JNE, asm.R2, 0, 0))},
		{"r1 after a call", hook.SkMsgMD,
			tail(asm.FnGetPrandomU32.Call(), asm.Mov.Imm32(asm.R1, 0), jmp32Imm(asm.JEq, asm.R1, 0, 0))},
	}
	accepted = append(accepted, []struct {
		name  string
		ctx   hook.Context
		insns asm.Instructions
	}{
		{"upper word, then lower word", hook.SkMsgMD,
			tail(asm.LoadMem(asm.R2, asm.R1, 20, asm.Word), stw(-12, asm.R2), stw(-16, asm.R2))},
		{"a slot cleared before it is written again", hook.SkMsgMD,
			tail(asm.LoadMem(asm.R2, asm.R1, 60, asm.Word), stw(-8, asm.R2), clearSlot(-8), stw(-4, asm.R2), stw(-8, asm.R2))},
		{"words in different slots", hook.SkMsgMD,
			tail(asm.LoadMem(asm.R2, asm.R1, 60, asm.Word), stw(-16, asm.R2), stw(-8, asm.R2))},
	}...)
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			if err := Portable(c.insns, c.ctx); err != nil {
				t.Fatalf("Portable refuses a portable program: %v", err)
			}
		})
	}
}

// TestCounterNullCheckIs64Bit pins the construct that was once a 32-bit
// compare: the null check after the counters lookup.
func TestCounterNullCheckIs64Bit(t *testing.T) {
	e := newEmitter()
	skip := e.newLabel()
	e.emit(lookup()...)
	e.jumpNull(asm.R0, skip)
	e.emit(asm.Mov.Imm32(asm.R1, 1), asm.StoreXAdd(asm.R0, asm.R1, asm.DWord))
	e.bind(skip)
	e.emit(asm.Mov.Imm32(asm.R0, 1))
	e.exit()
	insns, err := e.finish("p")
	if err != nil {
		t.Fatal(err)
	}
	if err := Portable(insns, hook.SkMsgMD); err != nil {
		t.Fatalf("jumpNull is not portable: %v\n%s", err, listing(t, insns))
	}
	if got := listing(t, insns); !strings.Contains(got, "if r0 == 0 goto") {
		t.Fatalf("null check is not a 64-bit compare:\n%s", got)
	}
}
