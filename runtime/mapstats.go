package runtime

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/sockc/sockc/lang/abi"
)

// MapStats is what the code the compiler adds to every update and
// redirect counted for one map, summed over all CPUs.
type MapStats struct {
	// Inserted counts sockets the sockops program put in the map.
	Inserted uint64
	// Redirected counts messages (sk_msg) or segments (sk_skb) that a
	// redirect sent to a socket found in the map.
	Redirected uint64
	// Missed counts redirects that found no socket: the data took the
	// normal path (or what the handler does next). Messages of a
	// same-host bypass miss when the other end of the connection is not
	// in the map.
	Missed uint64
}

// statSlot locates one statistic in the value of abi.MapStatsMap.
type statSlot struct {
	m    string
	stat abi.Stat
	off  int
}

// statSlots reads the statistics' names and offsets from the map's BTF,
// so that objects compiled by sockc and loaded later (sockc run x.o) are
// read the same way.
func statSlots(spec *btf.Struct) []statSlot {
	var out []statSlot
	for _, mem := range spec.Members {
		if m, s, ok := abi.ParseStatName(mem.Name); ok {
			out = append(out, statSlot{m: m, stat: s, off: int(mem.Offset.Bytes())})
		}
	}
	return out
}

// MapStats returns the statistics of every map that an update or a
// redirect uses, by map name. It is empty for an object that keeps none
// (one not compiled by sockc).
func (rt *Runtime) MapStats() (map[string]MapStats, error) {
	out := map[string]MapStats{}
	if len(rt.statSlots) == 0 {
		return out, nil
	}
	var perCPU []rawValue
	if err := rt.coll.Maps[abi.MapStatsMap].Lookup(uint32(0), &perCPU); err != nil {
		return nil, fmt.Errorf("read map statistics: %w", err)
	}
	for _, sl := range rt.statSlots {
		st := out[sl.m]
		for _, v := range perCPU {
			if len(v) < sl.off+8 {
				continue
			}
			n := binary.NativeEndian.Uint64(v[sl.off:])
			switch sl.stat {
			case abi.StatInserted:
				st.Inserted += n
			case abi.StatRedirected:
				st.Redirected += n
			case abi.StatMissed:
				st.Missed += n
			}
		}
		out[sl.m] = st
	}
	return out, nil
}

// Stall is a map through which data flowed for a whole window without a
// single redirect: every lookup missed. For a same-host bypass it means
// the other ends of the connections are not in the map.
type Stall struct {
	Map string
	// Missed is how many redirects missed during the window.
	Missed uint64
	Window time.Duration
}

// WatchStalls samples MapStats every second until ctx ends, and calls
// report for a map whose redirects all missed during the last window
// (and at least one did): once, and again only after the map has
// redirected something in between.
func (rt *Runtime) WatchStalls(ctx context.Context, window time.Duration, report func(Stall)) {
	const every = time.Second
	n := max(int(window/every), 1)
	var history []map[string]MapStats // the last n+1 samples, oldest first
	reported := map[string]bool{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now, err := rt.MapStats()
		if err == nil {
			history = append(history, now)
			if len(history) > n+1 {
				history = history[1:]
			}
			if len(history) == n+1 {
				for _, name := range slices.Sorted(maps.Keys(now)) {
					cur, old := now[name], history[0][name]
					missed := cur.Missed - old.Missed
					switch {
					case cur.Redirected != old.Redirected:
						reported[name] = false
					case missed > 0 && !reported[name]:
						reported[name] = true
						report(Stall{Map: name, Missed: missed, Window: time.Duration(n) * every})
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
