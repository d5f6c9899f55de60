package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockc/sockc/internal/netns"
)

// The tools section measures the configurations with programs people
// benchmark with, unmodified and at their defaults: iperf3 (its server
// listens dual-stack, as most servers do) and sockperf. Nothing verifies
// their bytes; the load generator does that. For each measurement the
// harness starts the tool's server, the configuration's peer if it has
// one, and the client, and stops them all after: a tool that fails
// through a proxy fails one measurement, which the tables show.

// ToolTest is one client command line of a tool.
type ToolTest struct {
	Name string   // as in the tables
	Tool string   // iperf3 or sockperf
	Args []string // the client's arguments besides address, port and time
}

// ToolTests are the tools section's tests, in the order of the tables.
var ToolTests = []ToolTest{
	{"1 flow", "iperf3", nil},
	{"4 flows", "iperf3", []string{"-P", "4"}},
	{"ping-pong 64 B", "sockperf", []string{"-m", "64"}},
}

// Tools is the outcome of the tools section.
type Tools struct {
	Rounds       int
	Seconds      int // of each client run
	Configs      []Config
	Skipped      map[string]string // configurations and tools not run, and why
	Peers        map[string]Peer   // iperf3 and sockperf
	Measurements []ToolMeasurement
}

// ToolMeasurement is one client run.
type ToolMeasurement struct {
	Config string
	Test   string
	Round  int
	// Gbits is iperf3's throughput, as its receiver counted it.
	Gbits float64
	// P50, P99 and P999 are sockperf's latency percentiles in µs: half
	// the round trip, as sockperf reports it.
	P50, P99, P999 float64
	// Segments is the TCP segments sent in the network namespace of a
	// configuration that runs both ends inside sockc (the bypass); -1 for
	// the others.
	Segments int
	// FellBack says the bypass did not engage: TCP carried the data, or
	// sockc said its redirects found no socket.
	FellBack bool
	// Err is why the measurement failed; its figures are zero then.
	Err string
}

// maxBypassSegments is the most TCP segments a measurement under the
// bypass may send and still count as bypassed: connection setup and
// teardown are a handful each, while through TCP a second of iperf3 or
// sockperf is tens of thousands.
const maxBypassSegments = 500

