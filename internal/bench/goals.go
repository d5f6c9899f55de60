package bench

import (
	"fmt"
	"math"
)

// Goal is one target of the benchmark (issue 5's, and issue 14's for one
// flow, small writes, tail latency and connection setup) and where the
// run stands.
type Goal struct {
	Name     string
	Target   string
	Measured string
	Met      bool
}

// Goals evaluates the benchmark's targets on the medians of the run. A
// goal whose configurations or workloads did not run is left out.
func (r *Report) Goals() []Goal {
	var gs []Goal
	if d := r.Data; d != nil {
		gs = append(gs, d.goals()...)
	}
	if t := r.Tools; t != nil {
		gs = append(gs, t.goals()...)
	}
	if c := r.Compiler; c != nil {
		worst, where := math.Inf(-1), ""
		for _, p := range c.Counts {
			if p.Clang == 0 {
				continue
			}
			if x := float64(p.Sockc - p.Clang); x > worst {
				worst, where = x, p.Source+" "+p.Program
			}
		}
		if where != "" {
			gs = append(gs, Goal{"compiler: instructions", "never more than clang -O2",
				fmt.Sprintf("worst: %+.0f (%s)", worst, where), worst <= 0})
		}
	}
	return gs
}

// appendGoal appends to gs the goal that ratio got meets limit (at least
// it if atLeast, else at most), measured against detail; nothing when
// got is NaN (a configuration or workload did not run).
func appendGoal(gs []Goal, name, target string, got, limit float64, atLeast bool, detail string) []Goal {
	if math.IsNaN(got) {
		return gs
	}
	met := got <= limit
	if atLeast {
		met = got >= limit
	}
	return append(gs, Goal{name, target, fmt.Sprintf("%.2fx %s", got, detail), met})
}

func (d *DataPlane) ran(config string) bool {
	for _, c := range d.Configs {
		if c.Name == config {
			return true
		}
	}
	return false
}

// best returns the configuration of role with the best median of f (the
// highest if high is set, else the lowest).
func (d *DataPlane) best(role Role, w Workload, f func(Result) float64, high bool) (string, float64) {
	name, v := "", math.NaN()
	for _, c := range d.Configs {
		if c.Role != role {
			continue
		}
		m := d.spread(c.Name, w, f).Median
		if name == "" || (high && m > v) || (!high && m < v) {
			name, v = c.Name, m
		}
	}
	return name, v
}

const (
	direct = "direct"
	proxy  = "sockc proxy"
	bypass = "sockc bypass"
)

func (d *DataPlane) goals() []Goal {
	var gs []Goal
	add := func(name, target string, got, limit float64, atLeast bool, detail string) {
		gs = appendGoal(gs, name, target, got, limit, atLeast, detail)
	}
	med := func(config string, w Workload, f func(Result) float64) float64 {
		if !d.ran(config) || !d.has(w) {
			return math.NaN()
		}
		return d.spread(config, w, f).Median
	}
	p50 := func(r Result) float64 { return micros(r.P50) }
	p99 := func(r Result) float64 { return micros(r.P99) }

	for _, w := range d.workloads(Bulk) {
		if w.Size != 64<<10 {
			continue
		}
		add("proxy throughput, "+w.Name(), ">= 0.9x direct",
			ratio(med(proxy, w, gbits), med(direct, w, gbits)), 0.9, true, "direct")
		if name, v := d.best(UserProxy, w, gbits, true); name != "" {
			add("proxy throughput, "+w.Name(), ">= 1.2x best user-space proxy",
				ratio(med(proxy, w, gbits), v), 1.2, true, "("+name+")")
		}
		add("bypass throughput, "+w.Name(), ">= 3x plain loopback",
			ratio(med(bypass, w, gbits), med(direct, w, gbits)), 3, true, "direct")
		if name, v := d.best(UserProxy, w, Result.CPUPerGB, false); name != "" {
			add("proxy CPU per GB, "+w.Name(), "<= 0.5x user-space proxy",
				ratio(med(proxy, w, Result.CPUPerGB), v), 0.5, false, "(best: "+name+")")
		}
	}
	// Issue 14: small writes and connection setup no worse than the best
	// proxy in user space.
	for _, w := range d.workloads(Bulk) {
		if w.Size != 4<<10 {
			continue
		}
		if name, v := d.best(UserProxy, w, gbits, true); name != "" {
			add("proxy throughput, "+w.Name(), ">= 1.0x best user-space proxy",
				ratio(med(proxy, w, gbits), v), 1, true, "("+name+")")
		}
	}
	for _, w := range d.workloads(Connect) {
		if name, v := d.best(UserProxy, w, Result.Rate, true); name != "" {
			add("proxy connection setup rate", ">= 1.0x best user-space proxy",
				ratio(med(proxy, w, Result.Rate), v), 1, true, "("+name+")")
		}
	}
	for _, w := range d.workloads(PingPong) {
		if w.Size != 64 {
			continue
		}
		for _, q := range []struct {
			name       string
			f          func(Result) float64
			proxyGoal  float64
			bypassGoal float64
		}{{"p50", p50, 0.5, 0.75}, {"p99", p99, 0.6, 0.8}} {
			if name, v := d.best(UserProxy, w, q.f, false); name != "" {
				add("proxy "+q.name+" latency, "+w.Name(), fmt.Sprintf("<= %.1fx best user-space proxy", q.proxyGoal),
					ratio(med(proxy, w, q.f), v), q.proxyGoal, false, "("+name+")")
			}
			add("bypass "+q.name+" latency, "+w.Name(), fmt.Sprintf("<= %.2fx plain loopback", q.bypassGoal),
				ratio(med(bypass, w, q.f), med(direct, w, q.f)), q.bypassGoal, false, "direct")
		}
	}
	// Stalls: over every latency workload and round of each sockc
	// configuration, with the direct connection's rate beside it: the
	// machine's own floor.
	floor := ""
	if stalls, ops := d.stalls(direct); ops > 0 {
		floor = fmt.Sprintf("; direct: %.4f%%", 100*float64(stalls)/float64(ops))
	}
	for _, config := range []string{proxy, bypass} {
		if stalls, ops := d.stalls(config); ops > 0 {
			rate := 100 * float64(stalls) / float64(ops)
			gs = append(gs, Goal{config + " stall rate", "< 0.01% of requests slower than 10x the median",
				fmt.Sprintf("%.4f%% (%d of %d%s)", rate, stalls, ops, floor), rate < 0.01})
		}
	}
	return gs
}

// stalls sums stalls and operations over the latency workloads and rounds
// of a configuration.
func (d *DataPlane) stalls(config string) (stalls, ops int) {
	if !d.ran(config) {
		return 0, 0
	}
	for _, m := range d.Measurements {
		if m.Config == config && m.Workload.Kind != Bulk {
			stalls += m.Result.Stalls
			ops += m.Result.Ops
		}
	}
	return stalls, ops
}
