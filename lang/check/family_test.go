package check

import (
	"strings"
	"testing"

	"github.com/sockc/sockc/lang/abi"
)

// TestFamilyWarning: a map that sockops fills only under a test of one
// family is warned about at each such test; a map filled for both
// families, or without a test, is not.
func TestFamilyWarning(t *testing.T) {
	const inet = "only AF_INET sockets reach this update of map m"
	const inet6 = "only AF_INET6 sockets reach this update of map m"
	const ip4Key = "sockhash m: key (ip4, port)\n"
	tests := []struct {
		name string
		src  string
		want []string // "line:col: prefix" of each warning
	}{
		{"family == inet", ip4Key + "on established:\n    if family == inet: update m key(local_ip4, local_port)", []string{"3:8: " + inet}},
		{"inet == family", ip4Key + "on established:\n    if inet == family: update m key(local_ip4, local_port)", []string{"3:8: " + inet}},
		{"in an and", ip4Key + "on established:\n    if local_port > 0 and (family == inet): update m key(local_ip4, local_port)", []string{"3:28: " + inet}},
		{"else of !=", ip4Key + "on established:\n    if family != inet: count x\n    else: update m key(local_ip4, local_port)", []string{"3:8: " + inet}},
		{"inet6", "sockhash m: key (ip6)\non established:\n    if family == inet6: update m key(local_ip6)", []string{"3:8: " + inet6}},
		{"two updates, one family", ip4Key + "on connect:\n    if family == inet: update m key(local_ip4, local_port)\non accept:\n    if family == inet: update m key(remote_ip4, remote_port)",
			[]string{"3:8: " + inet, "5:8: " + inet}},
		{"both families", "sockhash m: key (ip)\non established:\n    if family == inet: update m key(local_ip4)\n    else: update m key(local_ip6)", nil},
		{"one update unguarded", ip4Key + "on connect:\n    if family == inet: update m key(local_ip4, local_port)\non accept: update m key(local_ip4, local_port)", nil},
		{"no test", "sockhash m: key (ip)\non established: update m key(local_ip)", nil},
		{"or is no guard", ip4Key + "on established:\n    if family == inet or local_port == 80: update m key(local_ip4, local_port)", nil},
		{"not is no guard", ip4Key + "on established:\n    if not family == inet6: update m key(local_ip4, local_port)", nil},
		{"the then of != is no guard", ip4Key + "on established:\n    if family != inet6: update m key(local_ip4, local_port)", nil},
		{"a test around a redirect only", ip4Key + "on msg to m:\n    if family == inet: redirect key(remote_ip4, remote_port)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := checkSrc(t, tt.src)
			var got []string
			for _, line := range strings.Split(messages(diags), "\n") {
				if strings.Contains(line, "sockets reach this update") {
					got = append(got, line)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("warnings:\n%s\nwant %d: %q", messages(diags), len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i][:strings.Index(tt.want[i], " ")]+" warning: "+tt.want[i][strings.Index(tt.want[i], " ")+1:]) {
					t.Errorf("warning %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
			for _, d := range diags {
				if strings.Contains(d.Message, "sockets reach this update") && !strings.Contains(d.Hint, "update m key(local_ip, local_port, remote_ip, remote_port)") {
					t.Errorf("hint = %q", d.Hint)
				}
			}
		})
	}
}

// TestStatMaps: the maps an update or redirect uses get statistics, in
// declaration order, a redirect peer under the handler's map, each with
// slots of its own whose names read back.
func TestStatMaps(t *testing.T) {
	p, diags := checkSrc(t, `sockhash unused: key u32
sockhash b_x: key (ip, port, ip, port)
sockhash a: key u64
on established: update b_x key(local_ip, local_port, remote_ip, remote_port)
on stream verdict to a: redirect peer
`)
	if diags.Err() != nil {
		t.Fatal(messages(diags))
	}
	var names []string
	for _, m := range p.StatMaps {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); got != "b_x a" {
		t.Errorf("StatMaps = %s, want b_x a", got)
	}
	slots := map[int]bool{}
	for _, m := range p.StatMaps {
		for s := abi.Stat(0); s < abi.NumStats; s++ {
			if slots[m.StatSlot(s)] {
				t.Errorf("slot %d used twice", m.StatSlot(s))
			}
			slots[m.StatSlot(s)] = true
			name := abi.StatName(m.Name, s)
			if gm, gs, ok := abi.ParseStatName(name); !ok || gm != m.Name || gs != s {
				t.Errorf("ParseStatName(%q) = %q, %v, %v", name, gm, gs, ok)
			}
		}
	}
	if len(slots) != 2*int(abi.NumStats) {
		t.Errorf("%d slots, want %d", len(slots), 2*abi.NumStats)
	}
}