// RunTools measures o's configurations with ToolTests: o.Rounds rounds,
// each test under each configuration in turn, every client run for
// o.Duration (whole seconds, at least one). o.Workloads is not used.
func RunTools(ctx context.Context, o Options) (*Tools, error) {
	secs := max(1, int(o.Duration.Round(time.Second)/time.Second))
	if o.Rounds < 1 {
		return nil, errors.New("tools: need at least one round")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	tmp, err := os.MkdirTemp("", "sockc-bench-tools-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	o.TempDir = tmp
	selected, err := o.selectConfigs()
	if err != nil {
		return nil, err
	}
	var tools []Config
	for _, t := range ToolTests {
		if !slices.ContainsFunc(tools, func(c Config) bool { return c.Needs == t.Tool }) {
			tools = append(tools, Config{Needs: t.Tool})
		}
	}
	peers := FindPeers(append(slices.Clone(selected), tools...), o.Install, o.Log)
	t := &Tools{Rounds: o.Rounds, Seconds: secs, Skipped: map[string]string{}, Peers: map[string]Peer{}}
	for _, c := range tools {
		t.Peers[c.Needs] = peers[c.Needs]
		if !peers[c.Needs].Available() {
			t.Skipped[c.Needs] = peers[c.Needs].Status
		}
	}
	t.Configs = runnable(selected, peers, t.Skipped, o.Log)
	for round := 1; round <= o.Rounds; round++ {
		for _, test := range ToolTests {
			if !peers[test.Tool].Available() {
				continue
			}
			for _, c := range t.Configs {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				m := o.measureTool(ctx, c, test, secs)
				m.Round = round
				t.Measurements = append(t.Measurements, m)
				fmt.Fprintf(o.Log, "round %d  %-8s %-14s  %-14s  %s\n", round, test.Tool, test.Name, c.Name, m.summary())
			}
		}
	}
	return t, nil
}

func (m ToolMeasurement) summary() string {
	s := fmt.Sprintf("%.2f Gbit/s", m.Gbits)
	if m.P50 > 0 {
		s = fmt.Sprintf("p50 %.1f µs  p99 %.1f µs  p99.9 %.1f µs", m.P50, m.P99, m.P999)
	}
	if m.Err != "" {
		s = "failed: " + m.Err
	}
	if m.Segments >= 0 {
		s += fmt.Sprintf("  (%d TCP segments)", m.Segments)
	}
	if m.FellBack {
		s += "  FELL BACK TO TCP"
	}
	return s
}

// measureTool runs one test under one configuration: the server, the
// configuration's peer and the client, or, for a configuration that wraps
// its command (the bypass), server and client together inside it, in a
// network namespace of their own whose TCP segments it counts.
func (o *Options) measureTool(ctx context.Context, c Config, test ToolTest, secs int) ToolMeasurement {
	m := ToolMeasurement{Config: c.Name, Test: test.Name, Segments: -1}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+time.Minute)
	defer cancel()
	port, err := freePort()
	var out []byte
	if err == nil && c.wrap != nil {
		out, err = o.toolInside(ctx, c, test, port, secs, &m)
	} else if err == nil {
		out, err = o.toolThrough(ctx, c, test, port, secs)
	}
	if err == nil {
		err = parseTool(test, out, &m)
	}
	if err != nil {
		m.Err = oneLine(err.Error())
	}
	return m
}

func (o *Options) toolThrough(ctx context.Context, c Config, test ToolTest, port, secs int) ([]byte, error) {
	server, err := startToolServer(ctx, test.Tool, port)
	if err != nil {
		return nil, err
	}
	defer server.stop() // iperf3 exits 1 on SIGTERM: its status says nothing
	env := o.Env
	env.Upstream = fmt.Sprintf("127.0.0.1:%d", port)
	addr := env.Upstream
	var peer *process
	if c.start != nil {
		if addr, peer, err = c.start(ctx, &env); err != nil {
			return nil, err
		}
		defer peer.stop()
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, _ = strconv.Atoi(p)
	var stdout, stderr bytes.Buffer
	argv := toolClient(test, host, port, secs)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err == nil && peer != nil {
		err = peer.alive()
	}
	if err != nil {
		// iperf3 -J puts its error in the report; parseTool finds it.
		if test.Tool == "iperf3" && bytes.Contains(stdout.Bytes(), []byte(`"error"`)) {
			return stdout.Bytes(), nil
		}
		return nil, fmt.Errorf("%s: %v: %s", test.Tool, err, lastLine(append(stdout.Bytes(), stderr.Bytes()...)))
	}
	if test.Tool == "iperf3" {
		return stdout.Bytes(), nil
	}
	return append(stdout.Bytes(), stderr.Bytes()...), nil
}

// toolInside runs server and client in one shell inside the
// configuration's command (sockc run bypass.sock -- sh -c ...), in a
// network namespace of its own, and counts its TCP segments from the
// namespace's /proc/net/snmp before and after.
func (o *Options) toolInside(ctx context.Context, c Config, test ToolTest, port, secs int, m *ToolMeasurement) ([]byte, error) {
	report := filepath.Join(o.TempDir, "client.out")
	os.Remove(report)
	stderrToo := " 2>&1" // sockperf's summary; iperf3's JSON report is its stdout alone
	if test.Tool == "iperf3" {
		stderrToo = ""
	}
	script := fmt.Sprintf(`%s >/dev/null 2>&1 & `+
		`for i in $(seq 1500); do ss -Hltn "sport = :%d" | grep -q . && break; sleep 0.01; done; `+
		`%s >%s%s; st=$?; kill $!; wait; exit $st`,
		netns.Quote(toolServer(test.Tool, port)...), port, netns.Quote(toolClient(test, "127.0.0.1", port, secs)...), netns.Quote(report), stderrToo)
	argv := netns.Command(c.wrap(&o.Env, []string{"sh", "-c", script})...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// On a timeout, SIGTERM to the whole group lets sockc tear down.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	client, _ := os.ReadFile(report)
	if segs, serr := netns.TCPSegments(out); serr == nil {
		m.Segments = segs
		m.FellBack = segs > maxBypassSegments
	}
	m.FellBack = m.FellBack || bytes.Contains(out, []byte("found no socket"))
	if err != nil && !(test.Tool == "iperf3" && bytes.Contains(client, []byte(`"error"`))) {
		return nil, fmt.Errorf("%v: %s", err, lastLine(append(out, client...)))
	}
	return client, nil
}

func toolServer(tool string, port int) []string {
	if tool == "iperf3" {
		// The default listener: dual-stack, on every address.
		return []string{"iperf3", "-s", "-p", strconv.Itoa(port), "--forceflush"}
	}
	return []string{"sockperf", "sr", "--tcp", "-i", "127.0.0.1", "-p", strconv.Itoa(port)}
}

func toolClient(test ToolTest, host string, port, secs int) []string {
	p, t := strconv.Itoa(port), strconv.Itoa(secs)
	if test.Tool == "iperf3" {
		return append([]string{"iperf3", "-c", host, "-p", p, "-t", t, "-J"}, test.Args...)
	}
	return append([]string{"sockperf", "pp", "--tcp", "-i", host, "-p", p, "-t", t}, test.Args...)
}

// startToolServer starts a tool's server and waits until it listens:
// iperf3 says so; sockperf is seen in the socket table.
func startToolServer(ctx context.Context, tool string, port int) (*process, error) {
	argv := toolServer(tool, port)
	if tool == "iperf3" {
		return startProcess(ctx, "iperf3 -s", argv, func(line string) bool {
			return strings.HasPrefix(line, "Server listening on ")
		})
	}
	_, p, err := startListener(ctx, "sockperf sr", port, argv)
	return p, err
}

func parseTool(test ToolTest, out []byte, m *ToolMeasurement) error {
	var err error
	if test.Tool == "iperf3" {
		m.Gbits, err = parseIperf3(out)
	} else {
		m.P50, m.P99, m.P999, err = parseSockperf(out)
	}
	return err
}

// parseIperf3 reads the throughput the receiver counted from an iperf3 -J
// report, or the error the report gives.
func parseIperf3(b []byte) (gbits float64, err error) {
	var r struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("iperf3 -J: %v: %s", err, lastLine(b))
	}
	if r.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", r.Error)
	}
	if r.End.SumReceived.BitsPerSecond <= 0 {
		return 0, errors.New("iperf3: the report has no received throughput")
	}
	return r.End.SumReceived.BitsPerSecond / 1e9, nil
}

var sockperfPercentile = regexp.MustCompile(`(?m)---> percentile\s+([0-9.]+)\s*=\s*([0-9.]+)`)

// parseSockperf reads the 50th, 99th and 99.9th percentiles of latency
// (µs) from sockperf ping-pong's summary.
func parseSockperf(b []byte) (p50, p99, p999 float64, err error) {
	ps := map[string]float64{}
	for _, m := range sockperfPercentile.FindAllSubmatch(b, -1) {
		v, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("sockperf: percentile %s: %v", m[1], err)
		}
		ps[string(m[1])] = v
	}
	for _, p := range []string{"50.000", "99.000", "99.900"} {
		if _, ok := ps[p]; !ok {
			return 0, 0, 0, fmt.Errorf("sockperf: no percentile %s in its output: %s", p, lastLine(b))
		}
	}
	return ps["50.000"], ps["99.000"], ps["99.900"], nil
}

