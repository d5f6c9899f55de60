package bench

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	bulk64K = Workload{Kind: Bulk, Flows: 1, Size: 64 << 10}
	rr64    = Workload{Kind: PingPong, Size: 64}
)

func configsNamed(t *testing.T, names ...string) []Config {
	t.Helper()
	var cs []Config
	for _, n := range names {
		found := false
		for _, c := range Configs() {
			if c.Name == n {
				cs = append(cs, c)
				found = true
			}
		}
		if !found {
			t.Fatalf("no configuration %q in Configs()", n)
		}
	}
	return cs
}

// bulkResult is a Bulk result of g Gbit/s over one second that cost
// cpuPerGB CPU-seconds per GB.
func bulkResult(g, cpuPerGB float64) Result {
	bytes := g * 1e9 / 8
	return Result{Bytes: uint64(bytes), Seconds: 1, CPU: CPUUsage{User: cpuPerGB * bytes / 1e9}}
}

func rrResult(p50, p99, p999 time.Duration, stalls, ops int) Result {
	return Result{Bytes: 128 * uint64(ops), Seconds: 1, Ops: ops, P50: p50, P99: p99, P999: p999, Stalls: stalls}
}

const us = time.Microsecond

// testDataPlane is a three-round run with known figures; proxyGbits are
// the sockc proxy's bulk throughput in rounds 1 to 3.
func testDataPlane(t *testing.T, proxyGbits [3]float64) *DataPlane {
	t.Helper()
	d := &DataPlane{
		Rounds:    3,
		Duration:  2 * time.Second,
		Workloads: []Workload{bulk64K, rr64},
		Configs:   configsNamed(t, "direct", "go read/write", "sockc proxy", "sockc bypass"),
		Skipped:   map[string]string{"socat": "not installed; skipped", "haproxy": "does not run; skipped", "go io.Copy": "not wanted"},
		Peers: map[string]Peer{
			"socat":   {Program: "socat", Package: "socat", Status: "not installed; skipped"},
			"haproxy": {Program: "haproxy", Package: "haproxy", Version: "HAProxy version 2.6", Status: "present"},
		},
	}
	bulk := map[string][3]Result{
		"direct":        {bulkResult(12, 1), bulkResult(9, 1), bulkResult(10, 1)},
		"go read/write": {bulkResult(5, 2), bulkResult(4, 1.5), bulkResult(6, 2.5)},
		"sockc proxy":   {bulkResult(proxyGbits[0], 0.8), bulkResult(proxyGbits[1], 0.8), bulkResult(proxyGbits[2], 0.8)},
		"sockc bypass":  {bulkResult(31, 0.5), bulkResult(30, 0.5), bulkResult(29, 0.5)},
	}
	rr := map[string][3]Result{
		"direct":        {rrResult(22*us, 44*us, 110*us, 0, 1000), rrResult(18*us, 40*us, 100*us, 1, 1000), rrResult(20*us, 36*us, 90*us, 2, 1000)},
		"go read/write": {rrResult(50*us, 100*us, 300*us, 0, 1000), rrResult(50*us, 100*us, 300*us, 0, 1000), rrResult(50*us, 100*us, 300*us, 0, 1000)},
		"sockc proxy":   {rrResult(24*us, 70*us, 200*us, 0, 100000), rrResult(23*us, 71*us, 210*us, 1, 100000), rrResult(25*us, 69*us, 190*us, 2, 100000)},
		"sockc bypass":  {rrResult(15*us, 40*us, 80*us, 10, 100000), rrResult(14*us, 40*us, 81*us, 20, 100000), rrResult(16*us, 40*us, 82*us, 30, 100000)},
	}
	for round := 1; round <= 3; round++ {
		for _, w := range d.Workloads {
			for _, c := range d.Configs {
				r := bulk[c.Name][round-1]
				if w.Kind == PingPong {
					r = rr[c.Name][round-1]
				}
				d.Measurements = append(d.Measurements, Measurement{Config: c.Name, Workload: w, Round: round, Result: r})
			}
		}
	}
	return d
}

func testReport(d *DataPlane) *Report {
	return &Report{
		// 23:30 at UTC-5 is the next day in UTC.
		Date:    time.Date(2025, 3, 4, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)),
		Machine: Machine{CPU: "Test CPU @ 3GHz", Cores: 4, Memory: "8 GiB", Kernel: "6.12.0", Go: "go1.26.8"},
		Data:    d,
	}
}

