package abi

import (
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/sockc/sockc/lang/hook"
)

// mapNames are map names a file may declare, some of them shaped like
// the names around them: a hook's prefix, a statistic's suffix.
var mapNames = []string{"socks", "a", "conns_2", "msg_x", "stream_verdict", "skb_verdict_y", "x_inserted", "peers_z", "sockc"}

// TestProgramNameRoundTrip: every map hook's program name reads back to
// the hook and the map, and the sockops hooks share one name that reads
// back to none.
func TestProgramNameRoundTrip(t *testing.T) {
	mapHooks := 0
	for _, k := range hook.Kinds() {
		for _, m := range mapNames {
			name := ProgramName(k, m)
			gk, gm, ok := ParseProgramName(name)
			if k.Sockops() {
				if name != SockopsProgram || ok {
					t.Errorf("%v on %s: ProgramName = %q, ParseProgramName = %v, %q, %v; want %q, not parsed", k, m, name, gk, gm, ok, SockopsProgram)
				}
				continue
			}
			if gk != k || gm != m || !ok {
				t.Errorf("ParseProgramName(ProgramName(%v, %q) = %q) = %v, %q, %v", k, m, name, gk, gm, ok)
			}
		}
		if k.NeedsMap() {
			mapHooks++
		}
	}
	if mapHooks == 0 {
		t.Error("no map hooks: the round trip tested nothing")
	}
	if got := ProgramName(hook.SkbVerdict, "conns"); got != "skb_verdict_conns" {
		t.Errorf("ProgramName(skb verdict, conns) = %q, want skb_verdict_conns", got)
	}
}

// TestParseProgramNameRejects: a name without a hook's prefix, with an
// unknown one, with nothing after it, or naming a map no file can declare
// is not a program name of sockc's.
func TestParseProgramNameRejects(t *testing.T) {
	for _, name := range []string{
		"", "socks", "msg", "msg_", "stream_socks", "verdict_socks", "stream_verdict_",
		"sk_msg_socks", "Msg_socks", "msgsocks", "sockops", "sockops_socks",
		"sockc_counters", "msg_sockc_counters", "skb_verdict_sockc_peers_conns", "stream_parser_sockc_",
	} {
		if k, m, ok := ParseProgramName(name); ok || k != hook.Invalid || m != "" {
			t.Errorf("ParseProgramName(%q) = %v, %q, %v; want it rejected", name, k, m, ok)
		}
	}
}

// TestPeerMapNameRoundTrip: a companion's name reads back to its map, and
// nothing else reads back at all.
func TestPeerMapNameRoundTrip(t *testing.T) {
	for _, m := range mapNames {
		name := PeerMapName(m)
		if !Reserved(name) {
			t.Errorf("PeerMapName(%q) = %q is not reserved", m, name)
		}
		if got, ok := PeerOf(name); !ok || got != m {
			t.Errorf("PeerOf(PeerMapName(%q) = %q) = %q, %v", m, name, got, ok)
		}
		if got, ok := PeerOf(m); ok {
			t.Errorf("PeerOf(%q) = %q, true; it is no companion", m, got)
		}
	}
	for _, name := range []string{"", "sockc_peers_", "sockc_peers", "peers_socks", CountersMap, MapStatsMap, FlowMap, FlowCtlMap, PeerMapName(CountersMap)} {
		if got, ok := PeerOf(name); ok {
			t.Errorf("PeerOf(%q) = %q, true; want it rejected", name, got)
		}
	}
}

// TestReservedNames: sockc's own maps have reserved names, all different,
// that are neither program names nor companions; a file's names are not
// reserved.
func TestReservedNames(t *testing.T) {
	own := []string{CountersMap, MapStatsMap, FlowMap, FlowCtlMap, PeerMapName("socks")}
	for i, name := range own {
		if !Reserved(name) || !strings.HasPrefix(name, ReservedPrefix) {
			t.Errorf("%q is not reserved", name)
		}
		if slices.Contains(own[:i], name) {
			t.Errorf("%q is two maps' name", name)
		}
		if k, m, ok := ParseProgramName(name); ok {
			t.Errorf("ParseProgramName(%q) = %v, %q, true", name, k, m)
		}
	}
	if CountersMap != "sockc_counters" {
		t.Errorf("CountersMap = %q: objects already compiled name it sockc_counters", CountersMap)
	}
	for _, name := range append(mapNames, "", SockopsProgram, ProgramName(hook.Msg, "socks")) {
		if Reserved(name) {
			t.Errorf("Reserved(%q) = true", name)
		}
	}
}

// TestSlots: the names SlotStruct gives the slots read back in slot
// order, whatever order BTF lists the members in.
func TestSlots(t *testing.T) {
	u64 := &btf.Int{Name: "unsigned long long", Size: 8}
	names := []string{"proxied", "dropped", "b_x_inserted"}
	st := SlotStruct(CountersMap, u64, names)
	if st.Size != uint32(SlotSize*len(names)) {
		t.Errorf("size %d, want %d", st.Size, SlotSize*len(names))
	}
	for i, m := range st.Members {
		if int(m.Offset.Bytes()) != SlotOffset(i) || m.Type != u64 {
			t.Errorf("member %s at byte %d, want %d", m.Name, m.Offset.Bytes(), SlotOffset(i))
		}
	}
	if got := CounterNames(&ebpf.MapSpec{Value: st}); !slices.Equal(got, names) {
		t.Errorf("CounterNames = %v, want %v", got, names)
	}
	slices.Reverse(st.Members)
	if got := CounterNames(&ebpf.MapSpec{Value: st}); !slices.Equal(got, names) {
		t.Errorf("CounterNames, members reversed = %v, want %v", got, names)
	}
	if got := CounterNames(&ebpf.MapSpec{Value: u64}); got != nil {
		t.Errorf("CounterNames of a u64 value = %v, want nil", got)
	}
}

// TestStatNames: each map's statistics have slots of their own and names
// that read back; other names do not.
func TestStatNames(t *testing.T) {
	slots := map[int]bool{}
	for i, m := range mapNames {
		for s := Stat(0); s < NumStats; s++ {
			slot := StatSlot(i, s)
			if slots[slot] || slot < 0 || slot >= len(mapNames)*int(NumStats) {
				t.Errorf("StatSlot(%d, %v) = %d: used twice or out of the value", i, s, slot)
			}
			slots[slot] = true
			name := StatName(m, s)
			if gm, gs, ok := ParseStatName(name); !ok || gm != m || gs != s {
				t.Errorf("ParseStatName(%q) = %q, %v, %v", name, gm, gs, ok)
			}
		}
	}
	for _, bad := range []string{"socks", "_inserted", "socks_inserted_no", "socks_invalid"} {
		if m, s, ok := ParseStatName(bad); ok {
			t.Errorf("ParseStatName(%q) = %q, %v, true", bad, m, s)
		}
	}
	if Stat(-1).String() != "invalid" || NumStats.String() != "invalid" {
		t.Error("an invalid Stat has a name")
	}
}
