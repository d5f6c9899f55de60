package bench

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/netns"
)

// sample is output captured from the tools (iperf3 3.12, sockperf 3.7)
// on loopback, in testdata/tools.
func sample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tools", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseIperf3(t *testing.T) {
	oneFlow := sample(t, "iperf3-1-flow.json")
	for _, tt := range []struct {
		name, report string
		gbits        float64
		sent         int64
		err          string
	}{
		{"one flow", oneFlow, 20.936608, 2617507840, ""},
		{"four flows", sample(t, "iperf3-4-flows.json"), 24.055851, 3023831040, ""},
		{"refused", sample(t, "iperf3-refused.json"), 0, 0, "iperf3: unable to connect to server: Connection refused"},
		{"cut short", oneFlow[:200], 0, 0, "iperf3 -J: unexpected end of JSON input"},
		{"nothing received", `{"start": {}, "end": {}}`, 0, 0, "iperf3: the report has no received throughput"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, sent, err := parseIperf3([]byte(tt.report))
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("parseIperf3 = %v, %v; want error %q", g, err, tt.err)
				}
				return
			}
			if err != nil || math.Abs(g-tt.gbits) > 1e-6 || sent != tt.sent {
				t.Fatalf("parseIperf3 = %v, %v, %v; want %v, %v", g, sent, err, tt.gbits, tt.sent)
			}
		})
	}
}

func TestParseSockperf(t *testing.T) {
	p50, p99, p999, err := parseSockperf([]byte(sample(t, "sockperf-pp.txt")))
	if err != nil || p50 != 16.401 || p99 != 32.391 || p999 != 53.736 {
		t.Errorf("parseSockperf = %v, %v, %v, %v; want 16.401, 32.391, 53.736", p50, p99, p999, err)
	}
	_, _, _, err = parseSockperf([]byte(sample(t, "sockperf-refused.txt")))
	if err == nil || !strings.Contains(err.Error(), "no percentile 50.000") || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("parseSockperf of a failed run: %v; want no percentile, with the last line", err)
	} else if got, want := oneLine(err.Error()), "sockperf: no percentile 50.000 in its output: sockperf: ERROR: Can't connect socket (errno=111 Connection refused)"; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}

func TestBypassScriptQuoting(t *testing.T) {
	if got := netns.Quote("iperf3", "-c", "it's here"); got != `'iperf3' '-c' 'it'\''s here'` {
		t.Errorf("netns.Quote = %s", got)
	}
}

// testTools is two rounds of every test under five configurations, with a
// proxy failing iperf3's four flows and the bypass falling back once per
// sockperf test. 16 KiB messages take twice as long as 64 B ones.
func testTools(t *testing.T) *Tools {
	t.Helper()
	tt := &Tools{
		Rounds: 2, Seconds: 2,
		Configs: configsNamed(t, "direct", "go io.Copy", "haproxy", "sockc proxy", "sockc bypass"),
		Skipped: map[string]string{"socat": "not installed; skipped"},
		Peers: map[string]Peer{
			"iperf3":   {Program: "iperf3", Version: "iperf 3.12 (cJSON 1.7.15)", Status: "present"},
			"sockperf": {Program: "sockperf", Version: "sockperf, version 3.7-no.git", Status: "installed now"},
		},
	}
	gbits := map[string][2]float64{
		"direct": {20, 22}, "go io.Copy": {10, 12}, "haproxy": {7, 7}, "sockc proxy": {12, 14}, "sockc bypass": {40, 44},
	}
	lat := map[string][2]float64{ // p50 of 64 B; p99 is 3x, p99.9 10x
		"direct": {10, 12}, "go io.Copy": {30, 30}, "haproxy": {25, 27}, "sockc proxy": {20, 20}, "sockc bypass": {6, 8},
	}
	for round := 1; round <= 2; round++ {
		for _, test := range ToolTests() {
			for _, c := range tt.Configs {
				m := ToolMeasurement{Config: c.Name, Test: test.Name, Round: round, Segments: -1}
				if c.Name == "sockc bypass" {
					m.Segments = 20 + round
				}
				switch {
				case test.Name == "4 flows" && c.Name == "haproxy":
					m.Err = "iperf3: control socket has closed unexpectedly"
				case test.Tool == "iperf3":
					m.Gbits = gbits[c.Name][round-1]
				default:
					v := lat[c.Name][round-1]
					if test.Name == "ping-pong 16 KiB" {
						v *= 2
					}
					m.P50, m.P99, m.P999 = v, 3*v, 10*v
					if c.Name == "sockc bypass" && round == 2 {
						m.Segments, m.FellBack = 61234, true
					}
				}
				tt.Measurements = append(tt.Measurements, m)
			}
		}
	}
	return tt
}

