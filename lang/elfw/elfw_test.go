package elfw

import (
	"bytes"
	"debug/elf"
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
)

// build writes a small object: two sections, a local and two global
// symbols, and one relocation.
func build(t *testing.T) []byte {
	t.Helper()
	f := New(elf.EM_BPF)
	text := f.AddSection(&Section{Name: "prog", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Align: 8, Data: make([]byte, 24)})
	data := f.AddSection(&Section{Name: ".maps", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 8, Data: make([]byte, 32)})
	f.AddSymbol(&Symbol{Name: "fn", Section: text, Size: 24, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
	m := f.AddSymbol(&Symbol{Name: "m", Section: data, Value: 0, Size: 32, Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT})
	f.AddSymbol(&Symbol{Name: "file.sock", Bind: elf.STB_LOCAL, Type: elf.STT_FILE})
	f.AddRel(text, 8, m, 1)
	b, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteParses(t *testing.T) {
	ef, err := elf.NewFile(bytes.NewReader(build(t)))
	if err != nil {
		t.Fatalf("debug/elf cannot read the output: %v", err)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB || ef.Type != elf.ET_REL || ef.Machine != elf.EM_BPF {
		t.Fatalf("header: class %v data %v type %v machine %v", ef.Class, ef.Data, ef.Type, ef.Machine)
	}
	var names []string
	for _, s := range ef.Sections {
		names = append(names, s.Name)
	}
	want := []string{"", "prog", ".relprog", ".maps", ".symtab", ".strtab"}
	if len(names) != len(want) {
		t.Fatalf("sections %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("sections %q, want %q", names, want)
		}
	}
	rel := ef.Section(".relprog")
	if rel.Type != elf.SHT_REL || rel.Link != 4 || rel.Info != 1 || rel.Entsize != 16 {
		t.Errorf(".relprog: type %v link %d info %d entsize %d", rel.Type, rel.Link, rel.Info, rel.Entsize)
	}
	if s := ef.Section("prog"); s.Flags != elf.SHF_ALLOC|elf.SHF_EXECINSTR || s.Addralign != 8 || s.Offset%8 != 0 {
		t.Errorf("prog: flags %v align %d offset %d", s.Flags, s.Addralign, s.Offset)
	}

	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	// Locals come first: the file symbol, then fn and m.
	if len(syms) != 3 || syms[0].Name != "file.sock" || syms[1].Name != "fn" || syms[2].Name != "m" {
		t.Fatalf("symbols %+v", syms)
	}
	symtab := ef.Section(".symtab")
	if symtab.Info != 2 { // index of the first global: null + one local
		t.Errorf(".symtab sh_info = %d, want 2", symtab.Info)
	}
	if syms[2].Section != 3 || syms[2].Size != 32 || elf.ST_BIND(syms[2].Info) != elf.STB_GLOBAL || elf.ST_TYPE(syms[2].Info) != elf.STT_OBJECT {
		t.Errorf("symbol m: %+v", syms[2])
	}

	raw, err := rel.Data()
	if err != nil {
		t.Fatal(err)
	}
	var r elf.Rel64
	if err := readLE(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Off != 8 || elf.R_SYM64(r.Info) != 3 || elf.R_TYPE64(r.Info) != 1 {
		t.Errorf("relocation: off %d sym %d type %d, want 8, 3 (m), 1", r.Off, elf.R_SYM64(r.Info), elf.R_TYPE64(r.Info))
	}
}

func TestDeterministic(t *testing.T) {
	if !bytes.Equal(build(t), build(t)) {
		t.Fatal("two writes of the same file differ")
	}
}

func TestErrors(t *testing.T) {
	f := New(elf.EM_BPF)
	orphan := &Section{Name: "orphan"}
	f.AddSymbol(&Symbol{Name: "x", Section: orphan, Bind: elf.STB_GLOBAL})
	if _, err := f.Bytes(); err == nil {
		t.Error("symbol in a section that was never added: no error")
	}

	f = New(elf.EM_BPF)
	sec := f.AddSection(&Section{Name: "s", Type: elf.SHT_PROGBITS, Data: make([]byte, 8)})
	f.AddRel(sec, 0, &Symbol{Name: "missing"}, 1)
	if _, err := f.Bytes(); err == nil {
		t.Error("relocation against a symbol that was never added: no error")
	}
}
