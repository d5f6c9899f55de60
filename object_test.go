package sockc_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/object"
)

// cleanSources lists the examples and the golden cases that compile.
func cleanSources(t *testing.T) []string {
	t.Helper()
	examples, _ := filepath.Glob("examples/*.sock")
	golden, _ := filepath.Glob(filepath.Join(goldenDir, "*.sock"))
	var out []string
	for _, p := range append(examples, golden...) {
		if !strings.HasPrefix(filepath.Base(p), "err_") {
			out = append(out, p)
		}
	}
	if len(examples) < 3 || len(out) < 30 {
		t.Fatalf("found %d examples and %d clean sources", len(examples), len(out))
	}
	return out
}

func compileFile(t *testing.T, path string) (*ebpf.CollectionSpec, []byte) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := sockc.Compile(path, src)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	obj, err := sockc.Object(spec)
	if err != nil {
		t.Fatalf("object %s: %v", path, err)
	}
	return spec, obj
}

// TestObjectRoundTrip writes every clean source as an ELF object, reads it
// back with cilium/ebpf's ELF loader and compares it with the in-memory
// spec: programs, sections, types, attach types, instructions and their
// source lines, and maps.
func TestObjectRoundTrip(t *testing.T) {
	for _, path := range cleanSources(t) {
		t.Run(strings.TrimSuffix(path, ".sock"), func(t *testing.T) {
			want, obj := compileFile(t, path)
			_, again := compileFile(t, path)
			if !bytes.Equal(obj, again) {
				t.Fatal("two compilations of the same source give different objects")
			}
			got, err := object.Read(bytes.NewReader(obj), int64(len(obj)))
			if err != nil {
				t.Fatalf("sockc cannot read its own object: %v", err)
			}
			compareSpecs(t, want, got)
			// What any cilium/ebpf user reads: the same, but for the
			// attach type of skb verdict programs, which their section
			// (libbpf's generic "sk_skb", hook.Kind.Section) leaves out
			// and only their name carries.
			raw, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
			if err != nil {
				t.Fatalf("cilium/ebpf cannot read the object: %v", err)
			}
			for name, p := range raw.Programs {
				w := want.Programs[name]
				if w.AttachType == ebpf.AttachSkSKBVerdict {
					if p.AttachType != ebpf.AttachNone || p.SectionName != "sk_skb" || !strings.HasPrefix(name, "skb_verdict_") {
						t.Errorf("program %s: cilium/ebpf reads attach %v section %q, want the generic sk_skb section", name, p.AttachType, p.SectionName)
					}
					p.AttachType = w.AttachType
				}
			}
			compareSpecs(t, want, raw)
		})
	}
}

func compareSpecs(t *testing.T, want, got *ebpf.CollectionSpec) {
	t.Helper()
	if len(got.Programs) != len(want.Programs) {
		t.Fatalf("%d programs, want %d", len(got.Programs), len(want.Programs))
	}
	for name, wp := range want.Programs {
		gp, ok := got.Programs[name]
		if !ok {
			t.Fatalf("program %s missing", name)
		}
		if gp.Type != wp.Type || gp.AttachType != wp.AttachType || gp.SectionName != wp.SectionName || gp.License != abi.License {
			t.Errorf("program %s: type %v attach %v section %q license %q, want %v %v %q %q",
				name, gp.Type, gp.AttachType, gp.SectionName, gp.License, wp.Type, wp.AttachType, wp.SectionName, abi.License)
		}
		compareInstructions(t, name, wp.Instructions, gp.Instructions)
	}
	if len(got.Maps) != len(want.Maps) {
		t.Fatalf("%d maps, want %d", len(got.Maps), len(want.Maps))
	}
	for name, wm := range want.Maps {
		gm, ok := got.Maps[name]
		if !ok {
			t.Fatalf("map %s missing", name)
		}
		if gm.Type != wm.Type || gm.KeySize != wm.KeySize || gm.ValueSize != wm.ValueSize || gm.MaxEntries != wm.MaxEntries {
			t.Errorf("map %s: %v key %d value %d max %d, want %v %d %d %d", name,
				gm.Type, gm.KeySize, gm.ValueSize, gm.MaxEntries, wm.Type, wm.KeySize, wm.ValueSize, wm.MaxEntries)
		}
		if wm.Value != nil {
			if got, want := abi.CounterNames(gm), abi.CounterNames(wm); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("map %s: counter names %v, want %v", name, got, want)
			}
		}
	}
}

type lineNumberer interface{ LineNumber() uint32 }

func compareInstructions(t *testing.T, prog string, want, got asm.Instructions) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("program %s: %d instructions, want %d", prog, len(got), len(want))
	}
	lines := 0
	for i := range want {
		w, g := want[i], got[i]
		if w.OpCode != g.OpCode || w.Dst != g.Dst || w.Src != g.Src || w.Offset != g.Offset || w.Constant != g.Constant || w.Reference() != g.Reference() {
			t.Fatalf("program %s instruction %d: got %v (ref %q), want %v (ref %q)", prog, i, g, g.Reference(), w, w.Reference())
		}
		// Line info holds from one record to the next; where the object
		// has a record, it must name the instruction's own line.
		if gl, ok := g.Source().(lineNumberer); ok {
			wl := w.Source().(lineNumberer)
			if gl.LineNumber() != wl.LineNumber() {
				t.Errorf("program %s instruction %d: line %d, want %d", prog, i, gl.LineNumber(), wl.LineNumber())
			}
			lines++
		}
	}
	if lines == 0 {
		t.Errorf("program %s: no line info read back", prog)
	}
	if _, ok := got[0].Source().(*btf.Line); !ok {
		t.Errorf("program %s: first instruction has no BTF line", prog)
	}
}

