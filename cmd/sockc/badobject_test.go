package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/elfw"
)

// goodSource compiles to an object with maps, relocations, two program
// sections, BTF and line info: every part a corruption can hit.
const goodSource = `sockhash socks: key (ip4, port, ip4, port), max 65536

on established:
    if family == inet:
        update socks key(local_ip4, local_port, remote_ip4, remote_port)

on msg to socks:
    count sent
    redirect key(remote_ip4, remote_port, local_ip4, local_port) ingress
`

// cli runs the command line in this process.
func cli(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// goodObject is the object `sockc compile good.sock` writes for
// goodSource (the library call, so that the file name in its line info,
// and so the figures, do not depend on the test's directory). objdump
// must list it.
func goodObject(t *testing.T, dir string) []byte {
	t.Helper()
	spec, err := sockc.Compile("good.sock", []byte(goodSource))
	if err != nil {
		t.Fatal(err)
	}
	data, err := sockc.Object(spec)
	if err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "good.o")
	if err := os.WriteFile(obj, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli("objdump", obj); code != 0 {
		t.Fatalf("objdump of the good object: status %d: %s", code, stderr)
	}
	return data
}

// badObject is a damaged or wrong object file.
type badObject struct {
	name string
	data []byte
	// listable objects may be listed by objdump (status 0): a changed
	// instruction is still an instruction. Others must be refused.
	listable bool
	// want is part of objdump's error, for the objects made by hand.
	want string
}

// truncations cuts the object at every 8th byte and at the edges of the
// ELF header.
func truncations(good []byte) []badObject {
	var out []badObject
	for n := 0; n < len(good); n++ {
		if n%8 == 0 || n < 5 || n == 63 || n == 65 || n == len(good)-1 {
			o := badObject{name: fmt.Sprintf("truncated at %d", n), data: good[:n], want: "truncated"}
			if n == 0 {
				o.want = "empty file"
			}
			out = append(out, o)
		}
	}
	return out
}

// flips sets single bytes of the parts of the object that describe the
// rest: the ELF header, the section table, the symbol table, the
// relocations and the BTF headers, and every fourth byte of the BTF.
func flips(t *testing.T, good []byte) []badObject {
	t.Helper()
	ef, err := elf.NewFile(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	type span struct{ from, to, step int }
	spans := []span{{0, 64, 1}}
	shoff := int(binary.LittleEndian.Uint64(good[0x28:]))
	spans = append(spans, span{shoff, shoff + len(ef.Sections)*64, 1})
	for _, s := range ef.Sections {
		off, size := int(s.Offset), int(s.Size)
		switch {
		case s.Type == elf.SHT_SYMTAB || s.Type == elf.SHT_REL:
			spans = append(spans, span{off, off + size, 1})
		case s.Name == ".BTF" || s.Name == ".BTF.ext":
			spans = append(spans, span{off, off + 32, 1}, span{off + 32, off + size, 4})
		}
	}
	var out []badObject
	for _, sp := range spans {
		for i := sp.from; i < sp.to; i += sp.step {
			for _, v := range []byte{0x00, 0xff, 0x80, good[i] ^ 1} {
				if good[i] == v {
					v ^= 0x55 // a change all the same
				}
				b := bytes.Clone(good)
				b[i] = v
				out = append(out, badObject{name: fmt.Sprintf("byte %d set to %#02x", i, v), data: b, listable: true})
			}
		}
	}
	return out
}

// special builds the wrong files a user may hand to sockc, and
// corruptions that single bytes do not reach.
func special(t *testing.T, good []byte) []badObject {
	t.Helper()
	set := func(b []byte, off int, v any) []byte {
		b = bytes.Clone(b)
		var buf bytes.Buffer
		if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
		copy(b[off:], buf.Bytes())
		return b
	}
	ef, err := elf.NewFile(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	shoff := int(binary.LittleEndian.Uint64(good[0x28:]))
	shdr := func(name string) int {
		for i, s := range ef.Sections {
			if s.Name == name {
				return shoff + i*64
			}
		}
		t.Fatalf("no section %s", name)
		return 0
	}
	symtab := ef.Section(".symtab")
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	symOff := func(name string) int {
		for i, s := range syms {
			if s.Name == name {
				return int(symtab.Offset) + (i+1)*elf.Sym64Size
			}
		}
		t.Fatalf("no symbol %s", name)
		return 0
	}
	trueBin, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	out := []badObject{
		{name: "empty file", data: nil, want: "empty file, not a BPF object"},
		{name: "source text", data: []byte(goodSource), want: "not an ELF object file: it is text"},
		{name: "a copy of /bin/true", data: trueBin, want: "an ELF file for EM_X86_64, not a BPF object"},
		{name: "ELF for x86-64", data: set(good, 18, uint16(elf.EM_X86_64)), want: "an ELF file for EM_X86_64, not a BPF object"},
		{name: "32-bit ELF", data: set(good, int(elf.EI_CLASS), byte(elf.ELFCLASS32)), want: "an ELF file of class ELFCLASS32, not a BPF object"},
		{name: "big-endian ELF", data: set(good, int(elf.EI_DATA), byte(elf.ELFDATA2MSB)), want: "an ELF file for unknown machine 63232, not a BPF object"},
		{name: "executable, not relocatable", data: set(good, 16, uint16(elf.ET_EXEC)), want: "a BPF ELF file of type ET_EXEC, not a relocatable object"},
		{name: "section table past the end", data: set(good, 0x28, uint64(len(good))), want: "its section table ends at byte 4160, but the file has 3456 bytes"},
		{name: "no section table", data: set(set(good, 0x28, uint64(0)), 0x3c, uint16(0)), want: "no symbol section"},
		// The section and its program's symbol claim 4 GB: before the
		// sections were checked against the file, the loader allocated
		// for that many instructions (seconds, gigabytes).
		{name: "program section of 4 GB", data: set(set(good, shdr("sk_msg")+32, uint64(0xe70000e0)), symOff("msg_socks")+16, uint64(0xe7000000)), want: "section sk_msg (bytes 448 to 3875537568) ends past the end of the file (3456 bytes)"},
		{name: "BTF past the end", data: set(good, shdr(".BTF")+32, uint64(1<<40)), want: "section .BTF (bytes 828 to 1099511628604) ends past the end"},
		{name: "compressed BTF", data: set(good, shdr(".BTF")+8, uint64(elf.SHF_COMPRESSED)), want: "section .BTF is compressed"},
		{name: "symbol in no section", data: set(good, symOff("socks")+6, uint16(0xfff0)), want: "not a BPF object sockc can read: "},
		{name: "relocation against no symbol", data: set(good, int(ef.Section(".relsk_msg").Offset)+12, uint32(99)), want: "symbol 98 doesn't exist"},
		{name: "all zeros", data: make([]byte, len(good)), want: "not an ELF object file"},
		{name: "ELF magic and nothing else", data: []byte(elf.ELFMAG), want: "truncated ELF file: 4 bytes, less than the 64 of an ELF header"},
	}
	out = append(out, badObject{name: "program section without maps", data: noMaps(t), listable: true})
	return out
}

// noMaps is a valid object with an sk_msg program and no maps: objdump
// lists it, run cannot tell which map it attaches to.
func noMaps(t *testing.T) []byte {
	t.Helper()
	var code bytes.Buffer
	for _, ins := range []asm.Instruction{asm.Mov.Imm(asm.R0, 1), asm.Return()} {
		if _, err := ins.Marshal(&code, binary.LittleEndian); err != nil {
			t.Fatal(err)
		}
	}
	f := elfw.New(elf.EM_BPF)
	sec := f.AddSection(&elfw.Section{Name: "sk_msg", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Align: 8, Data: code.Bytes()})
	f.AddSymbol(&elfw.Symbol{Name: "lonely", Section: sec, Size: uint64(code.Len()), Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
	lic := f.AddSection(&elfw.Section{Name: "license", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: []byte("GPL\x00")})
	f.AddSymbol(&elfw.Symbol{Name: "_license", Section: lic, Size: 4, Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT})
	b, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scratchDir is a directory for thousands of small files: on tmpfs if
// there is one, where writing them costs nothing (on ext4 it takes
// seconds), and removed at the end.
func scratchDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "sockc-badobject-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// oneLineError checks that a refusal is one line, "sockc: ...", with no
// Go trace.
func oneLineError(t *testing.T, what, stderr, prefix string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || !strings.HasPrefix(stderr, prefix) {
		t.Errorf("%s: want one line starting %q, got:\n%s", what, prefix, stderr)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("%s: a Go trace:\n%s", what, stderr)
	}
}

// objectTimeout bounds reading one object: far above what any takes, it
// turns a runaway allocation or loop into a failure.
const objectTimeout = 10 * time.Second

// TestBadObjects gives sockc objdump and sockc run damaged and wrong
// object files, made from a good `sockc compile` output: each must be
// refused with exit status 1 and one line on stderr naming the file, and
// nothing on stdout; objdump may list an object whose damage leaves it
// readable (a changed instruction). run is given the objects that the
// BPF loader refuses, so that it fails before the kernel: with `-- true`,
// an object it accepted would run `true` and exit 0, not hang.
func TestBadObjects(t *testing.T) {
	dir := scratchDir(t)
	good := goodObject(t, dir)
	objs := append(append(truncations(good), special(t, good)...), flips(t, good)...)
	refused, listed := 0, 0
	var slowest time.Duration
	for i, o := range objs {
		path := filepath.Join(dir, fmt.Sprintf("x%d.o", i))
		if err := os.WriteFile(path, o.data, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		code, stdout, stderr := cli("objdump", path)
		d := time.Since(start)
		slowest = max(slowest, d)
		if d > objectTimeout {
			t.Errorf("%s: objdump took %v", o.name, d)
		}
		switch {
		case code == 0 && o.listable:
			listed++
			continue
		case code != 1:
			t.Errorf("%s: objdump exited with %d, want 1; stderr: %s", o.name, code, stderr)
			continue
		}
		refused++
		if o.want != "" && !strings.Contains(stderr, o.want) {
			t.Errorf("%s: objdump said %q, want %q", o.name, stderr, o.want)
		}
		oneLineError(t, o.name+": objdump", stderr, "sockc: "+path+": ")
		if stdout != "" {
			t.Errorf("%s: objdump wrote to stdout:\n%s", o.name, stdout)
		}
	}
	ran := runBadObjects(t, dir, objs)
	t.Logf("reliability: bad objects: %d objects given to objdump (%d refused, %d still listable), %d to run; slowest %v",
		len(objs), refused, listed, ran, slowest.Round(time.Millisecond))
	if !t.Failed() {
		t.Logf("reliability: bad inputs: %d programs, %d objects, %d usage errors checked",
			countBadPrograms(t), len(objs), countUsageErrors(t))
	}
}

// countBadPrograms counts the cases of the bad program table, in
// badinput_test.go at the root of the module, for the summary figure.
func countBadPrograms(t *testing.T) int {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "../../badinput_test.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, sp := range gd.Specs {
			vs, ok := sp.(*ast.ValueSpec)
			if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "badInputs" || len(vs.Values) != 1 {
				continue
			}
			if lit, ok := vs.Values[0].(*ast.CompositeLit); ok {
				return len(lit.Elts)
			}
		}
	}
	t.Fatal("no badInputs table in badinput_test.go")
	return 0
}

// countUsageErrors counts the commands that the scripts expect to exit
// with status 2.
func countUsageErrors(t *testing.T) int {
	t.Helper()
	n := 0
	for _, name := range []string{"bad_usage.txtar", "usage.txtar"} {
		data, err := os.ReadFile(filepath.Join("testdata", "script", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "status 2 ") {
				n++
			}
		}
	}
	return n
}

// runBadObjects gives sockc run the objects that cilium/ebpf's loader
// refuses (every 16th of the flipped ones), and those that crash or
// exhaust it, and returns how many it ran. None may reach the kernel.
func runBadObjects(t *testing.T, dir string, objs []badObject) int {
	t.Helper()
	n, flipped := 0, 0
	for i, o := range objs {
		if strings.HasPrefix(o.name, "byte ") {
			if flipped++; flipped%16 != 0 {
				continue
			}
		}
		if _, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(o.data)); err == nil && o.name != "program section without maps" {
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("run%d.o", i))
		if err := os.WriteFile(path, o.data, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
		code, stdout, stderr := cli("run", path, "--", "true")
		if code != 1 {
			t.Errorf("%s: run exited with %d, want 1; stderr: %s", o.name, code, stderr)
			continue
		}
		// What is wrong with the file is said with its name; what is
		// wrong with a readable object's programs is not about bytes.
		prefix := "sockc: " + path + ": "
		if o.name == "program section without maps" {
			prefix = "sockc: "
		}
		oneLineError(t, o.name+": run", stderr, prefix)
		if o.want != "" && !strings.Contains(stderr, o.want) {
			t.Errorf("%s: run said %q, want it to say %q", o.name, stderr, o.want)
		}
		if stdout != "" {
			t.Errorf("%s: run wrote to stdout:\n%s", o.name, stdout)
		}
	}
	return n
}
