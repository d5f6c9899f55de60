package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc"
)

// CompilerOptions say what the compiler benchmark measures.
type CompilerOptions struct {
	Sockc    string // the sockc binary
	Examples string // directory of the example .sock files
	CDir     string // directory of their C equivalents (NAME.c for NAME.sock)
	Runs     int    // whole-process runs per timing
	// BenchTime is how long each in-process timing runs (the testing
	// package's -test.benchtime); 0 leaves its default of one second.
	BenchTime time.Duration
	Log       io.Writer
}

// ProgramCount compares one program as sockc and clang -O2 compile it.
type ProgramCount struct {
	Source  string // example file or generated program
	Program string // program name in the object
	Sockc   int    // instructions (64-bit slots, as the kernel counts)
	Clang   int    // 0 if clang is not available
	// Instructions the verifier processed, from its log; 0 if not loaded.
	SockcVerified, ClangVerified int
}

// CompileTiming is how long sockc takes with one file.
type CompileTiming struct {
	Source    string
	InProcess time.Duration // sockc.Compile, per call (Go benchmark)
	Object    time.Duration // sockc.Compile and sockc.Object, per call
	Process   time.Duration // `sockc compile -o /dev/null FILE`, median
	Ready     time.Duration // `sockc run FILE ...` to "sockc: ready", median; 0 if not run
}

// Compiler is the outcome of the compiler benchmark.
type Compiler struct {
	Clang   string // clang's version line, or why it was not used
	Counts  []ProgramCount
	Timings []CompileTiming
}

// RunCompiler compares sockc's output with clang's for the examples and the
// generated programs, and times sockc's compile and load.
func RunCompiler(ctx context.Context, o CompilerOptions) (*Compiler, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	o.Runs = max(1, o.Runs)
	if o.BenchTime > 0 {
		// testing.Benchmark reads its duration from the testing flags.
		testing.Init()
		if err := flag.Set("test.benchtime", o.BenchTime.String()); err != nil {
			return nil, fmt.Errorf("benchmark time: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "sockc-bench-compiler-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	progs, err := examplePrograms(o.Examples, o.CDir)
	if err != nil {
		return nil, err
	}
	progs = append(progs, GeneratedPrograms()...)

	res := &Compiler{}
	clang, clangErr := findClang()
	res.Clang = clangVersion(clang, clangErr)
	kernel := os.Geteuid() == 0
	for _, p := range progs {
		counts, err := compareProgram(p, clang, tmp, kernel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		res.Counts = append(res.Counts, counts...)
		for _, c := range counts {
			fmt.Fprintf(o.Log, "instructions  %-20s %-28s sockc %4d  clang %4d  verified %4d / %4d\n",
				c.Source, c.Program, c.Sockc, c.Clang, c.SockcVerified, c.ClangVerified)
		}
	}
	for _, p := range progs {
		t, err := timeProgram(ctx, p, o, tmp, kernel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		res.Timings = append(res.Timings, t)
		fmt.Fprintf(o.Log, "time  %-20s compile %v  +object %v  process %v  ready %v\n",
			t.Source, t.InProcess, t.Object, t.Process, t.Ready)
	}
	return res, nil
}

// examplePrograms reads every example that has a C equivalent.
func examplePrograms(examples, cdir string) ([]Program, error) {
	files, err := filepath.Glob(filepath.Join(examples, "*.sock"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var ps []Program
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sock")
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		c, err := os.ReadFile(filepath.Join(cdir, name+".c"))
		if err != nil {
			return nil, fmt.Errorf("example %s has no C equivalent: %w", f, err)
		}
		ps = append(ps, Program{Name: filepath.Base(f), Sock: string(src), C: string(c), File: f})
	}
	return ps, nil
}

func findClang() (string, error) {
	clang, err := exec.LookPath("clang")
	if err != nil {
		return "", errors.New("clang is not installed (Debian: clang)")
	}
	if _, err := os.Stat("/usr/include/bpf/bpf_helpers.h"); err != nil {
		return "", errors.New("libbpf headers are not installed (Debian: libbpf-dev)")
	}
	return clang, nil
}

func clangVersion(clang string, err error) string {
	if err != nil {
		return "not used: " + err.Error()
	}
	out, _ := exec.Command(clang, "--version").Output()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// compareProgram compiles p with both compilers and, as root, loads both
// objects to read the verifier's processed-instruction counts.
func compareProgram(p Program, clang, tmp string, kernel bool) ([]ProgramCount, error) {
	spec, err := sockc.Compile(p.Name, []byte(p.Sock))
	if err != nil {
		return nil, fmt.Errorf("sockc: %w", err)
	}
	obj, err := sockc.Object(spec)
	if err != nil {
		return nil, fmt.Errorf("sockc object: %w", err)
	}
	sockcProgs, err := objectCounts(obj, kernel)
	if err != nil {
		return nil, fmt.Errorf("sockc object: %w", err)
	}
	var clangProgs map[progKey]progCount
	if clang != "" {
		cobj, err := clangCompile(clang, p.C, tmp)
		if err != nil {
			return nil, err
		}
		if clangProgs, err = objectCounts(cobj, kernel); err != nil {
			return nil, fmt.Errorf("clang object: %w", err)
		}
	}
	keys := make([]progKey, 0, len(sockcProgs))
	for k := range sockcProgs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b progKey) int { return strings.Compare(sockcProgs[a].name, sockcProgs[b].name) })
	var out []ProgramCount
	for _, k := range keys {
		s, c := sockcProgs[k], clangProgs[k]
		out = append(out, ProgramCount{Source: p.Name, Program: s.name,
			Sockc: s.insns, Clang: c.insns, SockcVerified: s.verified, ClangVerified: c.verified})
	}
	return out, nil
}

// progKey matches the programs of the two objects: by what they are, since
// hand-written C names them as it likes.
type progKey struct {
	typ    ebpf.ProgramType
	attach ebpf.AttachType
}

type progCount struct {
	name            string
	insns, verified int
}

var processedRE = regexp.MustCompile(`processed (\d+) insns`)

// objectCounts reads an object's programs with cilium/ebpf and, if kernel
// is set, loads them and reads the verifier's statistics.
func objectCounts(obj []byte, kernel bool) (map[progKey]progCount, error) {
	cs, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil, err
	}
	out := map[progKey]progCount{}
	for name, p := range cs.Programs {
		out[progKey{p.Type, p.AttachType}] = progCount{name: name, insns: slots(p.Instructions)}
	}
	if !kernel {
		return out, nil
	}
	coll, err := ebpf.NewCollectionWithOptions(cs, ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats},
	})
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer coll.Close()
	for name, p := range coll.Programs {
		k := progKey{cs.Programs[name].Type, cs.Programs[name].AttachType}
		c := out[k]
		if m := processedRE.FindStringSubmatch(p.VerifierLog); m != nil {
			c.verified, _ = strconv.Atoi(m[1])
		}
		out[k] = c
	}
	return out, nil
}

// slots counts instructions as the kernel does: a 64-bit immediate load
// takes two.
func slots(insns asm.Instructions) int {
	n := 0
	for _, ins := range insns {
		n += int(ins.Size() / asm.InstructionSize)
	}
	return n
}

func clangCompile(clang, src, tmp string) ([]byte, error) {
	in := filepath.Join(tmp, "prog.c")
	out := filepath.Join(tmp, "prog.o")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		return nil, err
	}
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[goruntime.GOARCH]
	cmd := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-I/usr/include/"+arch+"-linux-gnu", "-c", in, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("clang: %v\n%s", err, b)
	}
	return os.ReadFile(out)
}

