package check

import "github.com/sockc/sockc/lang/abi"

// StatSlot is the u64 slot of map m's statistic s in the abi.MapStatsMap
// value.
func (m *Map) StatSlot(s abi.Stat) int { return abi.StatSlot(m.statsIndex, s) }

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