// withVeth adds to tt the same tests over veth, at half the throughput
// and twice the latency, without the bypass, the sockc proxy's iperf3
// runs counting 30 frames and 40 KiB per skb in round 1 and 32 and 44 in
// round 2.
func withVeth(t *testing.T, tt *Tools) *Tools {
	t.Helper()
	tt.Veth = &VethTopology{Line: netns.NewLine("sb-1"), MTU: 1500,
		Features: map[string]string{"generic-receive-offload": "on", "tcp-segmentation-offload": "off"}}
	tt.Peers["ethtool"] = Peer{Program: "ethtool", Version: "ethtool version 6.1", Status: "present"}
	for _, m := range slices.Clone(tt.Measurements) {
		if m.Config == "sockc bypass" {
			continue
		}
		m.Path = Veth
		m.Gbits /= 2
		m.P50, m.P99, m.P999 = 2*m.P50, 2*m.P99, 2*m.P999
		if m.Config == "sockc proxy" && m.Gbits > 0 {
			m.Skbs = 1000
			m.Frames = int64(28+2*m.Round) * 1000
			m.Sent = int64(36+4*m.Round) * 1024 * 1000
		}
		tt.Measurements = append(tt.Measurements, m)
	}
	return tt
}

func TestToolsMarkdown(t *testing.T) {
	r := testReport(testDataPlane(t, [3]float64{10.5, 9, 9.5}))
	r.Tools = testTools(t)
	md := markdown(t, r)
	lines := strings.Split(md, "\n")
	for _, want := range []string{
		"### Unmodified iperf3 and sockperf",
		"Tools: iperf3: iperf 3.12 (cJSON 1.7.15) (present); sockperf: sockperf, version 3.7-no.git (installed now).",
		"Skipped socat: not installed; skipped.",
		"#### iperf3 throughput (Gbit/s, as its receiver counted)",
		"| configuration | iperf3 1 flow | iperf3 4 flows | iperf3 16 flows |",
		"| direct | 21.0 (20.0–22.0) | 21.0 (20.0–22.0) | 21.0 (20.0–22.0) |",
		"| haproxy | 7.0 (7.0–7.0) | **failed** | 7.0 (7.0–7.0) |",
		"| sockc bypass | 42.0 (40.0–44.0) | 42.0 (40.0–44.0) | 42.0 (40.0–44.0) |",
		"#### sockperf ping-pong latency, 64 B (µs, half the round trip, as sockperf reports it)",
		"#### sockperf ping-pong latency, 16 KiB (µs, half the round trip, as sockperf reports it)",
		"| configuration | p50 | p99 | p99.9 |",
		"| go io.Copy | 30.0 (30.0–30.0) | 90.0 (90.0–90.0) | 300 (300–300) |",
		"| go io.Copy | 60.0 (60.0–60.0) | 180.0 (180.0–180.0) | 600 (600–600) |",
		"| sockc bypass | 7.0 (6.0–8.0), **1 of 2 fell back to TCP** | 21.0 (18.0–24.0), **1 of 2 fell back to TCP** | 70 (60–80), **1 of 2 fell back to TCP** |",
		"| ratio | iperf3 1 flow | iperf3 4 flows | iperf3 16 flows | sockperf 64 B p50 | sockperf 64 B p99 | sockperf 64 B p99.9 | sockperf 16 KiB p50 | sockperf 16 KiB p99 | sockperf 16 KiB p99.9 |",
		"| sockc proxy ÷ direct | 0.62x | 0.62x | 0.62x | 1.82x | 1.82x | 1.82x | 1.82x | 1.82x | 1.82x |",
		// haproxy failed 4 flows: the best user-space proxy there is io.Copy.
		"| sockc proxy ÷ best user-space proxy | 1.18x (go io.Copy) | 1.18x (go io.Copy) | 1.18x (go io.Copy) | 0.77x (haproxy) | 0.77x (haproxy) | 0.77x (haproxy) | 0.77x (haproxy) | 0.77x (haproxy) | 0.77x (haproxy) |",
		"| sockc bypass ÷ direct | 2.00x | 2.00x | 2.00x | 0.64x | 0.64x | 0.64x | 0.64x | 0.64x | 0.64x |",
		"- sockc bypass **fell back to TCP** in 2 of 10 measurements: its network namespace sent 21–61234 TCP segments per measurement (at most 500 allowed), or sockc said its redirects found no socket; those figures are TCP's, not the bypass's.",
		"- haproxy, iperf3 4 flows, round 1, 2: failed: iperf3: control socket has closed unexpectedly.",
	} {
		if !containsLine(lines, want) {
			t.Errorf("the report has no line\n%s\nReport:\n%s", want, md)
		}
	}
	// The tools come after the data plane's tables and before the goals.
	if i, j := strings.Index(md, "### Request/response latency"), strings.Index(md, "### Unmodified iperf3"); i < 0 || j < i {
		t.Error("the tools section is not after the data plane's")
	}
	if i, j := strings.Index(md, "### Unmodified iperf3"), strings.Index(md, "### Goals"); j < i {
		t.Error("the tools section is not before the goals")
	}
	if strings.Contains(md, "veth") {
		t.Errorf("the report has a veth part, with no veth measurements:\n%s", md)
	}
}

