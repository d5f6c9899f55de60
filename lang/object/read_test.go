package object

import (
	"bytes"
	"debug/elf"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// tiny is the object of one sk_msg program and no maps.
func tiny(t *testing.T) []byte {
	t.Helper()
	spec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{}, Programs: map[string]*ebpf.ProgramSpec{
		"msg_m": {Name: "msg_m", Type: ebpf.SkMsg, AttachType: ebpf.AttachSkMsgVerdict, SectionName: "sk_msg", License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()}},
	}}
	b, err := Write(spec, "GPL")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadRefuses checks Read's own checks, each a one-line message, and
// that what it accepts, cilium/ebpf reads.
func TestReadRefuses(t *testing.T) {
	good := tiny(t)
	if spec, err := Read(bytes.NewReader(good), int64(len(good))); err != nil || len(spec.Programs) != 1 {
		t.Fatalf("Read of a good object: %v, %v", spec, err)
	}
	with := func(off int, b ...byte) []byte {
		out := bytes.Clone(good)
		copy(out[off:], b)
		return out
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file, not a BPF object"},
		{"text", []byte("on msg to sockhash m: pass\n"), "not an ELF object file: it is text"},
		{"binary", []byte{0, 1, 2, 3, 0xff}, "not an ELF object file"},
		{"magic only", []byte("\x7fEL"), "truncated ELF file: 3 bytes"},
		{"short header", good[:40], "truncated ELF file: 40 bytes, less than the 64 of an ELF header"},
		{"section table cut", good[:len(good)-1], "truncated or corrupt ELF file: its section table ends"},
		{"class", with(int(elf.EI_CLASS), byte(elf.ELFCLASS32)), "class ELFCLASS32"},
		{"data", with(int(elf.EI_DATA), 7), "byte order"},
		{"machine", with(18, byte(elf.EM_X86_64), 0), "an ELF file for EM_X86_64, not a BPF object"},
		{"unknown machine", with(18, 0x34, 0x12), "an ELF file for unknown machine 4660"},
		{"type", with(16, byte(elf.ET_DYN), 0), "type ET_DYN, not a relocatable object"},
	} {
		_, err := Read(bytes.NewReader(c.data), int64(len(c.data)))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", c.name, err, c.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text: é, ✓":       "plain text: é, ✓",
		"line\nbreak\ttab\x1b[m": `line\x0abreak\x09tab\x1b[m`,
		"bad \xff\xfe utf8":      `bad \xff\xfe utf8`,
		"c1 \u0085 control":      `c1 \u0085 control`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
