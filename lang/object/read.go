package object

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc/lang/abi"
)

// Read reads a BPF ELF object of size bytes, sockc's or clang's, with
// cilium/ebpf's loader. It first checks what that loader takes on trust,
// so that a wrong or damaged file is one clear error instead of a
// low-level one, a panic, or gigabytes allocated for a section that a
// corrupt header says is huge: the file must be a 64-bit relocatable ELF
// object for machine BPF, with every section inside the file. The error
// is one line of printable text.
func Read(r io.ReaderAt, size int64) (*ebpf.CollectionSpec, error) {
	if err := validate(r, size); err != nil {
		return nil, errors.New(printable(err.Error()))
	}
	spec, err := load(r)
	if err != nil {
		return nil, errors.New(printable("not a BPF object sockc can read: " + explainEOF(err).Error()))
	}
	attachTypesFromNames(spec)
	return spec, nil
}

// attachTypesFromNames gives the sk_skb programs of libbpf's generic
// section "sk_skb", which names no attach type, the one their name says
// by sockc's convention (skb_verdict_MAP: hook.Kind.Section says why sockc
// writes them there). Other programs keep what their section says.
func attachTypesFromNames(spec *ebpf.CollectionSpec) {
	for name, p := range spec.Programs {
		if p.Type != ebpf.SkSKB || p.AttachType != ebpf.AttachNone {
			continue
		}
		if k, _, ok := abi.ParseProgramName(name); ok && k.ProgramType() == ebpf.SkSKB {
			p.AttachType = k.AttachType()
		}
	}
}

// load runs cilium/ebpf's loader, turning a panic in it into an error: a
// damaged file must not crash the program that reads it.
func load(r io.ReaderAt) (spec *ebpf.CollectionSpec, err error) {
	defer func() {
		if p := recover(); p != nil {
			spec, err = nil, fmt.Errorf("the reader failed on it: %v", p)
		}
	}()
	return ebpf.LoadCollectionSpecFromReader(r)
}

// ehdrSize is the size of an ELF64 header.
const ehdrSize = 64

// validate checks the ELF header, the section table and the sections'
// extents.
func validate(r io.ReaderAt, size int64) error {
	if size == 0 {
		return errors.New("empty file, not a BPF object")
	}
	head := make([]byte, min(size, ehdrSize))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read: %w", err)
	}
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		if len(head) < len(elf.ELFMAG) && bytes.HasPrefix([]byte(elf.ELFMAG), head) {
			return fmt.Errorf("truncated ELF file: %d bytes", size)
		}
		if looksLikeText(head) {
			return errors.New("not an ELF object file: it is text (source code?)")
		}
		return errors.New("not an ELF object file")
	}
	if size < ehdrSize {
		return fmt.Errorf("truncated ELF file: %d bytes, less than the %d of an ELF header", size, ehdrSize)
	}
	if c := elf.Class(head[elf.EI_CLASS]); c != elf.ELFCLASS64 {
		return fmt.Errorf("an ELF file of class %v, not a BPF object (BPF objects are ELFCLASS64)", c)
	}
	var bo binary.ByteOrder
	switch d := elf.Data(head[elf.EI_DATA]); d {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return fmt.Errorf("an ELF file with byte order %v, not a BPF object", d)
	}
	var hdr elf.Header64
	if err := binary.Read(bytes.NewReader(head), bo, &hdr); err != nil {
		return fmt.Errorf("read the ELF header: %w", err)
	}
	if m := elf.Machine(hdr.Machine); m != elf.EM_BPF {
		name := m.String()
		if strings.ContainsRune(name, '+') {
			// debug/elf names an unknown machine after a known one:
			// EM_ALPHA+26330.
			name = fmt.Sprintf("unknown machine %d", hdr.Machine)
		}
		return fmt.Errorf("an ELF file for %s, not a BPF object", name)
	}
	if t := elf.Type(hdr.Type); t != elf.ET_REL {
		return fmt.Errorf("a BPF ELF file of type %v, not a relocatable object (ET_REL)", t)
	}
	if hdr.Shnum > 0 {
		end := hdr.Shoff + uint64(hdr.Shnum)*uint64(hdr.Shentsize)
		if end < hdr.Shoff || end > uint64(size) {
			return fmt.Errorf("truncated or corrupt ELF file: its section table ends at byte %d, but the file has %d bytes", end, size)
		}
	}
	ef, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("corrupt ELF file: %w", explainEOF(err))
	}
	defer ef.Close()
	for _, s := range ef.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		end := s.Offset + s.FileSize
		if end < s.Offset || end > uint64(size) {
			return fmt.Errorf("truncated or corrupt ELF file: section %s (bytes %d to %d) ends past the end of the file (%d bytes)", s.Name, s.Offset, end, size)
		}
		if s.Flags&elf.SHF_COMPRESSED != 0 && !strings.HasPrefix(s.Name, ".debug") {
			// Compilers compress debug sections only; a compressed
			// program or BTF section may expand to any size.
			return fmt.Errorf("section %s is compressed; BPF objects keep it uncompressed", s.Name)
		}
	}
	return nil
}

// looksLikeText reports whether the start of a file is text: UTF-8
// without control characters other than blanks.
func looksLikeText(b []byte) bool {
	// The head may end inside a character: drop up to three bytes.
	for i := 0; i < utf8.UTFMax-1 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// explainEOF says "truncated" where a reader says EOF: to a user, a file
// that ends too early is truncated.
func explainEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated (%w)", err)
	}
	return err
}

// printable makes a message one line of printable text: names read from a
// corrupt file may hold control characters or invalid UTF-8, which are
// shown as Go escapes.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
