// Package object writes a compiled collection as a standard BPF ELF
// relocatable object, the kind clang -target bpf produces: one section per
// program kind with a global function symbol per program, BTF-defined maps
// in .maps, a license, .BTF built with cilium/ebpf's btf package, and
// .BTF.ext func and line info that maps every instruction back to its
// source line. libbpf, bpftool and cilium/ebpf load the result unchanged.
package object

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/sockc/sockc/lang/disasm"
	"github.com/sockc/sockc/lang/elfw"
)

// rBPF6464 is R_BPF_64_64, the relocation of a map address in an ld_imm64.
const rBPF6464 = 1

// mapDefSize is the size of one BTF map definition in .maps: four
// pointer-sized members.
const mapDefSize = 32

// Write encodes spec as an ELF object with the given license string.
// Programs appear in source order (disasm.Programs), maps by name, so the
// same spec always gives the same bytes.
func Write(spec *ebpf.CollectionSpec, license string) ([]byte, error) {
	progs := disasm.Programs(spec)
	if len(progs) == 0 {
		return nil, fmt.Errorf("no programs to write")
	}
	f := elfw.New(elf.EM_BPF)
	tb := newTypes()
	ext := &extInfo{}

	// Maps come first: programs relocate against their symbols.
	names := make([]string, 0, len(spec.Maps))
	for n := range spec.Maps {
		names = append(names, n)
	}
	sort.Strings(names)
	mapsSec := f.AddSection(&elfw.Section{Name: ".maps", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE,
		Align: 8, Data: make([]byte, mapDefSize*len(names))})
	mapSyms := map[string]*elfw.Symbol{}
	var vars []btf.VarSecinfo
	for i, n := range names {
		def, err := tb.mapDef(spec.Maps[n])
		if err != nil {
			return nil, fmt.Errorf("map %s: %w", n, err)
		}
		v := &btf.Var{Name: n, Type: def, Linkage: btf.GlobalVar}
		vars = append(vars, btf.VarSecinfo{Type: v, Offset: uint32(i * mapDefSize), Size: mapDefSize})
		mapSyms[n] = f.AddSymbol(&elfw.Symbol{Name: n, Section: mapsSec, Value: uint64(i * mapDefSize),
			Size: mapDefSize, Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT})
	}
	if len(vars) > 0 {
		if err := tb.add(&btf.Datasec{Name: ".maps", Size: uint32(len(names) * mapDefSize), Vars: vars}); err != nil {
			return nil, err
		}
	}

	// Programs, one section per kind, in the order the kinds first appear.
	var order []string
	bySection := map[string][]*ebpf.ProgramSpec{}
	for _, p := range progs {
		if p.SectionName == "" {
			return nil, fmt.Errorf("program %s has no section name", p.Name)
		}
		if _, ok := bySection[p.SectionName]; !ok {
			order = append(order, p.SectionName)
		}
		bySection[p.SectionName] = append(bySection[p.SectionName], p)
	}
	for _, name := range order {
		if err := programSection(f, tb, ext, mapSyms, name, bySection[name]); err != nil {
			return nil, err
		}
	}

	lic := f.AddSection(&elfw.Section{Name: "license", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE,
		Align: 1, Data: append([]byte(license), 0)})
	f.AddSymbol(&elfw.Symbol{Name: "_license", Section: lic, Size: uint64(len(license) + 1),
		Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT})

	rawBTF, strs, err := tb.marshal(ext.strings())
	if err != nil {
		return nil, fmt.Errorf("marshal BTF: %w", err)
	}
	f.AddSection(&elfw.Section{Name: ".BTF", Type: elf.SHT_PROGBITS, Align: 4, Data: rawBTF})
	rawExt, err := ext.marshal(strs)
	if err != nil {
		return nil, fmt.Errorf("marshal BTF.ext: %w", err)
	}
	f.AddSection(&elfw.Section{Name: ".BTF.ext", Type: elf.SHT_PROGBITS, Align: 4, Data: rawExt})
	return f.Bytes()
}

// programSection writes the programs of one section back to back, each
// with its function symbol, its map relocations, and its BTF func and line
// info.
func programSection(f *elfw.File, tb *types, ext *extInfo, mapSyms map[string]*elfw.Symbol, name string, progs []*ebpf.ProgramSpec) error {
	type reloc struct {
		off uint64
		sym *elfw.Symbol
	}
	var (
		code   bytes.Buffer
		relocs []reloc
		starts []uint64
	)
	for _, p := range progs {
		start := uint64(code.Len())
		starts = append(starts, start)
		fnID, err := tb.function(p)
		if err != nil {
			return fmt.Errorf("program %s: %w", p.Name, err)
		}
		ext.addFunc(name, uint32(start), fnID)
		var prev *line
		iter := p.Instructions.Iterate()
		for iter.Next() {
			ins := *iter.Ins
			off := start + uint64(iter.Offset)*asm.InstructionSize
			if ref := ins.Reference(); ref != "" {
				sym, ok := mapSyms[ref]
				if !ins.OpCode.IsDWordLoad() || ins.Src != asm.PseudoMapFD || !ok {
					return fmt.Errorf("program %s: instruction %d refers to %q, which is not a map of the collection", p.Name, iter.Index, ref)
				}
				relocs = append(relocs, reloc{off: off, sym: sym})
				// As clang emits it: the loader fills in the map.
				ins.Src, ins.Constant = asm.R0, 0
			}
			if l := lineOf(ins.Source()); l != nil && (prev == nil || *l != *prev) {
				ext.addLine(name, uint32(off), *l)
				prev = l
			}
			if _, err := ins.Marshal(&code, binary.LittleEndian); err != nil {
				return fmt.Errorf("program %s: instruction %d: %w", p.Name, iter.Index, err)
			}
		}
	}
	sec := f.AddSection(&elfw.Section{Name: name, Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR,
		Align: 8, Data: code.Bytes()})
	for i, p := range progs {
		end := uint64(code.Len())
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		f.AddSymbol(&elfw.Symbol{Name: p.Name, Section: sec, Value: starts[i], Size: end - starts[i],
			Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
	}
	for _, r := range relocs {
		f.AddRel(sec, r.off, r.sym, rBPF6464)
	}
	return nil
}
