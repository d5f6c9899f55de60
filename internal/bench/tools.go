package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// through a proxy fails one measurement, which the tables show. Each
// test runs on loopback and, with Options.Veth, between three network
// namespaces joined by veth (veth.go), as between hosts.

// ToolTest is one client command line of a tool.
type ToolTest struct {
	Name string   // as in the tables
	Tool string   // iperf3 or sockperf
	Args []string // the client's arguments besides address, port and time
}

// ToolTests returns the tools section's tests, in the order of the
// tables; each call builds them anew (their Args too), so the caller may
// change them.
func ToolTests() []ToolTest {
	return []ToolTest{
		{"1 flow", "iperf3", nil},
		{"4 flows", "iperf3", []string{"-P", "4"}},
		{"16 flows", "iperf3", []string{"-P", "16"}},
		{"ping-pong 64 B", "sockperf", []string{"-m", "64"}},
		{"ping-pong 16 KiB", "sockperf", []string{"-m", "16384"}},
	}
}

// ToolTestNamed returns the tool test of a name, as in the tables
// ("16 flows", "ping-pong 64 B").
func ToolTestNamed(name string) (ToolTest, bool) {
	tests := ToolTests()
	i := slices.IndexFunc(tests, func(t ToolTest) bool { return t.Name == name })
	if i < 0 {
		return ToolTest{}, false
	}
	return tests[i], true
}

// Tools is the outcome of the tools section.
type Tools struct {
	Rounds  int
	Seconds int // of each client run
	Configs []Config
	Skipped map[string]string // configurations and tools not run, and why
	Peers   map[string]Peer   // iperf3 and sockperf, and ethtool for veth
	// Veth is the veth topology's devices and their offloads, as ethtool
	// read them; nil if the tools did not run there.
	Veth         *VethTopology
	Measurements []ToolMeasurement
}

