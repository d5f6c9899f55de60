package netns

import (
	"strings"
	"testing"
)

func TestLineSetupCommands(t *testing.T) {
	l := NewLine("sb-7")
	var got []string
	for _, argv := range l.SetupCommands() {
		got = append(got, strings.Join(argv, " "))
	}
	want := []string{
		"ip netns add sb-7-client",
		"ip netns add sb-7-proxy",
		"ip netns add sb-7-server",
		"ip -n sb-7-client link set lo up",
		"ip -n sb-7-proxy link set lo up",
		"ip -n sb-7-server link set lo up",
		"ip -n sb-7-client link add to-proxy type veth peer name to-client netns sb-7-proxy",
		"ip -n sb-7-server link add to-proxy type veth peer name to-server netns sb-7-proxy",
		"ip -n sb-7-client addr add 10.77.1.1/24 dev to-proxy",
		"ip -n sb-7-proxy addr add 10.77.1.2/24 dev to-client",
		"ip -n sb-7-proxy addr add 10.77.2.1/24 dev to-server",
		"ip -n sb-7-server addr add 10.77.2.2/24 dev to-proxy",
		"ip -n sb-7-client link set to-proxy up",
		"ip -n sb-7-proxy link set to-client up",
		"ip -n sb-7-proxy link set to-server up",
		"ip -n sb-7-server link set to-proxy up",
		"ip -n sb-7-client route add default via 10.77.1.2",
		"ip -n sb-7-server route add default via 10.77.2.1",
		"nsenter --net=/run/netns/sb-7-proxy -- sysctl -qw net.ipv4.ip_forward=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("SetupCommands =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every command but the namespaces' creation runs inside them: none
	// adds a device, address or route to the caller's namespace.
	for _, argv := range l.SetupCommands()[3:] {
		if s := strings.Join(argv, " "); !strings.HasPrefix(s, "ip -n sb-7-") && !strings.HasPrefix(s, "nsenter --net=/run/netns/sb-7-") {
			t.Errorf("%s runs outside the line's namespaces", s)
		}
	}
}

func TestEnter(t *testing.T) {
	if got := strings.Join(Enter("x-proxy", "iperf3", "-s"), " "); got != "nsenter --net=/run/netns/x-proxy -- iperf3 -s" {
		t.Errorf("Enter = %s", got)
	}
	if got := Enter("", "iperf3", "-s"); len(got) != 2 || got[0] != "iperf3" {
		t.Errorf("Enter with no namespace = %q, want argv as it is", got)
	}
}
