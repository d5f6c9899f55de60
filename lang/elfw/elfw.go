// Package elfw writes ELF64 relocatable object files: sections, a symbol
// table and REL relocations, laid out deterministically. It knows nothing
// about BPF; package object builds BPF objects with it.
package elfw

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// File is an object file under construction.
type File struct {
	Machine  elf.Machine
	sections []*Section
	symbols  []*Symbol
	rels     map[*Section][]rel
}

// Section is one section. Data is its contents (nil for SHT_NOBITS).
type Section struct {
	Name    string
	Type    elf.SectionType
	Flags   elf.SectionFlag
	Data    []byte
	Align   uint64
	EntSize uint64
	index   int
}

// Symbol is a symbol table entry. A nil Section means SHN_UNDEF.
type Symbol struct {
	Name    string
	Section *Section
	Value   uint64
	Size    uint64
	Bind    elf.SymBind
	Type    elf.SymType
	index   int
}

type rel struct {
	offset uint64
	sym    *Symbol
	typ    uint32
}

// New returns an empty relocatable object for machine m.
func New(m elf.Machine) *File {
	return &File{Machine: m, rels: map[*Section][]rel{}}
}

// AddSection appends a section; sections keep the order they are added in.
func (f *File) AddSection(s *Section) *Section {
	if s.Align == 0 {
		s.Align = 1
	}
	f.sections = append(f.sections, s)
	return s
}

// AddSymbol appends a symbol. Local symbols are written before global ones
// (the ELF rule), each group in the order added.
func (f *File) AddSymbol(s *Symbol) *Symbol {
	f.symbols = append(f.symbols, s)
	return s
}

// AddRel records a relocation of type typ at offset within section target,
// against sym. The REL section ".rel"+target.Name is created on output.
func (f *File) AddRel(target *Section, offset uint64, sym *Symbol, typ uint32) {
	f.rels[target] = append(f.rels[target], rel{offset: offset, sym: sym, typ: typ})
}

// stringTable deduplicates NUL-terminated strings.
type stringTable struct {
	buf bytes.Buffer
	off map[string]uint32
}

func newStringTable() *stringTable {
	t := &stringTable{off: map[string]uint32{}}
	t.buf.WriteByte(0)
	t.off[""] = 0
	return t
}

func (t *stringTable) add(s string) uint32 {
	if o, ok := t.off[s]; ok {
		return o
	}
	o := uint32(t.buf.Len())
	t.buf.WriteString(s)
	t.buf.WriteByte(0)
	t.off[s] = o
	return o
}