func TestToolsMarkdownVeth(t *testing.T) {
	md := markdown(t, &Report{Tools: withVeth(t, testTools(t))})
	lines := strings.Split(md, "\n")
	for _, want := range []string{
		"Tools: ethtool: ethtool version 6.1 (present); iperf3: iperf 3.12 (cJSON 1.7.15) (present); sockperf: sockperf, version 3.7-no.git (installed now).",
		"### Unmodified iperf3 and sockperf between hosts: three network namespaces joined by veth",
		"#### iperf3 throughput over veth (Gbit/s, as its receiver counted)",
		"| direct | 10.5 (10.0–11.0) | 10.5 (10.0–11.0) | 10.5 (10.0–11.0) |",
		"#### sockperf ping-pong latency over veth, 64 B (µs, half the round trip, as sockperf reports it)",
		"#### sockperf ping-pong latency over veth, 16 KiB (µs, half the round trip, as sockperf reports it)",
		"| go io.Copy | 120.0 (120.0–120.0) | 360.0 (360.0–360.0) | 1200 (1200–1200) |",
		"#### sockc against the others in this run over veth (ratio of medians; above 1 is faster for throughput, below 1 is faster for latency)",
		"| sockc proxy ÷ direct | 0.62x | 0.62x | 0.62x | 1.82x | 1.82x | 1.82x | 1.82x | 1.82x | 1.82x |",
		"GRO coalesced the client's frames (at most 1500 bytes each) before the sockc proxy's verdict program saw them: " +
			"iperf3 1 flow 31.0 frames and 42.0 KiB per skb, iperf3 4 flows 31.0 frames and 42.0 KiB per skb, iperf3 16 flows 31.0 frames and 42.0 KiB per skb " +
			"(median over the rounds of the frames the proxy's veth device received, `ip -s link`, and of the bytes iperf3 sent, per run of the program, its `count proxied` in `sockc run --stats`).",
	} {
		if !containsLine(lines, want) {
			t.Errorf("the report has no line\n%s\nReport:\n%s", want, md)
		}
	}
	for _, want := range []string{"MTU 1500", "generic-receive-offload: on, tcp-segmentation-offload: off", "10.77.1.1"} {
		if !strings.Contains(md, want) {
			t.Errorf("the veth part does not say %q:\n%s", want, md)
		}
	}
	// The veth part comes after the loopback one, whose tables it does
	// not change, and has no bypass.
	lo, veth, _ := strings.Cut(md, "### Unmodified iperf3 and sockperf between hosts")
	if veth == "" || !strings.Contains(lo, "| sockc bypass | 42.0 (40.0–44.0) |") || !strings.Contains(lo, "| direct | 21.0 (20.0–22.0) |") {
		t.Errorf("the loopback tables are not before the veth ones, unchanged:\n%s", md)
	}
	if strings.Contains(veth, "sockc bypass") {
		t.Errorf("the veth part has the bypass:\n%s", veth)
	}
}

