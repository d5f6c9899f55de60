package check

import "strings"

// MapStatsMap is the per-CPU array map where the code the compiler adds
// counts, for each map that an update or a redirect uses, what happened
// to the sockets and messages that went through it: so that sockc can
// tell a bypass that engages from one whose lookups all fail, without a
// `count` line written by hand. Its one value is a struct of u64 members
// named by StatName, NumStats per map in Program.StatMaps order.
const MapStatsMap = ReservedPrefix + "mapstats"

// Stat is one statistic kept for a map.
type Stat int

// The statistics of a map.
const (
	// StatInserted counts sockops updates that put a socket in the map.
	StatInserted Stat = iota
	// StatRedirected counts redirects that found their socket.
	StatRedirected
	// StatMissed counts redirects that found no socket: the data took
	// the normal path (or whatever the handler does next).
	StatMissed
	// NumStats is the number of statistics per map.
	NumStats
)

var statNames = [NumStats]string{"inserted", "redirected", "missed"}

func (s Stat) String() string {
	if s >= 0 && s < NumStats {
		return statNames[s]
	}
	return "invalid"
}

// StatName is the BTF member name of map m's statistic s: socks_inserted.
func StatName(m string, s Stat) string { return m + "_" + s.String() }

// ParseStatName reads a StatName back. Map names may contain '_', but a
// name ends in exactly one statistic.
func ParseStatName(name string) (m string, s Stat, ok bool) {
	for s := Stat(0); s < NumStats; s++ {
		if m, found := strings.CutSuffix(name, "_"+s.String()); found && m != "" {
			return m, s, true
		}
	}
	return "", 0, false
}

// StatSlot is the u64 slot of map m's statistic s in the MapStatsMap
// value.
func (m *Map) StatSlot(s Stat) int { return m.statsIndex*int(NumStats) + int(s) }

// statMaps lists, in declaration order, the maps an update or redirect
// uses; a redirect peer counts under the handler's map, not its
// companion.
func (c *checker) statMaps() {
	used := map[*Map]bool{}
	for _, m := range c.prog.StmtMaps {
		used[m] = true
	}
	for _, m := range c.prog.Maps {
		if used[m] {
			m.statsIndex = len(c.prog.StatMaps)
			c.prog.StatMaps = append(c.prog.StatMaps, m)
		}
	}
}