// ToolMeasurement is one client run.
type ToolMeasurement struct {
	Config string
	Test   string
	Path   Path // where the bytes went; loopback if empty
	Round  int
	// Gbits is iperf3's throughput, as its receiver counted it, and Sent
	// the bytes its client sent.
	Gbits float64
	Sent  int64
	// Frames is the frames the proxy's device received from the client
	// over veth, and Skbs the skbs the sockc proxy's verdict program ran
	// on, after GRO: counted for iperf3 through the sockc proxy over
	// veth, 0 otherwise.
	Frames, Skbs int64
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
// each test under each configuration in turn, on loopback and (with
// o.Veth) over veth, every client run for o.Duration (whole seconds, at
// least one). o.Workloads is not used.
func RunTools(ctx context.Context, o Options) (_ *Tools, err error) {
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
	tests := o.ToolTests
	if len(tests) == 0 {
		tests = ToolTests()
	}
	var tools []Config
	for _, t := range tests {
		if !slices.ContainsFunc(tools, func(c Config) bool { return c.Needs == t.Tool }) {
			tools = append(tools, Config{Needs: t.Tool})
		}
	}
	if o.Veth {
		tools = append(tools, Config{Needs: "ethtool"})
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
	places := []place{onLoopback}
	if o.Veth && !peers["ethtool"].Available() {
		delete(t.Skipped, "ethtool")
		t.Skipped["the veth topology"] = "no ethtool to turn GRO on: " + peers["ethtool"].Status
	}
	if o.Veth && peers["ethtool"].Available() {
		line := netns.NewLine(fmt.Sprintf("%s%d", vethPrefix, os.Getpid()))
		if t.Veth, err = createVeth(ctx, line); err != nil {
			return nil, err
		}
		defer func() {
			if rerr := line.Remove(); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}()
		places = append(places, overVeth(line))
	}
	for round := 1; round <= o.Rounds; round++ {
		for _, pl := range places {
			for _, test := range tests {
				if !peers[test.Tool].Available() {
					continue
				}
				for _, c := range t.Configs {
					if !pl.runs(c) {
						continue
					}
					if err := ctx.Err(); err != nil {
						return nil, err
					}
					m := o.measureTool(ctx, c, test, secs, pl)
					m.Round = round
					t.Measurements = append(t.Measurements, m)
					fmt.Fprintf(o.Log, "round %d  %-8s %-8s %-16s  %-14s  %s\n", round, pl.path, test.Tool, test.Name, c.Name, m.summary())
				}
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
	if m.Skbs > 0 {
		s += fmt.Sprintf("  (%d frames in, %d skbs at the verdict: %.1f frames, %.0f bytes per skb)",
			m.Frames, m.Skbs, float64(m.Frames)/float64(m.Skbs), float64(m.Sent)/float64(m.Skbs))
	}
	if m.FellBack {
		s += "  FELL BACK TO TCP"
	}
	return s
}

// measureTool runs one test under one configuration, in a place: the
// server, the configuration's peer and the client, or, for a
// configuration that wraps its command (the bypass, on loopback only),
// server and client together inside it, in a network namespace of their
// own whose TCP segments it counts.
func (o *Options) measureTool(ctx context.Context, c Config, test ToolTest, secs int, pl place) ToolMeasurement {
	m := ToolMeasurement{Config: c.Name, Test: test.Name, Path: pl.path, Segments: -1}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+time.Minute)
	defer cancel()
	port, err := freePort()
	var out []byte
	if err == nil && c.wrap != nil {
		out, err = o.toolInside(ctx, c, test, port, secs, &m)
	} else if err == nil {
		out, err = o.toolThrough(ctx, c, test, port, secs, pl, &m)
	}
	if err == nil {
		err = parseTool(test, out, &m)
	}
	if err != nil {
		m.Err = oneLine(err.Error())
	}
	return m
}

func (o *Options) toolThrough(ctx context.Context, c Config, test ToolTest, port, secs int, pl place, m *ToolMeasurement) ([]byte, error) {
	server, err := startToolServer(ctx, test.Tool, pl, port)
	if err != nil {
		return nil, err
	}
	defer server.stop() // iperf3 exits 1 on SIGTERM: its status says nothing
	env := o.Env
	env.Upstream = net.JoinHostPort(pl.serverHost, strconv.Itoa(port))
	env.Netns, env.Host = pl.proxy, pl.proxyHost
	gro := pl.countsGRO(c, test)
	env.Stats = gro
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
	var frames0 int64
	if gro {
		if frames0, err = pl.framesIn(); err != nil {
			return nil, err
		}
	}
	var stdout, stderr bytes.Buffer
	argv := netns.Enter(pl.client, toolClient(test, host, port, secs)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err == nil && peer != nil {
		err = peer.alive()
	}
	if err == nil && gro {
		err = pl.countGRO(peer, frames0, m)
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
		netns.Quote(toolServer(test.Tool, "127.0.0.1", port)...), port, netns.Quote(toolClient(test, "127.0.0.1", port, secs)...), netns.Quote(report), stderrToo)
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

func toolServer(tool, host string, port int) []string {
	if tool == "iperf3" {
		// The default listener: dual-stack, on every address.
		return []string{"iperf3", "-s", "-p", strconv.Itoa(port), "--forceflush"}
	}
	return []string{"sockperf", "sr", "--tcp", "-i", host, "-p", strconv.Itoa(port)}
}

func toolClient(test ToolTest, host string, port, secs int) []string {
	p, t := strconv.Itoa(port), strconv.Itoa(secs)
	if test.Tool == "iperf3" {
		return append([]string{"iperf3", "-c", host, "-p", p, "-t", t, "-J"}, test.Args...)
	}
	return append([]string{"sockperf", "pp", "--tcp", "-i", host, "-p", p, "-t", t}, test.Args...)
}

// startToolServer starts a tool's server in a place's server namespace
// and waits until it listens: iperf3 says so; sockperf is seen in the
// socket table.
func startToolServer(ctx context.Context, tool string, pl place, port int) (*process, error) {
	argv := netns.Enter(pl.server, toolServer(tool, pl.serverHost, port)...)
	if tool == "iperf3" {
		return startProcess(ctx, "iperf3 -s", argv, func(line string) bool {
			return strings.HasPrefix(line, "Server listening on ")
		})
	}
	_, p, err := startListener(ctx, "sockperf sr", pl.serverHost, port, argv)
	return p, err
}

func parseTool(test ToolTest, out []byte, m *ToolMeasurement) error {
	var err error
	if test.Tool == "iperf3" {
		m.Gbits, m.Sent, err = parseIperf3(out)
	} else {
		m.P50, m.P99, m.P999, err = parseSockperf(out)
	}
	return err
}

// parseIperf3 reads the throughput the receiver counted and the bytes
// the client sent from an iperf3 -J report, or the error the report
// gives.
func parseIperf3(b []byte) (gbits float64, sent int64, err error) {
	var r struct {
		Error string `json:"error"`
		End   struct {
			SumSent struct {
				Bytes int64 `json:"bytes"`
			} `json:"sum_sent"`
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, 0, fmt.Errorf("iperf3 -J: %v: %s", err, lastLine(b))
	}
	if r.Error != "" {
		return 0, 0, fmt.Errorf("iperf3: %s", r.Error)
	}
	if r.End.SumReceived.BitsPerSecond <= 0 {
		return 0, 0, errors.New("iperf3: the report has no received throughput")
	}
	return r.End.SumReceived.BitsPerSecond / 1e9, r.End.SumSent.Bytes, nil
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