var ansiColour = regexp.MustCompile("\x1b\\[[0-9;]*m") // sockperf colours its lines

// oneLine is an error message on one short line, for a table's notes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(ansiColour.ReplaceAllString(s, "")), " ")
	s = strings.ReplaceAll(s, "`", "'") // "Can`t connect" would open a code span
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// The tables.

type toolColumn struct {
	test, name string
	value      func(ToolMeasurement) float64
	format     string
	high       bool // higher is better
}

var (
	iperf3Columns = []toolColumn{
		{"1 flow", "iperf3 1 flow", func(m ToolMeasurement) float64 { return m.Gbits }, "%.1f", true},
		{"4 flows", "iperf3 4 flows", func(m ToolMeasurement) float64 { return m.Gbits }, "%.1f", true},
	}
	sockperfColumns = []toolColumn{
		{"ping-pong 64 B", "p50", func(m ToolMeasurement) float64 { return m.P50 }, "%.1f", false},
		{"ping-pong 64 B", "p99", func(m ToolMeasurement) float64 { return m.P99 }, "%.1f", false},
		{"ping-pong 64 B", "p99.9", func(m ToolMeasurement) float64 { return m.P999 }, "%.0f", false},
	}
)

// of returns the measurements of one configuration and test.
func (t *Tools) of(config, test string) []ToolMeasurement {
	var ms []ToolMeasurement
	for _, m := range t.Measurements {
		if m.Config == config && m.Test == test {
			ms = append(ms, m)
		}
	}
	return ms
}

