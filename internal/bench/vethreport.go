package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sockc/sockc/internal/netns"
)

// writeMarkdown writes the heading of the tools' veth part and what the
// topology is.
func (v *VethTopology) writeMarkdown(b *strings.Builder) {
	var fs []string
	for name, state := range sortedMap(v.Features) {
		fs = append(fs, fmt.Sprintf("%s: %s", name, state))
	}
	fmt.Fprintf(b, "\n### Unmodified iperf3 and sockperf between hosts: three network namespaces joined by veth\n\n"+
		"Real proxies forward between hosts, and a NIC's bytes reach them coalesced by GRO. "+
		"So the same tests also ran with client, proxy and server each in a network namespace of its own, joined by two veth pairs "+
		"(client %s – %s proxy %s – %s server, MTU %d). "+
		"On every veth device `ethtool -K … gro on tso off` set, and `ethtool -k` read back, %s: "+
		"frames on the links are at most the MTU, as on a wire, and the receiving end's NAPI poll coalesces them, as a NIC driver's does. "+
		"The proxies run in the middle namespace and listen on its address on the client link; "+
		"direct is the client connecting to the server through the middle namespace, routed (IP forwarding on). "+
		"The bypass joins two sockets of one host, so it does not run here. "+
		"Each round ran these tests after the loopback ones.\n",
		netns.ClientAddr, netns.ProxyClientAddr, netns.ProxyServerAddr, netns.ServerAddr, v.MTU, strings.Join(fs, ", "))
}

// writeGRO says how far GRO coalesced the client's frames before the
// sockc proxy's verdict program saw them, per iperf3 test: frames the
// proxy's device received, and bytes iperf3 sent, per skb the program ran
// on; medians over the rounds.
func (t *Tools) writeGRO(b *strings.Builder, mtu int) {
	var parts []string
	for _, test := range ToolTests() {
		var frames, bytes []float64
		for _, m := range t.Measurements {
			if m.Test == test.Name && m.Err == "" && m.Skbs > 0 {
				frames = append(frames, float64(m.Frames)/float64(m.Skbs))
				bytes = append(bytes, float64(m.Sent)/float64(m.Skbs))
			}
		}
		if len(frames) > 0 {
			parts = append(parts, fmt.Sprintf("iperf3 %s %.1f frames and %.1f KiB per skb", test.Name, SpreadOf(frames).Median, SpreadOf(bytes).Median/1024))
		}
	}
	if len(parts) == 0 {
		return
	}
	config := "sockc proxy"
	if i := slices.IndexFunc(t.Configs, func(c Config) bool { return c.Role == SockcProxy }); i >= 0 {
		config = t.Configs[i].Name
	}
	fmt.Fprintf(b, "\nGRO coalesced the client's frames (at most %d bytes each) before the %s's verdict program saw them: %s "+
		"(median over the rounds of the frames the proxy's veth device received, `ip -s link`, and of the bytes iperf3 sent, "+
		"per run of the program, its `count proxied` in `sockc run --stats`).\n",
		mtu, config, strings.Join(parts, ", "))
}
