package bench

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is everything one `make bench` run found.
type Report struct {
	Date     time.Time
	Machine  Machine
	Data     *DataPlane // nil if the data plane was not measured
	Tools    *Tools     // nil if iperf3 and sockperf were not run
	Compiler *Compiler  // nil if the compiler was not measured
}

// Machine describes where a run happened.
type Machine struct {
	CPU    string
	Cores  int
	Memory string
	Kernel string
	Go     string
}

// ThisMachine reads the machine's description from /proc.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.Memory = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// spread summarises one figure of one configuration and workload over the
// rounds.
func (d *DataPlane) spread(config string, w Workload, f func(Result) float64) Spread {
	var vs []float64
	for _, m := range d.Measurements {
		if m.Config == config && m.Workload == w {
			vs = append(vs, f(m.Result))
		}
	}
	return SpreadOf(vs)
}

func (d *DataPlane) has(w Workload) bool { return slices.Contains(d.Workloads, w) }

func (d *DataPlane) workloads(k Kind) []Workload {
	var ws []Workload
	for _, w := range d.Workloads {
		if w.Kind == k {
			ws = append(ws, w)
		}
	}
	return ws
}

func gbits(r Result) float64         { return r.Throughput() * 8 / 1e9 }
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// WriteMarkdown writes the report's tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Measured on %s: %s, %d cores, %s RAM; Linux %s; %s.\n",
		r.Date.UTC().Format("2006-01-02"), cmp.Or(m.CPU, "unknown CPU"), m.Cores, cmp.Or(m.Memory, "unknown"), m.Kernel, m.Go)
	if d := r.Data; d != nil {
		d.writeMarkdown(&b)
	}
	if t := r.Tools; t != nil {
		t.writeMarkdown(&b)
	}
	if c := r.Compiler; c != nil {
		c.writeMarkdown(&b)
	}
	if gs := r.Goals(); len(gs) > 0 {
		b.WriteString("\n### Goals\n\n| goal | target | measured | |\n|---|---|---|---|\n")
		for _, g := range gs {
			mark := "met"
			if !g.Met {
				mark = "**missed**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.Name, g.Target, g.Measured, mark)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (d *DataPlane) writeMarkdown(b *strings.Builder) {
	rounds := fmt.Sprintf("%d rounds", d.Rounds)
	if d.Rounds == 1 {
		rounds = "1 round"
	}
	fmt.Fprintf(b, "%s of %v per measurement; in each round every workload ran under every configuration in turn. "+
		"Figures are the median over the rounds, with the range in brackets. Every byte was verified by its receiver.\n\n", rounds, d.Duration)
	writePeers(b, "Peers", d.Peers, d.Skipped)

	if ws := d.workloads(Bulk); len(ws) > 0 {
		b.WriteString("\n### Bulk throughput (Gbit/s of verified bytes)\n\n")
		d.table(b, ws, []column{{"", func(r Result) float64 { return gbits(r) }, "%.1f"}})
		b.WriteString("\n### CPU per GB moved (CPU-seconds, whole machine)\n\n")
		d.table(b, ws, []column{{"", Result.CPUPerGB, "%.2f"}})
	}
	if ws := d.workloads(PingPong); len(ws) > 0 {
		b.WriteString("\n### Request/response latency (µs)\n\n")
		d.table(b, ws, []column{
			{"p50", func(r Result) float64 { return micros(r.P50) }, "%.1f"},
			{"p99", func(r Result) float64 { return micros(r.P99) }, "%.1f"},
			{"p99.9", func(r Result) float64 { return micros(r.P999) }, "%.0f"},
			{"stalls %", func(r Result) float64 { return 100 * r.StallRate() }, "%.3f"},
		})
	}
	if ws := d.workloads(Connect); len(ws) > 0 {
		b.WriteString("\n### Connection setup (connect, one 64-byte exchange, close)\n\n")
		d.table(b, ws, []column{
			{"conn/s", Result.Rate, "%.0f"},
			{"p50 µs", func(r Result) float64 { return micros(r.P50) }, "%.0f"},
			{"p99 µs", func(r Result) float64 { return micros(r.P99) }, "%.0f"},
			{"CPU µs/conn", func(r Result) float64 { return micros(r.CPUPerOp()) }, "%.0f"},
		})
	}
}

type column struct {
	name   string
	value  func(Result) float64
	format string
}

// table writes one row per configuration and one column per workload and
// figure: "median (min–max)".
func (d *DataPlane) table(b *strings.Builder, ws []Workload, cols []column) {
	b.WriteString("| configuration |")
	sep := "|---|"
	for _, w := range ws {
		for _, c := range cols {
			fmt.Fprintf(b, " %s |", strings.TrimSpace(w.Name()+" "+c.name))
			sep += "---:|"
		}
	}
	b.WriteString("\n" + sep + "\n")
	for _, cfg := range d.Configs {
		fmt.Fprintf(b, "| %s |", cfg.Name)
		for _, w := range ws {
			for _, c := range cols {
				s := d.spread(cfg.Name, w, c.value)
				fmt.Fprintf(b, " %s (%s–%s) |", fmt.Sprintf(c.format, s.Median), fmt.Sprintf(c.format, s.Min), fmt.Sprintf(c.format, s.Max))
			}
		}
		b.WriteString("\n")
	}
}

func (c *Compiler) writeMarkdown(b *strings.Builder) {
	fmt.Fprintf(b, "\n### Compiler: instructions against clang -O2\n\nclang: %s. Instructions are 64-bit slots, as the kernel counts them; "+
		"\"verified\" is the verifier's count of instructions it processed.\n\n", c.Clang)
	b.WriteString("| source | program | sockc | clang -O2 | verified sockc | verified clang |\n|---|---|---:|---:|---:|---:|\n")
	for _, p := range c.Counts {
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s |\n", p.Source, p.Program, p.Sockc, orNA(p.Clang), orNA(p.SockcVerified), orNA(p.ClangVerified))
	}
	b.WriteString("\n### Compiler: time\n\n| source | compile (in process) | compile + ELF object | `sockc compile` process | `sockc run` to ready |\n|---|---:|---:|---:|---:|\n")
	for _, t := range c.Timings {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", t.Source, dur(t.InProcess), dur(t.Object), dur(t.Process), dur(t.Ready))
	}
}

func orNA(n int) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprint(n)
}

func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "n/a"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", micros(d))
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

// sortedMap iterates over a map's entries in key order.
func sortedMap(m map[string]string) func(func(string, string) bool) {
	return func(yield func(string, string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

// ratio is a/b, or NaN when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// writePeers writes the line naming the programs a part of the run used,
// with their versions and whether they were found or installed, and one
// line per configuration skipped, with why.
func writePeers(b *strings.Builder, label string, peers map[string]Peer, skipped map[string]string) {
	names := make([]string, 0, len(peers))
	for _, p := range peers {
		names = append(names, fmt.Sprintf("%s: %s (%s)", p.Program, cmp.Or(p.Version, "-"), p.Status))
	}
	slices.Sort(names)
	if len(names) > 0 {
		fmt.Fprintf(b, "%s: %s.\n", label, strings.Join(names, "; "))
	}
	for name, why := range sortedMap(skipped) {
		fmt.Fprintf(b, "Skipped %s: %s.\n", name, why)
	}
}
