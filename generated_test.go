package sockc_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/internal/sockgen"
	"github.com/sockc/sockc/lang/diag"
)

// Generated programs: seeds genBase, genBase+1, ... unless one seed is
// given to reproduce a failure.
const (
	genBase  = 0x50c6_0000
	genCount = 3000
	// genMaxEntries caps map capacities before loading: the verifier's
	// verdict does not depend on them, and a few generated maps of 2^24
	// sockets would each cost the kernel hundreds of megabytes.
	genMaxEntries = 1 << 16
	// genMinClean is the share of generated programs that must check
	// clean for the property to say much.
	genMinClean = 0.9
)

var (
	genSeedFlag  = flag.String("sockgen.seed", "", "run the generated-program tests on this seed only (or set SOCKGEN_SEED)")
	genCountFlag = flag.Int("sockgen.n", genCount, "number of generated programs (or set SOCKGEN_N)")
)

// genSeeds returns the seeds to test: the one given by -sockgen.seed or
// SOCKGEN_SEED, or genCount (-sockgen.n, SOCKGEN_N) from genBase.
func genSeeds(t *testing.T) []uint64 {
	t.Helper()
	s := *genSeedFlag
	if s == "" {
		s = os.Getenv("SOCKGEN_SEED")
	}
	if s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("sockgen seed %q: %v", s, err)
		}
		return []uint64{v}
	}
	n := *genCountFlag
	if e := os.Getenv("SOCKGEN_N"); e != "" && n == genCount {
		v, err := strconv.Atoi(e)
		if err != nil {
			t.Fatalf("SOCKGEN_N=%q: %v", e, err)
		}
		n = v
	}
	if n < 1 {
		t.Fatalf("sockgen: %d programs: want at least 1", n)
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = genBase + uint64(i)
	}
	return seeds
}

// genStats tallies what happened to the generated programs.
type genStats struct {
	mu       sync.Mutex
	verified int
	notClean map[string][]uint64 // first error, numbers blanked -> seeds
	failures int
}

var genDigits = regexp.MustCompile(`[0-9]+`)

func (s *genStats) dirty(seed uint64, diags diag.List) {
	msg := "no error message"
	for _, d := range diags {
		if d.Severity == diag.Error {
			msg = genDigits.ReplaceAllString(d.Message, "N")
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notClean[msg] = append(s.notClean[msg], seed)
}

// report logs the not-clean programs by first error and returns their
// number.
func (s *genStats) report(t *testing.T) int {
	t.Helper()
	dirty := 0
	var msgs []string
	for m, seeds := range s.notClean {
		dirty += len(seeds)
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return len(s.notClean[msgs[i]]) > len(s.notClean[msgs[j]]) })
	for _, m := range msgs {
		t.Logf("not clean: %d programs (e.g. seed %#x): %s", len(s.notClean[m]), s.notClean[m][0], m)
	}
	return dirty
}

// TestGeneratedProgramsVerify is the compiler's contract as a property:
// every generated program (internal/sockgen) that checks clean compiles
// to the same object bytes twice, and the kernel verifier accepts, from a
// caller with CAP_BPF and CAP_NET_ADMIN only, its
// programs. Even seeds load the compiled spec, as `sockc run FILE.sock`
// does; odd seeds load the ELF object read back, as `sockc run FILE.o`
// and libbpf users do. Reproduce a failure with -sockgen.seed=SEED.
func TestGeneratedProgramsVerify(t *testing.T) {
	kerneltest.Require(t)
	start := time.Now()
	seeds := genSeeds(t)
	if len(seeds) == 1 {
		t.Logf("seed %#x:\n%s", seeds[0], sockgen.Generate(seeds[0]))
	}
	stats := &genStats{notClean: map[string][]uint64{}}
	onWorkers(seeds, func(work <-chan uint64) {
		// As a service given just what sockc needs: without
		// CAP_PERFMON the verifier is stricter.
		kerneltest.WithBPFCapabilitiesOnly(t, func() {
			for seed := range work {
				genVerify(t, seed, stats)
			}
		})
	})
	dirty := stats.report(t)
	t.Logf("reliability: generated programs verified: %d (of %d generated, %d not clean)", stats.verified, len(seeds), dirty)
	t.Logf("reliability: generated programs took %.1fs (seeds %#x..%#x)", time.Since(start).Seconds(), seeds[0], seeds[len(seeds)-1])
	if clean := float64(len(seeds)-dirty) / float64(len(seeds)); clean < genMinClean {
		t.Errorf("only %.1f%% of generated programs check clean, want at least %.0f%%: the generator or the checker is off",
			100*clean, 100*genMinClean)
	}
}

// genMaxReported bounds the failures printed in full.
const genMaxReported = 5

// genVerify runs the property on one seed.
func genVerify(t *testing.T, seed uint64, stats *genStats) {
	src := sockgen.Generate(seed)
	name := fmt.Sprintf("gen_%#x.sock", seed)
	fail := func(format string, args ...any) {
		stats.mu.Lock()
		stats.failures++
		n := stats.failures
		stats.mu.Unlock()
		if n > genMaxReported {
			t.Errorf("seed %#x: %s", seed, fmt.Sprintf(format, args...))
			return
		}
		t.Errorf("seed %#x (reproduce: go test -run TestGeneratedProgramsVerify -sockgen.seed=%#x .): %s\n--- source\n%s\n---",
			seed, seed, fmt.Sprintf(format, args...), src)
	}
	out, err := sockc.Build(name, src)
	if err != nil {
		var diags diag.List
		if !errors.As(err, &diags) {
			fail("compile: %v", err)
			return
		}
		// A bug of the compiler, not a program the checker refused
		// (codegen.Portable's refusals among them): never "not clean".
		for _, d := range diags {
			if strings.Contains(d.Message, "internal compiler error") {
				fail("%s", d.Message)
				return
			}
		}
		stats.dirty(seed, diags)
		return
	}
	obj, err := sockc.Object(out.Spec)
	if err != nil {
		fail("object: %v", err)
		return
	}
	again, err := sockc.Compile(name, src)
	if err != nil {
		fail("second compile: %v", err)
		return
	}
	obj2, err := sockc.Object(again)
	if err != nil {
		fail("second object: %v", err)
		return
	}
	if !bytes.Equal(obj, obj2) {
		fail("two compilations give different objects (%d and %d bytes)", len(obj), len(obj2))
		return
	}
	spec, how := out.Spec, "the compiled spec"
	if seed%2 == 1 {
		spec, how = nil, "the ELF object"
		if spec, err = ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj)); err != nil {
			fail("cilium/ebpf cannot read the object: %v", err)
			return
		}
	}
	for _, m := range spec.Maps {
		m.MaxEntries = min(m.MaxEntries, genMaxEntries)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			fail("loading %s: the verifier rejects a clean program: %v\n--- verifier log (tail)\n%s", how, err, genLogTail(verr.Log, 25))
		} else {
			fail("loading %s: %v", how, err)
		}
		return
	}
	coll.Close()
	stats.mu.Lock()
	stats.verified++
	stats.mu.Unlock()
}

