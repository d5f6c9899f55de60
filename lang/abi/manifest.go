package abi

import (
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/keys"
)

// Manifest is what the compiler knows of an object that a loader needs
// beyond the maps and programs themselves: where each program attaches,
// the key layout of each map, the companions of `redirect peer`, the
// counters and the maps whose statistics the object keeps. The compiler
// makes one with every object (codegen.Manifest, sockc.Output); a loader
// given an object without one (a file, or a foreign compiler's) reads
// what it can back from the names instead: ParseProgramName, PeerOf,
// CounterNames, ParseStatName.
type Manifest struct {
	// Programs are the object's programs, in name order.
	Programs []Program
	// Keys is the key layout of each map the file declares.
	Keys map[string]keys.Layout
	// Peers maps each map that `redirect peer` uses to its companion
	// (PeerMapName).
	Peers map[string]string
	// Counters names the `count` counters: Counters[i] is slot i of
	// CountersMap's value.
	Counters []string
	// StatMaps are the maps whose statistics MapStatsMap keeps:
	// StatMaps[i]'s statistic s is at StatSlot(i, s).
	StatMaps []string
}

// Program is one program of an object and where it attaches.
type Program struct {
	Name string
	// Hook is the program's hook; for the sockops program, the hook of
	// its first handler (all sockops hooks attach alike).
	Hook hook.Kind
	// Map is the sockmap or sockhash the program attaches to; "" for
	// the sockops program, which attaches to a cgroup.
	Map string
}
