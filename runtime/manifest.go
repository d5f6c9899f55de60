package runtime

import (
	"maps"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/sockc/sockc/lang/abi"
)

// fromManifest takes what the compiler knew of the object: the key
// layouts, the companions of `redirect peer`, the counters and the
// statistics.
func (rt *Runtime) fromManifest(man *abi.Manifest) {
	maps.Copy(rt.layouts, man.Keys)
	rt.peers = maps.Clone(man.Peers)
	rt.counters = slices.Clone(man.Counters)
	for i, m := range man.StatMaps {
		for s := abi.Stat(0); s < abi.NumStats; s++ {
			rt.statSlots = append(rt.statSlots, statSlot{m: m, stat: s, off: abi.SlotOffset(abi.StatSlot(i, s))})
		}
	}
}

// fromNames reads the same back from an object that comes without a
// manifest: the companions by their names (abi.PeerOf), the counters and
// statistics from the BTF of their maps. Key layouts are unknown.
func (rt *Runtime) fromNames() {
	rt.peers = map[string]string{}
	for name := range rt.spec.Maps {
		if m, ok := abi.PeerOf(name); ok {
			if _, exists := rt.spec.Maps[m]; exists {
				rt.peers[m] = name
			}
		}
	}
	if cs, ok := rt.spec.Maps[abi.CountersMap]; ok {
		rt.counters = abi.CounterNames(cs)
	}
	if ms, ok := rt.spec.Maps[abi.MapStatsMap]; ok {
		if st, ok := ms.Value.(*btf.Struct); ok {
			rt.statSlots = statSlots(st)
		}
	}
}

// planManifest is Plan for a compiled source: the compiler says where each
// program attaches. explicit still moves a program to another map, as
// Plan lets it.
func planManifest(spec *ebpf.CollectionSpec, man *abi.Manifest, explicit map[string]string) ([]Attachment, error) {
	out := make([]Attachment, 0, len(man.Programs))
	for _, p := range man.Programs {
		a := Attachment{Program: p.Name, Map: p.Map, Type: p.Hook.AttachType()}
		if m, ok := explicit[p.Name]; ok && !p.Hook.Sockops() {
			if err := checkSockMap(spec, p.Name, m); err != nil {
				return nil, err
			}
			a.Map = m
		}
		out = append(out, a)
	}
	return out, nil
}