// timeProgram times the compiler in process and as a command, and, for
// example files run as root, `sockc run` up to its ready line.
func timeProgram(ctx context.Context, p Program, o CompilerOptions, tmp string, kernel bool) (CompileTiming, error) {
	t := CompileTiming{Source: p.Name}
	src := []byte(p.Sock)
	t.InProcess = perOp(func() error { _, err := sockc.Compile(p.Name, src); return err })
	t.Object = perOp(func() error {
		spec, err := sockc.Compile(p.Name, src)
		if err == nil {
			_, err = sockc.Object(spec)
		}
		return err
	})
	file := p.File
	if file == "" {
		file = filepath.Join(tmp, "generated.sock")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			return t, err
		}
	}
	var err error
	if t.Process, err = medianOf(o.Runs, func() (time.Duration, error) {
		start := time.Now()
		out, err := exec.CommandContext(ctx, o.Sockc, "compile", "-o", os.DevNull, file).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("sockc compile: %v\n%s", err, out)
		}
		return time.Since(start), nil
	}); err != nil {
		return t, err
	}
	if !kernel || p.File == "" {
		return t, nil
	}
	args, err := readyArgs(p)
	if err != nil {
		return t, err
	}
	if args != nil {
		if t.Ready, err = medianOf(o.Runs, func() (time.Duration, error) {
			return timeToReady(ctx, o.Sockc, append([]string{"run", file}, args...))
		}); err != nil {
			return t, err
		}
	}
	return t, nil
}

// readyArgs are the `sockc run` arguments that make p do its job, as the
// compiler's manifest of it says: a cgroup command for a sockops program,
// a pair of sockets for a map with a companion of `redirect peer`. Both
// an echo and a proxy pair sockets so; the proxy is the one that counts
// what it forwards (examples/proxy.sock), and gets an upstream. nil when
// the programs need neither.
func readyArgs(p Program) ([]string, error) {
	out, err := sockc.Build(p.Name, []byte(p.Sock))
	if err != nil {
		return nil, fmt.Errorf("sockc: %w", err)
	}
	man := out.Manifest
	for _, pr := range man.Programs {
		if pr.Hook.Sockops() {
			return []string{"--", "true"}, nil
		}
	}
	switch {
	case len(man.Peers) > 0 && len(man.Counters) > 0:
		return []string{"--proxy", "127.0.0.1:0=127.0.0.1:9"}, nil
	case len(man.Peers) > 0:
		return []string{"--accept", "127.0.0.1:0"}, nil
	}
	return nil, nil
}

// timeToReady starts `sockc ARGS` and returns the time until it prints
// "sockc: ready", then stops it and checks that it exits cleanly.
func timeToReady(ctx context.Context, sockcBin string, args []string) (time.Duration, error) {
	start := time.Now()
	var ready time.Duration
	p, err := startProcess(ctx, "sockc run", append([]string{sockcBin}, args...), func(line string) bool {
		if strings.TrimSpace(line) == "sockc: ready" {
			ready = time.Since(start)
			return true
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	if err := p.stop(); err != nil {
		return 0, err
	}
	return ready, nil
}

// perOp is the time per call of f, by the testing package's benchmark
// loop, or -1 if f fails.
func perOp(f func() error) time.Duration {
	var failed error
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if err := f(); err != nil {
				failed = err
				b.FailNow()
			}
		}
	})
	if failed != nil || r.N == 0 {
		return -1
	}
	return time.Duration(r.NsPerOp())
}

func medianOf(n int, f func() (time.Duration, error)) (time.Duration, error) {
	ds := make([]float64, 0, n)
	for range n {
		d, err := f()
		if err != nil {
			return 0, err
		}
		ds = append(ds, float64(d))
	}
	return time.Duration(SpreadOf(ds).Median), nil
}
