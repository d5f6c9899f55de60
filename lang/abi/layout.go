package abi

import (
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// SlotSize is the size of one slot of the values of CountersMap,
// MapStatsMap, FlowMap and FlowCtlMap: each value is an array of u64
// slots, described in BTF by a struct with one named member per slot
// (SlotStruct).
const SlotSize = 8

// SlotOffset is the byte offset of slot i in such a value.
func SlotOffset(i int) int { return SlotSize * i }

// SlotStruct is the BTF of a value of u64 slots: a struct named name with
// one member of type u64 per slot, slots[i] naming the one at
// SlotOffset(i). User space finds each slot by its name there. A map whose
// key is a u64 too passes the key's type, so the object has it once.
func SlotStruct(name string, u64 *btf.Int, slots []string) *btf.Struct {
	members := make([]btf.Member, len(slots))
	for i, m := range slots {
		members[i] = btf.Member{Name: m, Type: u64, Offset: btf.Bits(8 * SlotOffset(i))}
	}
	return &btf.Struct{Name: name, Size: uint32(SlotSize * len(slots)), Members: members}
}

// CounterNames reads back the slot names of a map whose value SlotStruct
// describes (CountersMap's: the counters), in slot order; nil if the map
// has no struct value in BTF.
func CounterNames(spec *ebpf.MapSpec) []string {
	st, ok := spec.Value.(*btf.Struct)
	if !ok {
		return nil
	}
	ms := append([]btf.Member(nil), st.Members...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Offset < ms[j].Offset })
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

// Stat is one statistic MapStatsMap keeps for a map.
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

// StatSlot is the slot of statistic s of the i-th map whose statistics
// MapStatsMap keeps (in declaration order).
func StatSlot(i int, s Stat) int { return i*int(NumStats) + int(s) }

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

// FlowStat is a slot of a FlowMap value.
type FlowStat int

// The slots of a FlowMap value.
const (
	FlowRedirected FlowStat = iota // bytes redirected to the peer
	FlowPassed                     // bytes passed to the socket's own receive queue
	NumFlowStats
)

// FlowCtl is a slot of a FlowCtlMap value.
type FlowCtl int

// The slots of a FlowCtlMap value.
const (
	FlowLimit   FlowCtl = iota // redirect while redirected+len <= limit
	FlowRelayed                // passed bytes the loader wrote to the peer
	NumFlowCtls
)

// The BTF member names of the two values' slots.
var (
	flowStatNames = [NumFlowStats]string{"redirected", "passed"}
	flowCtlNames  = [NumFlowCtls]string{"limit", "relayed"}
)

func (s FlowStat) String() string { return flowStatNames[s] }
func (s FlowCtl) String() string  { return flowCtlNames[s] }