// median is the median of a column over the successful rounds, or NaN.
func (t *Tools) median(config string, c toolColumn) float64 {
	var vs []float64
	for _, m := range t.of(config, c.test) {
		if m.Err == "" {
			vs = append(vs, c.value(m))
		}
	}
	if len(vs) == 0 {
		return math.NaN()
	}
	return SpreadOf(vs).Median
}

func (t *Tools) cell(config string, c toolColumn) string {
	ms := t.of(config, c.test)
	var vs []float64
	failed, fellBack := 0, 0
	for _, m := range ms {
		if m.Err != "" {
			failed++
		} else {
			vs = append(vs, c.value(m))
		}
		if m.FellBack {
			fellBack++
		}
	}
	var s string
	switch {
	case len(ms) == 0:
		return "-"
	case len(vs) == 0:
		s = "**failed**"
	default:
		sp := SpreadOf(vs)
		s = fmt.Sprintf(c.format+" ("+c.format+"–"+c.format+")", sp.Median, sp.Min, sp.Max)
		if failed > 0 {
			s += fmt.Sprintf(", **%d of %d failed**", failed, len(ms))
		}
	}
	if fellBack > 0 {
		s += fmt.Sprintf(", **%d of %d fell back to TCP**", fellBack, len(ms))
	}
	return s
}

func (t *Tools) table(b *strings.Builder, cols []toolColumn) {
	toolHeader(b, "configuration", cols)
	for _, cfg := range t.Configs {
		fmt.Fprintf(b, "| %s |", cfg.Name)
		for _, c := range cols {
			fmt.Fprintf(b, " %s |", t.cell(cfg.Name, c))
		}
		b.WriteString("\n")
	}
}

// toolHeader writes a table's header row, first naming the row labels,
// and its separator, the columns right-aligned.
func toolHeader(b *strings.Builder, first string, cols []toolColumn) {
	b.WriteString("| " + first + " |")
	sep := "|---|"
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", c.name)
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
}

func (t *Tools) ran(test string) bool {
	return slices.ContainsFunc(t.Measurements, func(m ToolMeasurement) bool { return m.Test == test })
}

func (t *Tools) writeMarkdown(b *strings.Builder) {
	rounds := fmt.Sprintf("%d rounds", t.Rounds)
	if t.Rounds == 1 {
		rounds = "1 round"
	}
	fmt.Fprintf(b, "\n### Unmodified iperf3 and sockperf\n\n"+
		"The same configurations, measured with unmodified tools at their defaults: `iperf3 -s` (listening dual-stack) and `iperf3 -c … -t %d -J` "+
		"with one flow and with four (`-P 4`), `sockperf sr --tcp -i 127.0.0.1` and `sockperf pp --tcp -i … -m 64 -t %d`. "+
		"Clients connect to the server (direct) or to the proxy in front of it. "+
		"For the sockc bypass both ends run under one `sockc run examples/bypass.sock -- sh -c '…'`, in a network namespace of its own. "+
		"%s, each test under each configuration in turn; median over the rounds, range in brackets. These tools do not verify their bytes.\n\n",
		t.Seconds, t.Seconds, rounds)
	writePeers(b, "Tools", t.Peers, t.Skipped)
	var ratioCols []toolColumn
	if t.ran("1 flow") || t.ran("4 flows") {
		b.WriteString("\n#### iperf3 throughput (Gbit/s, as its receiver counted)\n\n")
		t.table(b, iperf3Columns)
		ratioCols = append(ratioCols, iperf3Columns...)
	}
	if t.ran("ping-pong 64 B") {
		b.WriteString("\n#### sockperf ping-pong latency, 64 B (µs, half the round trip, as sockperf reports it)\n\n")
		t.table(b, sockperfColumns)
		for _, c := range sockperfColumns {
			c.name = "sockperf " + c.name
			ratioCols = append(ratioCols, c)
		}
	}
	if len(ratioCols) > 0 {
		t.ratios(b, ratioCols)
	}
	t.notes(b)
}

