package codegen

import (
	"slices"
	"strings"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/keys"
)

// Manifest describes, for a loader, the object Generate makes of p: each
// program with its hook and map, the maps' key layouts, the companions of
// `redirect peer`, the counters in slot order and the maps whose
// statistics the object keeps.
func Manifest(p *check.Program) *abi.Manifest {
	man := &abi.Manifest{Keys: map[string]keys.Layout{}, Peers: map[string]string{}}
	for _, m := range p.Maps {
		man.Keys[m.Name] = m.Key
		if m.PeerMap != "" {
			man.Peers[m.Name] = m.PeerMap
		}
	}
	sockops := false
	for _, h := range p.Handlers {
		pr := abi.Program{Name: programName(h), Hook: h.Hook}
		if h.Hook.Sockops() {
			if sockops {
				continue
			}
			sockops = true
		} else {
			pr.Map = h.Map.Name
		}
		man.Programs = append(man.Programs, pr)
	}
	slices.SortFunc(man.Programs, func(a, b abi.Program) int { return strings.Compare(a.Name, b.Name) })
	man.Counters = counterNames(p.Counters)
	for _, m := range p.StatMaps {
		man.StatMaps = append(man.StatMaps, m.Name)
	}
	return man
}
