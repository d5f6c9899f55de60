package bench

import "fmt"

// goals are issue 14's targets for the sockc proxy under unmodified
// iperf3 and sockperf on loopback: one flow at least 1.2x the best
// user-space proxy and 0.75x direct, 4 and 16 flows keeping the lead
// they had (at least the best user-space proxy), and sockperf's 64-byte
// p99 and p99.9 no worse than the best user-space proxy's. A goal whose
// test or configurations did not run is left out.
func (t *Tools) goals() []Goal {
	lo := t.on(Loopback)
	if !lo.runs(proxy) {
		return nil
	}
	var gs []Goal
	add := func(c toolColumn, name, target, against string, base, limit float64) {
		gs = appendGoal(gs, name, target, ratio(lo.median(proxy, c), base), limit, c.high, against)
	}
	vsBest := func(c toolColumn, name string, limit float64) {
		if best, v := lo.best(c); best != "" {
			rel := ">="
			if !c.high {
				rel = "<="
			}
			add(c, name, fmt.Sprintf("%s %.1fx best user-space proxy", rel, limit), "("+best+")", v, limit)
		}
	}
	for _, c := range lo.iperf3Columns() {
		name := "proxy throughput, iperf3 " + c.test
		if c.test == "1 flow" {
			vsBest(c, name, 1.2)
			if lo.runs(direct) {
				add(c, name, ">= 0.75x direct", "direct", lo.median(direct, c), 0.75)
			}
			continue
		}
		vsBest(c, name, 1)
	}
	if lo.ran("ping-pong 64 B") {
		for _, c := range sockperfColumns("ping-pong 64 B")[1:] { // p99, p99.9
			vsBest(c, "proxy "+c.name+" latency, sockperf 64 B", 1)
		}
	}
	return gs
}
