package parser

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// hostileSize is the largest source sockc accepts (sockc.MaxSourceSize,
// which this package cannot import).
const hostileSize = 512 << 10

// hostileInputs are broken sources of hostileSize bytes that once made
// the parser slow and hungry: one endless line, and one item per line.
var hostileInputs = []struct {
	name string
	src  string
}{
	{"unclosed key", fill("on msg to m: redirect key(", "1, ", "")},
	{"stray lines", fill("", "x\n", "")},
	{"long body", fill("on msg to m:\n", "    x y\n", "")},
	{"long header", fill("on ", "msg ", "")},
	{"one long expression", fill("on msg to m: if ", "1 + ", "")},
}

// fill repeats unit after head up to hostileSize bytes.
func fill(head, unit, tail string) string {
	n := (hostileSize - len(head) - len(tail)) / len(unit)
	return head + strings.Repeat(unit, n) + tail
}

func parseHostile(src []byte) diag.List {
	f := token.NewFile("h.sock", src)
	c := diag.NewCollector(f)
	ParseFile(f, c)
	return c.List()
}

func BenchmarkParseHostile(b *testing.B) {
	for _, in := range hostileInputs {
		b.Run(strings.ReplaceAll(in.name, " ", "_"), func(b *testing.B) {
			src := []byte(in.src)
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				parseHostile(src)
			}
		})
	}
}

// TestParseHostileBounded parses each hostile input of the largest size
// sockc reads and asserts bounds the parser once broke by ten times: at
// most 3 s of CPU time (the parser needs about 0.5 s) and at most 512 MB
// allocated in all (about 120-350 MB now, 0.5-3.7 GB before). Allocation
// is the steadier measure; the time bound catches a return of quadratic
// work. It is the process's CPU time, not the wall clock's: on a CI
// machine busy with other jobs the parse waits for a CPU (one run took
// 4.9 s by the clock), but the work it does stays the same.
func TestParseHostileBounded(t *testing.T) {
	ParseFile(token.NewFile("warm.sock", []byte("x\n")), diag.NewCollector(token.NewFile("warm.sock", nil))) // build the parsers
	for _, in := range hostileInputs {
		t.Run(in.name, func(t *testing.T) {
			src := []byte(in.src)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := cpuTime(t)
			diags := parseHostile(src)
			took := cpuTime(t) - start
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("reliability: hostile parse %s: %d bytes in %v of CPU time, %d MB allocated, %d diagnostics",
				in.name, len(src), took.Round(time.Millisecond), alloc>>20, len(diags))
			if !diags.HasErrors() {
				t.Errorf("no error for a broken file")
			}
			if len(diags) > MaxSyntaxErrors+1 {
				t.Errorf("%d diagnostics, want at most %d", len(diags), MaxSyntaxErrors+1)
			}
			if took > 3*time.Second {
				t.Errorf("took %v of CPU time, want under 3s", took)
			}
			if alloc > 512<<20 {
				t.Errorf("allocated %d MB, want at most 512", alloc>>20)
			}
		})
	}
}

// cpuTime is the CPU time the process has used, in user and kernel mode.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSyntaxErrorCap checks that the parser stops after MaxSyntaxErrors
// errors with one error that says so, at the first item it skips.
func TestSyntaxErrorCap(t *testing.T) {
	src := strings.Repeat("x\n", MaxSyntaxErrors+50)
	_, diags := parse(t, src)
	if len(diags) != MaxSyntaxErrors+1 {
		t.Fatalf("%d diagnostics, want %d", len(diags), MaxSyntaxErrors+1)
	}
	last := messages(diags[MaxSyntaxErrors:])
	if want := "101:1: too many syntax errors (100): the rest of the file is not parsed"; last != want {
		t.Errorf("last diagnostic %q, want %q", last, want)
	}
}

// TestLineTooLong checks that a line of more than MaxLineTokens tokens is
// refused at the first token past the limit, before participle sees it.
func TestLineTooLong(t *testing.T) {
	head := "on msg to m: redirect key("
	src := head + strings.Repeat("1, ", MaxLineTokens) + "1)\n"
	_, diags := parse(t, src)
	// head holds 8 tokens, each "1, " two more: the 10001st is the "1"
	// of the 4997th "1, ".
	want := "1:" + strconv.Itoa(len(head)+(MaxLineTokens-8)/2*3+1) + ": line too long: more than 10000 tokens"
	if got := messages(diags); got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}