func genLogTail(log []string, n int) string {
	if len(log) > n {
		log = log[len(log)-n:]
	}
	return strings.Join(log, "\n")
}

// genCompileCount is how many generated programs TestGeneratedProgramsCompile
// compiles: more than the kernel test loads, as it needs no kernel.
const genCompileCount = 10000

// TestGeneratedProgramsCompile compiles generated programs without a
// kernel: none may end in an internal compiler error, codegen.Portable's
// refusal of code some verifier would refuse among them. (The kernel
// matrix found an if/else whose branches needed different stack
// clearing this way, at 5 of 3,000 seeds.)
func TestGeneratedProgramsCompile(t *testing.T) {
	seeds := make([]uint64, genCompileCount)
	for i := range seeds {
		seeds[i] = genBase + uint64(i)
	}
	if s := *genSeedFlag; s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("sockgen seed %q: %v", s, err)
		}
		seeds = []uint64{v}
	}
	var mu sync.Mutex
	clean := 0
	onWorkers(seeds, func(work <-chan uint64) {
		for seed := range work {
			_, err := sockc.Build(fmt.Sprintf("gen_%#x.sock", seed), sockgen.Generate(seed))
			var diags diag.List
			if errors.As(err, &diags) {
				for _, d := range diags {
					if strings.Contains(d.Message, "internal compiler error") {
						t.Errorf("seed %#x (go test -run TestGeneratedProgramsCompile -sockgen.seed=%#x .): %s", seed, seed, d.Message)
					}
				}
				continue
			} else if err != nil {
				t.Errorf("seed %#x: %v", seed, err)
				continue
			}
			mu.Lock()
			clean++
			mu.Unlock()
		}
	})
	t.Logf("reliability: generated programs compiled: %d clean of %d, no internal compiler error", clean, len(seeds))
}

// onWorkers hands the seeds to one worker per CPU, each reading them from
// its channel, and returns when all are done.
func onWorkers(seeds []uint64, worker func(work <-chan uint64)) {
	work := make(chan uint64)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(work)
		}()
	}
	for _, s := range seeds {
		work <- s
	}
	close(work)
	wg.Wait()
}
