package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Options say what a data-plane run measures.
type Options struct {
	Env
	Rounds    int           // each configuration runs each workload once per round
	Duration  time.Duration // of each measurement
	Workloads []Workload
	Configs   []string // names of the configurations to run; all if empty
	Extra     []Config // more configurations, after the standard ones; always run
	Install   bool     // install missing peers with apt-get
	// ToolTests are the tools section's tests to run; all of ToolTests
	// if empty.
	ToolTests []ToolTest
	// Veth also runs the tools between three network namespaces joined
	// by veth (veth.go), besides loopback.
	Veth bool
	Log  io.Writer
}

// Measurement is one result of one configuration in one round.
type Measurement struct {
	Config   string   `json:"config"`
	Workload Workload `json:"workload"`
	Round    int      `json:"round"`
	Result   Result   `json:"result"`
}

// DataPlane is the outcome of a data-plane run.
type DataPlane struct {
	Rounds       int
	Duration     time.Duration
	Workloads    []Workload
	Configs      []Config // those that ran, in table order
	Skipped      map[string]string
	Peers        map[string]Peer
	Measurements []Measurement
}

// RunDataPlane runs every workload under every available configuration,
// interleaved: round after round, each workload runs under each
// configuration in turn, so that drift in the machine's state spreads over
// all of them. Any byte that fails verification fails the run.
func RunDataPlane(ctx context.Context, o Options) (*DataPlane, error) {
	if o.Rounds < 1 || o.Duration <= 0 || len(o.Workloads) == 0 {
		return nil, errors.New("benchmark: need at least one round, a duration and a workload")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	tmp, err := os.MkdirTemp("", "sockc-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	o.TempDir = tmp
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	o.Upstream = fmt.Sprintf("127.0.0.1:%d", port)

	selected, err := o.selectConfigs()
	if err != nil {
		return nil, err
	}
	d := &DataPlane{Rounds: o.Rounds, Duration: o.Duration, Workloads: o.Workloads,
		Skipped: map[string]string{}, Peers: FindPeers(selected, o.Install, o.Log)}
	d.Configs = runnable(selected, d.Peers, d.Skipped, o.Log)
	if len(d.Configs) == 0 {
		return nil, errors.New("benchmark: no configuration to run")
	}

	addrs := make([]string, len(d.Configs))
	procs := make([]*process, len(d.Configs))
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.stop()
			}
		}
	}()
	for i, c := range d.Configs {
		if c.start == nil {
			addrs[i] = o.Upstream
			continue
		}
		addrs[i], procs[i], err = c.start(ctx, &o.Env)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", c.Name, err)
		}
	}

	for round := 1; round <= o.Rounds; round++ {
		for _, w := range o.Workloads {
			for i, c := range d.Configs {
				r, err := o.measure(ctx, c, addrs[i], w)
				if err == nil && procs[i] != nil {
					err = procs[i].alive()
				}
				if err != nil {
					return nil, fmt.Errorf("%s, %s, round %d: %w", c.Name, w.Name(), round, err)
				}
				d.Measurements = append(d.Measurements, Measurement{Config: c.Name, Workload: w, Round: round, Result: r})
				fmt.Fprintf(o.Log, "round %d  %-10s  %-14s  %s\n", round, w.Name(), c.Name, r.Summary(w))
			}
		}
	}
	var errs []error
	for i, p := range procs {
		if p != nil {
			errs = append(errs, p.stop())
			procs[i] = nil
		}
	}
	return d, errors.Join(errs...)
}

// selectConfigs returns the configurations o names (all if none), and
// its extra ones, in table order.
func (o *Options) selectConfigs() ([]Config, error) {
	all := Configs()
	for _, name := range o.Configs {
		if !slices.ContainsFunc(all, func(c Config) bool { return c.Name == name }) {
			return nil, fmt.Errorf("benchmark: no configuration %q", name)
		}
	}
	var selected []Config
	for i, c := range append(all, o.Extra...) {
		extra := i >= len(all) // always runs
		if extra || len(o.Configs) == 0 || slices.Contains(o.Configs, c.Name) {
			selected = append(selected, c)
		}
	}
	return selected, nil
}

// runnable returns the configurations whose peers are available, and
// records in skipped why each other one is not run.
func runnable(selected []Config, peers map[string]Peer, skipped map[string]string, log io.Writer) []Config {
	var cs []Config
	for _, c := range selected {
		if c.Needs != "" && !peers[c.Needs].Available() {
			skipped[c.Name] = peers[c.Needs].Status
			fmt.Fprintf(log, "%s: %s\n", c.Name, peers[c.Needs].Status)
			continue
		}
		cs = append(cs, c)
	}
	return cs
}

// measure runs the load generator once, in its own process (inside sockc
// for the bypass), and reads its result.
func (o *Options) measure(ctx context.Context, c Config, addr string, w Workload) (Result, error) {
	out := filepath.Join(o.TempDir, "result.json")
	os.Remove(out)
	argv := []string{o.Self, "load",
		"-kind", string(w.Kind), "-flows", strconv.Itoa(w.Flows), "-size", strconv.Itoa(w.Size),
		"-duration", o.Duration.String(), "-listen", o.Upstream, "-connect", addr, "-out", out}
	if c.wrap != nil {
		argv = c.wrap(&o.Env, argv)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	output, err := cmd.CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("load: %v\n%s", err, output)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return Result{}, fmt.Errorf("load wrote no result: %w\n%s", err, output)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return Result{}, fmt.Errorf("load result: %w", err)
	}
	return r, nil
}

// Summary is a one-line account of a result, for the progress log.
func (r Result) Summary(w Workload) string {
	switch w.Kind {
	case Bulk:
		return fmt.Sprintf("%7.2f Gbit/s  %5.2f CPU-s/GB", r.Throughput()*8/1e9, r.CPUPerGB())
	case PingPong:
		return fmt.Sprintf("p50 %v  p99 %v  p99.9 %v  stalls %d/%d", r.P50, r.P99, r.P999, r.Stalls, r.Ops)
	default:
		return fmt.Sprintf("%7.0f conn/s  p50 %v  p99 %v", r.Rate(), r.P50, r.P99)
	}
}