// ratios writes the sockc configurations' medians against direct and the
// best user-space proxy of the same run.
func (t *Tools) ratios(b *strings.Builder, cols []toolColumn) {
	type row struct {
		name string
		cell func(c toolColumn) string
	}
	var rows []row
	against := func(config, base string) func(toolColumn) string {
		return func(c toolColumn) string { return ratioCell(t.median(config, c), t.median(base, c), "") }
	}
	for _, cfg := range t.Configs {
		if cfg.Role != SockcProxy && cfg.Role != SockcBypass {
			continue
		}
		if t.runs(direct) {
			rows = append(rows, row{cfg.Name + " ÷ direct", against(cfg.Name, direct)})
		}
		if cfg.Role == SockcProxy && slices.ContainsFunc(t.Configs, func(c Config) bool { return c.Role == UserProxy }) {
			name := cfg.Name
			rows = append(rows, row{name + " ÷ best user-space proxy", func(c toolColumn) string {
				best, v := t.best(c)
				return ratioCell(t.median(name, c), v, best)
			}})
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n#### sockc against the others in this run (ratio of medians; above 1 is faster for throughput, below 1 is faster for latency)\n\n")
	toolHeader(b, "ratio", cols)
	for _, r := range rows {
		fmt.Fprintf(b, "| %s |", r.name)
		for _, c := range cols {
			fmt.Fprintf(b, " %s |", r.cell(c))
		}
		b.WriteString("\n")
	}
}

func (t *Tools) runs(config string) bool {
	return slices.ContainsFunc(t.Configs, func(c Config) bool { return c.Name == config })
}

// best returns the user-space proxy with the best median of a column.
func (t *Tools) best(c toolColumn) (string, float64) {
	name, v := "", math.NaN()
	for _, cfg := range t.Configs {
		m := t.median(cfg.Name, c)
		if cfg.Role != UserProxy || math.IsNaN(m) {
			continue
		}
		if name == "" || (c.high && m > v) || (!c.high && m < v) {
			name, v = cfg.Name, m
		}
	}
	return name, v
}

func ratioCell(a, b float64, detail string) string {
	r := ratio(a, b)
	if math.IsNaN(r) {
		return "-"
	}
	if detail != "" {
		return fmt.Sprintf("%.2fx (%s)", r, detail)
	}
	return fmt.Sprintf("%.2fx", r)
}

// notes says whether the bypass engaged, and why measurements failed.
func (t *Tools) notes(b *strings.Builder) {
	var lines []string
	for _, cfg := range t.Configs {
		var segs []float64
		fellBack, n := 0, 0
		for _, m := range t.Measurements {
			if m.Config != cfg.Name || m.Segments < 0 && !m.FellBack {
				continue
			}
			n++
			if m.Segments >= 0 {
				segs = append(segs, float64(m.Segments))
			}
			if m.FellBack {
				fellBack++
			}
		}
		if n == 0 {
			continue
		}
		s := SpreadOf(segs)
		span := fmt.Sprintf("%.0f–%.0f", s.Min, s.Max)
		if len(segs) == 0 {
			span = "uncounted"
		}
		if fellBack == 0 {
			lines = append(lines, fmt.Sprintf("%s engaged in all %d measurements: its network namespace sent %s TCP segments per measurement, connection setup and teardown (at most %d allowed; through TCP a measurement is tens of thousands).",
				cfg.Name, n, span, maxBypassSegments))
		} else {
			lines = append(lines, fmt.Sprintf("%s **fell back to TCP** in %d of %d measurements: its network namespace sent %s TCP segments per measurement (at most %d allowed), or sockc said its redirects found no socket; those figures are TCP's, not the bypass's.",
				cfg.Name, fellBack, n, span, maxBypassSegments))
		}
	}
	for _, cfg := range t.Configs {
		for _, test := range ToolTests {
			var rounds []string
			errs := map[string][]string{}
			for _, m := range t.of(cfg.Name, test.Name) {
				if m.Err != "" {
					if len(errs[m.Err]) == 0 {
						rounds = append(rounds, m.Err)
					}
					errs[m.Err] = append(errs[m.Err], strconv.Itoa(m.Round))
				}
			}
			for _, e := range rounds {
				lines = append(lines, fmt.Sprintf("%s, %s %s, round %s: failed: %s", cfg.Name, test.Tool, test.Name, strings.Join(errs[e], ", "), strings.TrimSuffix(e, ".")+"."))
			}
		}
	}
	if len(lines) > 0 {
		b.WriteString("\n")
		for _, l := range lines {
			fmt.Fprintf(b, "- %s\n", l)
		}
	}
}
