package features

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Capabilities reports which of the capabilities that matter to sockc
// this thread has in its effective set: CAP_BPF and CAP_NET_ADMIN (what it
// needs), CAP_SYS_ADMIN (which stands in for both), CAP_PERFMON (which
// sockc's programs do not need) and CAP_SYS_RESOURCE (which lifts
// RLIMIT_MEMLOCK before Linux 5.11), in that order.
func Capabilities() ([]CapabilityState, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil, fmt.Errorf("read capabilities: %w", err)
	}
	var out []CapabilityState
	for _, c := range []struct {
		name string
		n    uint
	}{{"CAP_BPF", unix.CAP_BPF}, {"CAP_NET_ADMIN", unix.CAP_NET_ADMIN}, {"CAP_SYS_ADMIN", unix.CAP_SYS_ADMIN},
		{"CAP_PERFMON", unix.CAP_PERFMON}, {"CAP_SYS_RESOURCE", unix.CAP_SYS_RESOURCE}} {
		out = append(out, CapabilityState{Name: c.name, Effective: data[c.n/32].Effective&(1<<(c.n%32)) != 0})
	}
	return out, nil
}

// CapabilityState is one capability of Capabilities.
type CapabilityState struct {
	Name      string `json:"name"`
	Effective bool   `json:"effective"`
}

// SysAdminForNetAdmin is the release from which CAP_SYS_ADMIN stands in
// for CAP_NET_ADMIN when a sockmap or sockhash is created (map_create's
// bpf_net_capable, "bpf: Centralize permissions checks for all BPF map
// types"); before, sock_map_alloc asked for CAP_NET_ADMIN itself.
func SysAdminForNetAdmin() Version { return V(6, 5, 0) }

// bpfCapable reports whether this thread may create BPF maps: without,
// the kernel refuses every probe, which then says nothing.
func bpfCapable() bool {
	caps, err := Capabilities()
	if err != nil {
		return false
	}
	for _, c := range caps {
		if c.Effective && (c.Name == "CAP_BPF" || c.Name == "CAP_SYS_ADMIN") {
			return true
		}
	}
	return false
}