// TestObjectBpftool loads the object of every example and clean golden
// case with the distribution's bpftool, which goes through its libbpf
// (Debian 12's is 1.1, which knows fewer section names than newer ones) and
// the kernel verifier, and checks that bpftool parses the BTF and shows
// each instruction's .sock line.
func TestObjectBpftool(t *testing.T) {
	kerneltest.Require(t)
	bpftool := kerneltest.Tool(t, "bpftool")
	version := string(kerneltest.Run(t, bpftool, "version"))
	t.Logf("%s", strings.ReplaceAll(strings.TrimSpace(version), "\n", "; "))
	for _, path := range cleanSources(t) {
		t.Run(strings.TrimSuffix(path, ".sock"), func(t *testing.T) {
			spec, obj := compileFile(t, path)
			file := filepath.Join(t.TempDir(), "prog.o")
			if err := os.WriteFile(file, obj, 0o644); err != nil {
				t.Fatal(err)
			}
			btfDump := string(kerneltest.Run(t, bpftool, "btf", "dump", "file", file))
			for name := range spec.Maps {
				if !strings.Contains(btfDump, "VAR '"+name+"'") {
					t.Errorf("bpftool btf dump has no VAR %q:\n%s", name, btfDump)
				}
			}
			pins := filepath.Join(kerneltest.PinDir(t), "progs")
			kerneltest.Run(t, bpftool, "prog", "loadall", file, pins)
			for name := range spec.Programs {
				xlated := string(kerneltest.Run(t, bpftool, "prog", "dump", "xlated", "pinned", filepath.Join(pins, name), "linum"))
				if !strings.Contains(xlated, "[file:"+path+" line_num:") {
					t.Errorf("program %s: bpftool shows no .sock line info:\n%s", name, xlated)
				}
			}
		})
	}
}

// TestClangCrossCheck compiles hand-written C equivalents of two examples
// with clang -O2 -target bpf, loads both objects through bpftool and
// cilium/ebpf, and records the instruction counts of both compilers.
func TestClangCrossCheck(t *testing.T) {
	kerneltest.Require(t)
	clang := kerneltest.Tool(t, "clang")
	bpftool := kerneltest.Tool(t, "bpftool")
	if _, err := os.Stat("/usr/include/bpf/bpf_helpers.h"); err != nil {
		kerneltest.Unavailable(t, "libbpf headers are not installed (Debian: libbpf-dev; .ci/run installs it)")
	}
	for _, name := range []string{"bypass", "proxy"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			clangObj := filepath.Join(dir, name+".clang.o")
			cmd := exec.Command(clang, "-O2", "-g", "-target", "bpf",
				"-I/usr/include/"+gnuArch()+"-linux-gnu",
				"-c", filepath.Join("testdata/clang", name+".c"), "-o", clangObj)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("clang: %v\n%s", err, out)
			}
			spec, obj := compileFile(t, filepath.Join("examples", name+".sock"))
			sockcObj := filepath.Join(dir, name+".sockc.o")
			if err := os.WriteFile(sockcObj, obj, 0o644); err != nil {
				t.Fatal(err)
			}
			counts := map[string]map[ebpf.ProgramType]int{}
			for who, file := range map[string]string{"clang": clangObj, "sockc": sockcObj} {
				pins := filepath.Join(kerneltest.PinDir(t), who)
				kerneltest.Run(t, bpftool, "prog", "loadall", file, pins)
				cs, err := ebpf.LoadCollectionSpec(file)
				if err != nil {
					t.Fatalf("%s object: %v", who, err)
				}
				coll, err := ebpf.NewCollection(cs)
				if err != nil {
					t.Fatalf("%s object does not load with cilium/ebpf: %v", who, err)
				}
				coll.Close()
				counts[who] = map[ebpf.ProgramType]int{}
				for _, p := range cs.Programs {
					counts[who][p.Type] += rawLen(p.Instructions)
				}
			}
			for _, p := range spec.Programs {
				s, c := counts["sockc"][p.Type], counts["clang"][p.Type]
				t.Logf("instructions %s %s: sockc %d, clang -O2 %d", name, p.Type, s, c)
				if c == 0 {
					t.Errorf("clang object has no %s program", p.Type)
				}
			}
		})
	}
}

func rawLen(insns asm.Instructions) int {
	n := 0
	for _, ins := range insns {
		n += int(ins.Size() / asm.InstructionSize)
	}
	return n
}

// gnuArch is the Debian multiarch name of the machine (x86_64, aarch64).
func gnuArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return runtime.GOARCH
}