func TestToolsMarkdownEngaged(t *testing.T) {
	tt := testTools(t)
	for i := range tt.Measurements {
		if m := &tt.Measurements[i]; m.FellBack {
			m.Segments, m.FellBack = 30, false
		}
	}
	tt.Skipped["sockperf"] = "not installed; skipped (apt-get install sockperf: failed)"
	var kept []ToolMeasurement
	for _, m := range tt.Measurements {
		if !strings.HasPrefix(m.Test, "ping-pong ") {
			kept = append(kept, m)
		}
	}
	tt.Measurements = kept
	md := markdown(t, &Report{Tools: tt})
	lines := strings.Split(md, "\n")
	for _, want := range []string{
		"Skipped sockperf: not installed; skipped (apt-get install sockperf: failed).",
		"| ratio | iperf3 1 flow | iperf3 4 flows | iperf3 16 flows |",
		"- sockc bypass engaged in all 6 measurements: its network namespace sent 21–22 TCP segments per measurement, connection setup and teardown (at most 500 allowed; through TCP a measurement is tens of thousands).",
	} {
		if !containsLine(lines, want) {
			t.Errorf("the report has no line\n%s\nReport:\n%s", want, md)
		}
	}
	if strings.Contains(md, "sockperf ping-pong") || strings.Contains(md, "fell back") {
		t.Errorf("the report has a sockperf table or a fallback:\n%s", md)
	}
}

// TestToolInsideCountsSegments runs iperf3 inside a configuration that
// wraps its command as the bypass does but bypasses nothing: the segments
// its namespace sends must mark it as fallen back to TCP.
func TestToolInsideCountsSegments(t *testing.T) {
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root (unshare --net) and a second of iperf3")
	}
	for _, p := range []string{"iperf3", "unshare", "ss", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("no %s", p)
		}
	}
	o := &Options{Env: Env{TempDir: t.TempDir()}}
	c := Config{Name: "no bypass", Role: SockcBypass, wrap: func(_ *Env, argv []string) []string { return argv }}
	m := o.measureTool(context.Background(), c, ToolTests()[0], 1, onLoopback)
	if m.Err != "" || m.Gbits <= 0 {
		t.Fatalf("iperf3 inside: %+v", m)
	}
	if !m.FellBack || m.Segments <= maxBypassSegments {
		t.Errorf("%d TCP segments, fell back %v: want more than %d, fell back", m.Segments, m.FellBack, maxBypassSegments)
	}
	t.Logf("%.1f Gbit/s, %d TCP segments", m.Gbits, m.Segments)
}

// TestToolGoals: issue 14's goals for the proxy under iperf3 and
// sockperf, from testTools' medians: iperf3 1 flow 13 Gbit/s against 11
// (go io.Copy; haproxy 7) and 21 direct; 4 flows (haproxy failed) and
// 16 flows the same; sockperf 64 B p99 60 µs against haproxy's 78, p99.9
// 200 against 260. Veth measurements do not count.
func TestToolGoals(t *testing.T) {
	gs := withVeth(t, testTools(t)).goals()
	want := []Goal{
		{"proxy throughput, iperf3 1 flow", ">= 1.2x best user-space proxy", "1.18x (go io.Copy)", false},
		{"proxy throughput, iperf3 1 flow", ">= 0.75x direct", "0.62x direct", false},
		{"proxy throughput, iperf3 4 flows", ">= 1.0x best user-space proxy", "1.18x (go io.Copy)", true},
		{"proxy throughput, iperf3 16 flows", ">= 1.0x best user-space proxy", "1.18x (go io.Copy)", true},
		{"proxy p99 latency, sockperf 64 B", "<= 1.0x best user-space proxy", "0.77x (haproxy)", true},
		{"proxy p99.9 latency, sockperf 64 B", "<= 1.0x best user-space proxy", "0.77x (haproxy)", true},
	}
	if !slices.Equal(gs, want) {
		t.Errorf("goals:\n%+v\nwant:\n%+v", gs, want)
	}
	if gs := (&Tools{}).goals(); len(gs) != 0 {
		t.Errorf("tools that did not run have goals: %+v", gs)
	}
}