// Bytes lays the file out: ELF header, section contents in order, then the
// section header table. The same File always gives the same bytes.
func (f *File) Bytes() ([]byte, error) {
	strtab := newStringTable()
	// Final section list: null, user sections each followed by its REL
	// section, then .symtab and .strtab (also the section name table).
	type outSec struct {
		*Section
		link, info uint32
	}
	var out []*outSec
	out = append(out, &outSec{Section: &Section{Type: elf.SHT_NULL}})
	relOf := map[*Section]*outSec{}
	for _, s := range f.sections {
		s.index = len(out)
		out = append(out, &outSec{Section: s})
		if len(f.rels[s]) > 0 {
			r := &outSec{Section: &Section{Name: ".rel" + s.Name, Type: elf.SHT_REL, Align: 8, EntSize: 16}, info: uint32(s.index)}
			out = append(out, r)
			relOf[s] = r
		}
	}
	for s := range f.rels {
		if s.index == 0 {
			return nil, fmt.Errorf("relocation against section %q, which was not added", s.Name)
		}
	}
	symtab := &outSec{Section: &Section{Name: ".symtab", Type: elf.SHT_SYMTAB, Align: 8, EntSize: elf.Sym64Size}}
	out = append(out, symtab)
	strSec := &outSec{Section: &Section{Name: ".strtab", Type: elf.SHT_STRTAB, Align: 1}}
	out = append(out, strSec)
	symtabIndex := uint32(len(out) - 2)
	strtabIndex := uint32(len(out) - 1)
	symtab.link = strtabIndex

	// Symbols: null, locals, globals.
	var locals, globals []*Symbol
	for _, s := range f.symbols {
		if s.Bind == elf.STB_LOCAL {
			locals = append(locals, s)
		} else {
			globals = append(globals, s)
		}
	}
	ordered := append(append([]*Symbol{}, locals...), globals...)
	var symBuf bytes.Buffer
	symBuf.Write(make([]byte, elf.Sym64Size))
	for i, s := range ordered {
		s.index = i + 1
		shndx := uint16(elf.SHN_UNDEF)
		if s.Section != nil {
			if s.Section.index == 0 {
				return nil, fmt.Errorf("symbol %q is in section %q, which was not added", s.Name, s.Section.Name)
			}
			shndx = uint16(s.Section.index)
		}
		sym := elf.Sym64{
			Name:  strtab.add(s.Name),
			Info:  elf.ST_INFO(s.Bind, s.Type),
			Other: uint8(elf.STV_DEFAULT),
			Shndx: shndx,
			Value: s.Value,
			Size:  s.Size,
		}
		if err := binary.Write(&symBuf, binary.LittleEndian, sym); err != nil {
			return nil, err
		}
	}
	symtab.Data = symBuf.Bytes()
	symtab.info = uint32(len(locals) + 1)

	for s, r := range relOf {
		var b bytes.Buffer
		for _, rl := range f.rels[s] {
			if rl.sym.index == 0 {
				return nil, fmt.Errorf("relocation in %q against symbol %q, which was not added", s.Name, rl.sym.Name)
			}
			entry := elf.Rel64{Off: rl.offset, Info: elf.R_INFO(uint32(rl.sym.index), rl.typ)}
			if err := binary.Write(&b, binary.LittleEndian, entry); err != nil {
				return nil, err
			}
		}
		r.Data = b.Bytes()
		r.link = symtabIndex
	}

	names := make([]uint32, len(out))
	for i, s := range out {
		if i > 0 {
			names[i] = strtab.add(s.Name)
		}
	}
	strSec.Data = strtab.buf.Bytes()

	// Layout.
	var body bytes.Buffer
	body.Write(make([]byte, 64)) // ELF header, filled in below
	offsets := make([]uint64, len(out))
	for i, s := range out {
		if i == 0 {
			continue
		}
		pad(&body, s.Align)
		offsets[i] = uint64(body.Len())
		if s.Type != elf.SHT_NOBITS {
			body.Write(s.Data)
		}
	}
	pad(&body, 8)
	shoff := uint64(body.Len())
	for i, s := range out {
		sh := elf.Section64{}
		if i > 0 {
			sh = elf.Section64{
				Name:      names[i],
				Type:      uint32(s.Type),
				Flags:     uint64(s.Flags),
				Off:       offsets[i],
				Size:      uint64(len(s.Data)),
				Link:      s.link,
				Info:      s.info,
				Addralign: s.Align,
				Entsize:   s.EntSize,
			}
		}
		if err := binary.Write(&body, binary.LittleEndian, sh); err != nil {
			return nil, err
		}
	}
	hdr := elf.Header64{
		Type:      uint16(elf.ET_REL),
		Machine:   uint16(f.Machine),
		Version:   uint32(elf.EV_CURRENT),
		Shoff:     shoff,
		Ehsize:    64,
		Shentsize: shdrSize,
		Shnum:     uint16(len(out)),
		Shstrndx:  uint16(strtabIndex),
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	hdr.Ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	var hb bytes.Buffer
	if err := binary.Write(&hb, binary.LittleEndian, hdr); err != nil {
		return nil, err
	}
	b := body.Bytes()
	copy(b, hb.Bytes())
	return b, nil
}

// shdrSize is sizeof(Elf64_Shdr).
const shdrSize = 64

func pad(b *bytes.Buffer, align uint64) {
	if align <= 1 {
		return
	}
	for uint64(b.Len())%align != 0 {
		b.WriteByte(0)
	}
}
