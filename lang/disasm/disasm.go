// Package disasm prints eBPF instructions as readable text in the kernel
// verifier's C-like notation, each with the source line it came from. It is
// the format of `sockc compile -S`, of the golden files, and of objdump.
package disasm

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// lineNumberer is implemented by sources that know their line number
// (sockc's codegen.Line, cilium/ebpf's btf.Line).
type lineNumberer interface {
	LineNumber() uint32
}

// Spec writes the maps and programs of spec: maps by name, programs in
// source order (by the line of their first instruction), then by name.
func Spec(w io.Writer, spec *ebpf.CollectionSpec) error {
	mapNames := make([]string, 0, len(spec.Maps))
	for n := range spec.Maps {
		mapNames = append(mapNames, n)
	}
	sort.Strings(mapNames)
	for _, n := range mapNames {
		m := spec.Maps[n]
		if _, err := fmt.Fprintf(w, "map %s: %s key %d value %d max %d\n", n, mapType(m.Type), m.KeySize, m.ValueSize, m.MaxEntries); err != nil {
			return err
		}
	}
	for _, p := range Programs(spec) {
		if _, err := fmt.Fprintf(w, "\nprogram %s: %s, attach %s, section %s\n", p.Name, progType(p.Type), attachType(p.AttachType), p.SectionName); err != nil {
			return err
		}
		if err := Instructions(w, p.Instructions); err != nil {
			return err
		}
	}
	return nil
}

// Programs returns the programs of spec in source order.
func Programs(spec *ebpf.CollectionSpec) []*ebpf.ProgramSpec {
	ps := make([]*ebpf.ProgramSpec, 0, len(spec.Programs))
	for _, p := range spec.Programs {
		ps = append(ps, p)
	}
	first := func(p *ebpf.ProgramSpec) uint32 {
		for _, ins := range p.Instructions {
			if l, ok := ins.Source().(lineNumberer); ok && l.LineNumber() > 0 {
				return l.LineNumber()
			}
		}
		return 1 << 31
	}
	sort.Slice(ps, func(i, j int) bool {
		a, b := first(ps[i]), first(ps[j])
		if a != b {
			return a < b
		}
		return ps[i].Name < ps[j].Name
	})
	return ps
}

