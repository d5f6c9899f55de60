package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/internal/mdfence"
)

const benchmarksDoc = "../docs/benchmarks.md"

// benchDocNotRun lists, by their command, the lines of docs/benchmarks.md
// that TestBenchmarksDoc does not run, and why.
var benchDocNotRun = map[string]string{
	"make bench": "it takes about 20 minutes, beyond CI's budget; it is `make bench-quick` with more rounds, configurations and workloads",
}

// benchPeersRE is the line of the results that says whether the harness
// raced HAProxy and socat or skipped them.
var benchPeersRE = regexp.MustCompile(`(?m)^Peers: haproxy: .*\(present\); socat: .*\(present\)\.$`)

// TestBenchmarksDoc runs the commands of docs/benchmarks.md as a reader
// would, as root in a fresh copy of the checkout: `make bench-quick` must
// write its results and plot where the doc says, with every peer raced
// and every configuration measured. `make bench` is not run (see
// benchDocNotRun).
func TestBenchmarksDoc(t *testing.T) {
	kerneltest.Require(t)
	blocks, err := mdfence.Read(benchmarksDoc)
	if err != nil {
		t.Fatal(err)
	}
	clone, sh, base := readerCheckout(t, sharedGoCaches, "clang", "haproxy", "socat")
	ran, notRun := 0, 0
	for _, b := range blocks {
		for i, line := range b.Lines {
			where := fmt.Sprintf("%s:%d", benchmarksDoc, b.Line+1+i)
			cmd, _, _ := strings.Cut(line, "#")
			cmd = strings.TrimSpace(cmd)
			switch {
			case cmd == "":
			case benchDocNotRun[cmd] != "":
				t.Logf("%s: not run: %s", where, benchDocNotRun[cmd])
				notRun++
			case cmd == "make bench-quick":
				out, code, err := sh.run(cmd, 10*time.Minute)
				if err != nil || code != 0 {
					t.Fatalf("%s: $ %s: exit status %d, %v\n%s", where, cmd, code, err, out)
				}
				checkBenchQuick(t, where, clone)
				ran++
			default:
				t.Fatalf("%s: %s: a command TestBenchmarksDoc cannot run: teach it to, or list it in benchDocNotRun with the reason", where, line)
			}
		}
	}
	if ran == 0 || notRun != len(benchDocNotRun) {
		t.Errorf("ran %d commands and left %d of the %d listed in benchDocNotRun: the doc changed", ran, notRun, len(benchDocNotRun))
	}
	base.AwaitGone(t)
}

// checkBenchQuick checks what `make bench-quick` wrote: the results with
// both peers present and every configuration of the doc's table, and
// the plot.
func checkBenchQuick(t *testing.T, where, clone string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(clone, "bin", "bench-quick.md"))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if !benchPeersRE.Match(md) {
		t.Errorf("%s: the results do not say HAProxy and socat were raced:\n%s", where, md)
	}
	for _, config := range []string{"direct", "go read/write", "go io.Copy", "haproxy", "socat", "sockc proxy", "sockc bypass"} {
		if !strings.Contains(string(md), "| "+config+" |") {
			t.Errorf("%s: the results have no row for %s:\n%s", where, config, md)
		}
	}
	if !strings.Contains(string(md), "Every byte was verified by its receiver.") {
		t.Errorf("%s: the results do not say every byte was verified:\n%s", where, md)
	}
	svg, err := os.ReadFile(filepath.Join(clone, "bin", "bench-quick.svg"))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if !strings.Contains(string(svg), "<svg") {
		t.Errorf("%s: bin/bench-quick.svg is not an SVG (%d bytes)", where, len(svg))
	}
	t.Logf("%s: make bench-quick wrote %d bytes of results and a %d-byte plot", where, len(md), len(svg))
}
