package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/kerneltest"
)

// TestBenchHarness runs `sockc-bench` as `make bench` does, cut down to
// seconds: one round of short measurements under the sockc proxy and
// bypass and the Go proxy, and the compiler part. It checks that the
// harness runs, writes its results into the Markdown file between the
// markers, keeps the text around them, and draws the plot, and that the
// tools run over veth too and leave no network namespace behind.
func TestBenchHarness(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.Tool(t, "clang")
	dir := t.TempDir()
	bin := filepath.Join(dir, "sockc-bench")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/sockc-bench").CombinedOutput(); err != nil {
		t.Fatalf("build sockc-bench: %v\n%s", err, out)
	}
	doc := filepath.Join(dir, "bench.md")
	const before, after = "Text before the results.\n", "Text after the results.\n"
	if err := os.WriteFile(doc, []byte(before+"<!-- begin results: written by `make bench`; edit outside these lines -->\nold\n<!-- end results -->\n"+after), 0o644); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "bench.svg")
	cmd := exec.Command(bin, "-quick", "-install=false", "-rounds", "1", "-duration", "150ms",
		"-configs", "direct,go read/write,sockc proxy,sockc bypass",
		"-workloads", "bulk 1x64K,rr 64B,connect",
		"-sockc", sockcBin, "-examples", "../examples", "-c", "../testdata/clang",
		"-doc", doc, "-plot", svg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sockc-bench: %v\n%s", err, out)
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if !strings.HasPrefix(md, before) || !strings.HasSuffix(md, after) || strings.Contains(md, "\nold\n") {
		t.Errorf("results not spliced between the markers:\n%s", md)
	}
	for _, want := range []string{
		"| sockc proxy |", "| sockc bypass |", "| go read/write |", "| direct |",
		"### Bulk throughput", "### Request/response latency", "### Connection setup",
		"| proxy.sock | stream_verdict_conns |", "### Goals",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results lack %q:\n%s", want, md)
		}
	}
	// With ethtool, the tools ran over veth too, GRO coalescing the
	// client's frames before the sockc proxy's verdict program, and the
	// harness removed its network namespaces.
	if _, err := exec.LookPath("ethtool"); err == nil {
		for _, want := range []string{
			"### Unmodified iperf3 and sockperf between hosts: three network namespaces joined by veth",
			"#### iperf3 throughput over veth", "#### sockperf ping-pong latency over veth, 64 B",
			"GRO coalesced the client's frames",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("results lack %q:\n%s", want, md)
			}
		}
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err != nil || strings.Contains(string(out), "sockc-bench-") {
		t.Errorf("network namespaces left after sockc-bench (%v):\n%s", err, out)
	}
	s, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s), "<svg") || !strings.Contains(string(s), "sockc proxy") {
		t.Errorf("plot is not an SVG naming the configurations (%d bytes)", len(s))
	}
	t.Logf("sockc-bench output:\n%s", out)
}