// Instructions writes one line per instruction: raw offset, instruction,
// and, where a new source line starts, that line with its number.
func Instructions(w io.Writer, insns asm.Instructions) error {
	iter := insns.Iterate()
	var prev fmt.Stringer
	for iter.Next() {
		text := Format(*iter.Ins, int(iter.Offset))
		line := fmt.Sprintf("%4d: %s", iter.Offset, text)
		// Print a source line where it starts; the instructions after it
		// carry the same line.
		src := iter.Ins.Source()
		if src != nil && sameLine(src, prev) {
			src = nil
		} else if src != nil {
			prev = src
		}
		if src != nil {
			s := strings.TrimSpace(src.String())
			if l, ok := src.(lineNumberer); ok && l.LineNumber() > 0 {
				s = fmt.Sprintf("%d: %s", l.LineNumber(), s)
			}
			line = fmt.Sprintf("%-44s ; %s", line, s)
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}

// sameLine reports whether two sources are the same source line.
func sameLine(a, b fmt.Stringer) bool {
	if a == nil || b == nil {
		return false
	}
	la, oka := a.(lineNumberer)
	lb, okb := b.(lineNumberer)
	if oka != okb || oka && la.LineNumber() != lb.LineNumber() {
		return false
	}
	return a.String() == b.String()
}

var sizeNames = map[asm.Size]string{asm.Byte: "u8", asm.Half: "u16", asm.Word: "u32", asm.DWord: "u64"}

var aluSyms = map[asm.ALUOp]string{
	asm.Add: "+=", asm.Sub: "-=", asm.Mul: "*=", asm.Div: "/=", asm.Or: "|=", asm.And: "&=",
	asm.LSh: "<<=", asm.RSh: ">>=", asm.Mod: "%=", asm.Xor: "^=", asm.Mov: "=", asm.ArSh: "s>>=",
}

var jumpSyms = map[asm.JumpOp]string{
	asm.JEq: "==", asm.JNE: "!=", asm.JGT: ">", asm.JGE: ">=", asm.JLT: "<", asm.JLE: "<=",
	asm.JSGT: "s>", asm.JSGE: "s>=", asm.JSLT: "s<", asm.JSLE: "s<=", asm.JSet: "&",
}

// Format renders one instruction at raw offset pc; jump targets are given
// as absolute offsets.
func Format(ins asm.Instruction, pc int) string {
	op := ins.OpCode
	cls := op.Class()
	switch {
	case ins.OpCode.IsDWordLoad():
		if ref := ins.Reference(); ref != "" && ins.Src == asm.PseudoMapFD {
			return fmt.Sprintf("%s = map[%s] ll", regName(ins.Dst), ref)
		}
		if ref := ins.Reference(); ref != "" {
			return fmt.Sprintf("%s = %s ll", regName(ins.Dst), ref)
		}
		return fmt.Sprintf("%s = %s ll", regName(ins.Dst), imm(ins.Constant))
	case cls.IsALU():
		return formatALU(ins)
	case cls == asm.LdXClass && op.Mode() == asm.MemMode:
		return fmt.Sprintf("%s = *(%s *)(%s %+d)", regName(ins.Dst), sizeNames[op.Size()], regName(ins.Src), ins.Offset)
	case cls == asm.StXClass && op.Mode() == asm.MemMode:
		return fmt.Sprintf("*(%s *)(%s %+d) = %s", sizeNames[op.Size()], regName(ins.Dst), ins.Offset, regName(ins.Src))
	case cls == asm.StXClass && op.Mode() == asm.AtomicMode:
		return fmt.Sprintf("lock *(%s *)(%s %+d) += %s", sizeNames[op.Size()], regName(ins.Dst), ins.Offset, regName(ins.Src))
	case cls == asm.StClass && op.Mode() == asm.MemMode:
		return fmt.Sprintf("*(%s *)(%s %+d) = %s", sizeNames[op.Size()], regName(ins.Dst), ins.Offset, imm(ins.Constant))
	case cls.IsJump():
		return formatJump(ins, pc)
	}
	return fmt.Sprintf("%v", ins)
}

// regName is the kernel's name of a register (cilium/ebpf calls r10 "rfp").
func regName(r asm.Register) string {
	if r == asm.RFP {
		return "r10"
	}
	return r.String()
}

func reg(r asm.Register, wide bool) string {
	if wide || r == asm.RFP {
		return regName(r)
	}
	return "w" + strings.TrimPrefix(r.String(), "r")
}

func formatALU(ins asm.Instruction) string {
	op := ins.OpCode
	wide := op.Class() == asm.ALU64Class
	if op.ALUOp() == asm.Swap {
		kind := "be"
		if op.Endianness() == asm.LE {
			kind = "le"
		}
		if wide && op.Endianness() == asm.LE {
			kind = "bswap"
		}
		return fmt.Sprintf("%s = %s%d %s", regName(ins.Dst), kind, ins.Constant, regName(ins.Dst))
	}
	if op.ALUOp() == asm.Neg {
		return fmt.Sprintf("%s = -%s", reg(ins.Dst, wide), reg(ins.Dst, wide))
	}
	sym, ok := aluSyms[op.ALUOp()]
	if !ok {
		return fmt.Sprintf("%v", ins)
	}
	src := imm(ins.Constant)
	if !wide {
		// 32-bit operations use the immediate's low 32 bits.
		src = imm(int64(uint32(ins.Constant)))
	}
	switch op.ALUOp() {
	case asm.And, asm.Or, asm.Xor:
		if uint32(ins.Constant) > 9 {
			src = fmt.Sprintf("%#x", uint32(ins.Constant))
		}
	}
	if op.Source() == asm.RegSource {
		src = reg(ins.Src, wide)
	}
	return fmt.Sprintf("%s %s %s", reg(ins.Dst, wide), sym, src)
}

func formatJump(ins asm.Instruction, pc int) string {
	op := ins.OpCode
	wide := op.Class() == asm.JumpClass
	target := pc + 1 + int(ins.Offset)
	switch op.JumpOp() {
	case asm.Exit:
		return "exit"
	case asm.Call:
		if ins.IsBuiltinCall() {
			fn := asm.BuiltinFunc(ins.Constant)
			return fmt.Sprintf("call bpf_%s#%d", helperName(fn), ins.Constant)
		}
		if ref := ins.Reference(); ref != "" {
			return "call " + ref
		}
		return fmt.Sprintf("call pc%+d", ins.Constant)
	case asm.Ja:
		if ref := ins.Reference(); ref != "" && ins.Offset == -1 {
			return "goto " + ref
		}
		return fmt.Sprintf("goto %d", target)
	}
	sym, ok := jumpSyms[op.JumpOp()]
	if !ok {
		return fmt.Sprintf("%v", ins)
	}
	src := imm(ins.Constant)
	if op.Source() == asm.RegSource {
		src = reg(ins.Src, wide)
	}
	dest := fmt.Sprintf("%d", target)
	if ref := ins.Reference(); ref != "" && ins.Offset == -1 {
		dest = ref
	}
	return fmt.Sprintf("if %s %s %s goto %s", reg(ins.Dst, wide), sym, src, dest)
}

// imm prints small values in decimal and large ones in hex, where their
// bit pattern is what matters.
func imm(v int64) string {
	if v > -65536 && v < 65536 {
		return fmt.Sprintf("%d", v)
	}
	if v < 0 {
		return fmt.Sprintf("%#x", uint32(int32(v)))
	}
	return fmt.Sprintf("%#x", v)
}

// helperName turns FnMsgRedirectHash into msg_redirect_hash.
func helperName(fn asm.BuiltinFunc) string {
	s := strings.TrimPrefix(fn.String(), "Fn")
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mapType(t ebpf.MapType) string {
	switch t {
	case ebpf.SockMap:
		return "sockmap"
	case ebpf.SockHash:
		return "sockhash"
	case ebpf.PerCPUArray:
		return "percpu_array"
	}
	return strings.ToLower(t.String())
}

func progType(t ebpf.ProgramType) string {
	switch t {
	case ebpf.SkMsg:
		return "sk_msg"
	case ebpf.SkSKB:
		return "sk_skb"
	case ebpf.SockOps:
		return "sock_ops"
	}
	return strings.ToLower(t.String())
}

func attachType(t ebpf.AttachType) string {
	switch t {
	case ebpf.AttachSkMsgVerdict:
		return "sk_msg_verdict"
	case ebpf.AttachSkSKBStreamParser:
		return "sk_skb_stream_parser"
	case ebpf.AttachSkSKBStreamVerdict:
		return "sk_skb_stream_verdict"
	case ebpf.AttachSkSKBVerdict:
		return "sk_skb_verdict"
	case ebpf.AttachCGroupSockOps:
		return "cgroup_sock_ops"
	case ebpf.AttachNone:
		return "none"
	}
	return strings.ToLower(t.String())
}