func markdown(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteMarkdownTables(t *testing.T) {
	md := markdown(t, testReport(testDataPlane(t, [3]float64{10.5, 9, 9.5})))
	lines := strings.Split(md, "\n")
	for _, want := range []string{
		"Measured on 2025-03-05: Test CPU @ 3GHz, 4 cores, 8 GiB RAM; Linux 6.12.0; go1.26.8.",
		"3 rounds of 2s per measurement; in each round every workload ran under every configuration in turn. " +
			"Figures are the median over the rounds, with the range in brackets. Every byte was verified by its receiver.",
		"Peers: haproxy: HAProxy version 2.6 (present); socat: - (not installed; skipped).",
		"Skipped go io.Copy: not wanted.",
		"Skipped haproxy: does not run; skipped.",
		"Skipped socat: not installed; skipped.",
		// Bulk throughput: Gbit/s, median (min–max).
		"| configuration | bulk 1x64K |",
		"| direct | 10.0 (9.0–12.0) |",
		"| go read/write | 5.0 (4.0–6.0) |",
		"| sockc proxy | 9.5 (9.0–10.5) |",
		"| sockc bypass | 30.0 (29.0–31.0) |",
		// CPU per GB.
		"| direct | 1.00 (1.00–1.00) |",
		"| go read/write | 2.00 (1.50–2.50) |",
		"| sockc proxy | 0.80 (0.80–0.80) |",
		// Latency: p50, p99, p99.9 in µs, stalls in %.
		"| configuration | rr 64B p50 | rr 64B p99 | rr 64B p99.9 | rr 64B stalls % |",
		"| direct | 20.0 (18.0–22.0) | 40.0 (36.0–44.0) | 100 (90–110) | 0.100 (0.000–0.200) |",
		"| go read/write | 50.0 (50.0–50.0) | 100.0 (100.0–100.0) | 300 (300–300) | 0.000 (0.000–0.000) |",
		"| sockc proxy | 24.0 (23.0–25.0) | 70.0 (69.0–71.0) | 200 (190–210) | 0.001 (0.000–0.002) |",
		"| sockc bypass | 15.0 (14.0–16.0) | 40.0 (40.0–40.0) | 81 (80–82) | 0.020 (0.010–0.030) |",
		// Goals.
		"| proxy throughput, bulk 1x64K | >= 0.9x direct | 0.95x direct | met |",
		"| bypass p99 latency, rr 64B | <= 0.80x plain loopback | 1.00x direct | **missed** |",
	} {
		if !containsLine(lines, want) {
			t.Errorf("the report has no line\n%s\nReport:\n%s", want, md)
		}
	}
	// Sections in order, each once.
	last := -1
	for _, h := range []string{
		"### Bulk throughput (Gbit/s of verified bytes)",
		"### CPU per GB moved (CPU-seconds, whole machine)",
		"### Request/response latency (µs)",
		"### Goals",
	} {
		i := strings.Index(md, h)
		if i < 0 || strings.Count(md, h) != 1 {
			t.Errorf("section %q appears %d times", h, strings.Count(md, h))
			continue
		}
		if i < last {
			t.Errorf("section %q is out of order", h)
		}
		last = i
	}
	if strings.Contains(md, "Connection setup") || strings.Contains(md, "Compiler") {
		t.Error("the report has sections for results it does not have")
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestWriteMarkdownIsDeterministic(t *testing.T) {
	r := testReport(testDataPlane(t, [3]float64{10.5, 9, 9.5}))
	r.Compiler = &Compiler{Clang: "clang 19", Counts: []ProgramCount{{Source: "a.sock", Program: "p", Sockc: 10, Clang: 12}}}
	first := markdown(t, r)
	for range 5 {
		if again := markdown(t, r); again != first {
			t.Fatalf("two renders of the same report differ:\n%s\n----\n%s", first, again)
		}
	}
}

func findGoal(gs []Goal, name, target string) (Goal, bool) {
	for _, g := range gs {
		if g.Name == name && g.Target == target {
			return g, true
		}
	}
	return Goal{}, false
}

func TestGoals(t *testing.T) {
	gs := testReport(testDataPlane(t, [3]float64{10.5, 9, 9.5})).Goals()
	want := []Goal{
		{"proxy throughput, bulk 1x64K", ">= 0.9x direct", "0.95x direct", true},
		{"proxy throughput, bulk 1x64K", ">= 1.2x best user-space proxy", "1.90x (go read/write)", true},
		{"bypass throughput, bulk 1x64K", ">= 3x plain loopback", "3.00x direct", true},
		{"proxy CPU per GB, bulk 1x64K", "<= 0.5x user-space proxy", "0.40x (best: go read/write)", true},
		{"proxy p50 latency, rr 64B", "<= 0.5x best user-space proxy", "0.48x (go read/write)", true},
		{"bypass p50 latency, rr 64B", "<= 0.75x plain loopback", "0.75x direct", true},
		{"proxy p99 latency, rr 64B", "<= 0.6x best user-space proxy", "0.70x (go read/write)", false},
		{"bypass p99 latency, rr 64B", "<= 0.80x plain loopback", "1.00x direct", false},
		{"sockc proxy stall rate", "< 0.01% of requests slower than 10x the median", "0.0010% (3 of 300000; direct: 0.1000%)", true},
		{"sockc bypass stall rate", "< 0.01% of requests slower than 10x the median", "0.0200% (60 of 300000; direct: 0.1000%)", false},
	}
	if len(gs) != len(want) {
		t.Errorf("%d goals, want %d: %+v", len(gs), len(want), gs)
	}
	for i, w := range want {
		if i >= len(gs) {
			break
		}
		if gs[i] != w {
			t.Errorf("goal %d = %+v, want %+v", i, gs[i], w)
		}
	}
}

func TestGoalProxyThroughputThreshold(t *testing.T) {
	// direct's median is 10 Gbit/s; the goal is 0.9x, so 9 Gbit/s.
	tests := []struct {
		rounds   [3]float64
		measured string
		met      bool
	}{
		{[3]float64{20, 19, 21}, "2.00x direct", true},
		{[3]float64{10.5, 9, 9.5}, "0.95x direct", true},
		{[3]float64{10, 8.5, 9}, "0.90x direct", true}, // exactly at the threshold
		{[3]float64{9.9, 8.9, 8.91}, "0.89x direct", false},
		{[3]float64{9, 8, 8.5}, "0.85x direct", false},
		{[3]float64{1, 12, 0.5}, "0.10x direct", false}, // one good round does not help
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rounds), func(t *testing.T) {
			r := testReport(testDataPlane(t, tt.rounds))
			g, ok := findGoal(r.Goals(), "proxy throughput, bulk 1x64K", ">= 0.9x direct")
			if !ok {
				t.Fatal("no proxy throughput goal")
			}
			if g.Met != tt.met || g.Measured != tt.measured {
				t.Errorf("goal = %+v, want measured %q, met %v", g, tt.measured, tt.met)
			}
			mark := "met"
			if !tt.met {
				mark = "**missed**"
			}
			line := fmt.Sprintf("| proxy throughput, bulk 1x64K | >= 0.9x direct | %s | %s |", tt.measured, mark)
			if md := markdown(t, r); !containsLine(strings.Split(md, "\n"), line) {
				t.Errorf("the report has no line %q:\n%s", line, md)
			}
		})
	}
}

func TestGoalStallRate(t *testing.T) {
	tests := []struct {
		stalls   [3]int
		ops      int
		measured string
		met      bool
	}{
		{[3]int{0, 0, 0}, 1000, "0.0000% (0 of 3000; direct: 0.1000%)", true},
		{[3]int{0, 1, 0}, 100000, "0.0003% (1 of 300000; direct: 0.1000%)", true},
		{[3]int{10, 9, 10}, 100000, "0.0097% (29 of 300000; direct: 0.1000%)", true},
		{[3]int{10, 10, 10}, 100000, "0.0100% (30 of 300000; direct: 0.1000%)", false}, // the goal is < 0.01%
		{[3]int{1, 0, 0}, 1000, "0.0333% (1 of 3000; direct: 0.1000%)", false},
	}
	for _, tt := range tests {
		t.Run(tt.measured, func(t *testing.T) {
			d := testDataPlane(t, [3]float64{10.5, 9, 9.5})
			for i := range d.Measurements {
				m := &d.Measurements[i]
				if m.Config == proxy && m.Workload == rr64 {
					m.Result.Stalls, m.Result.Ops = tt.stalls[m.Round-1], tt.ops
				}
			}
			g, ok := findGoal(testReport(d).Goals(), "sockc proxy stall rate", "< 0.01% of requests slower than 10x the median")
			if !ok {
				t.Fatal("no stall rate goal")
			}
			if g.Met != tt.met || g.Measured != tt.measured {
				t.Errorf("goal = %+v, want measured %q, met %v", g, tt.measured, tt.met)
			}
		})
	}
}

func TestGoalsLeaveOutWhatDidNotRun(t *testing.T) {
	d := testDataPlane(t, [3]float64{10.5, 9, 9.5})
	d.Configs = configsNamed(t, "direct", "sockc proxy") // no user proxy, no bypass
	for _, g := range testReport(d).Goals() {
		if strings.Contains(g.Name, "bypass") || strings.Contains(g.Target, "user-space") {
			t.Errorf("goal %+v for a configuration that did not run", g)
		}
	}
	if _, ok := findGoal(testReport(d).Goals(), "proxy throughput, bulk 1x64K", ">= 0.9x direct"); !ok {
		t.Error("no proxy throughput goal although direct and the proxy ran")
	}
	if gs := (&Report{}).Goals(); len(gs) != 0 {
		t.Errorf("an empty report has goals: %+v", gs)
	}
}

func TestCompilerGoal(t *testing.T) {
	tests := []struct {
		counts   []ProgramCount
		measured string
		met      bool
		none     bool
	}{
		{
			counts: []ProgramCount{
				{Source: "a.sock", Program: "p1", Sockc: 10, Clang: 12},
				{Source: "b.sock", Program: "p2", Sockc: 15, Clang: 14},
				{Source: "c.sock", Program: "p3", Sockc: 100}, // no clang: not counted
			},
			measured: "worst: +1 (b.sock p2)",
		},
		{
			counts: []ProgramCount{
				{Source: "a.sock", Program: "p1", Sockc: 10, Clang: 12},
				{Source: "b.sock", Program: "p2", Sockc: 14, Clang: 14},
			},
			measured: "worst: +0 (b.sock p2)", met: true,
		},
		{counts: []ProgramCount{{Source: "c.sock", Program: "p3", Sockc: 100}}, none: true},
	}
	for _, tt := range tests {
		gs := (&Report{Compiler: &Compiler{Counts: tt.counts}}).Goals()
		g, ok := findGoal(gs, "compiler: instructions", "never more than clang -O2")
		if ok == tt.none {
			t.Errorf("counts %+v: goal present = %v", tt.counts, ok)
			continue
		}
		if ok && (g.Measured != tt.measured || g.Met != tt.met) {
			t.Errorf("counts %+v: goal = %+v, want measured %q, met %v", tt.counts, g, tt.measured, tt.met)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	d := testDataPlane(t, [3]float64{10.5, 9, 9.5})
	render := func() []byte {
		var b bytes.Buffer
		if err := d.WriteSVG(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := render(), render()
	if !bytes.HasPrefix(a, []byte("<?xml")) && !bytes.Contains(a, []byte("<svg")) {
		t.Errorf("WriteSVG output is not SVG: %.200q", a)
	}
	if !bytes.Contains(a, []byte("</svg>")) {
		t.Error("WriteSVG output is cut short")
	}
	if !bytes.Equal(a, b) {
		t.Error("two renders of the same data plane differ")
	}
	for _, name := range []string{"sockc proxy", "go read/write", "bulk 1x64K", "rr 64B p50"} {
		if !bytes.Contains(a, []byte(name)) {
			t.Errorf("the image does not name %q", name)
		}
	}
}

func TestWriteSVGNothingToPlot(t *testing.T) {
	d := &DataPlane{
		Workloads: []Workload{{Kind: Connect}},
		Configs:   configsNamed(t, "direct"),
		Measurements: []Measurement{
			{Config: "direct", Workload: Workload{Kind: Connect}, Round: 1, Result: rrResult(us, us, us, 0, 10)},
		},
	}
	var b bytes.Buffer
	if err := d.WriteSVG(&b); err == nil {
		t.Error("WriteSVG with neither bulk nor request/response results succeeded")
	}
}
