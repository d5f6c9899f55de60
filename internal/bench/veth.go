package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/sockc/sockc/internal/netns"
)

// Real proxies forward between hosts, and bytes from a NIC reach the
// proxy coalesced by GRO, where loopback hands over each write as it was
// sent. So the tools also run between three network namespaces joined by
// veth, as three hosts on two links (netns.Line): the client in one, the
// proxy in the middle one, the server in the third. The links carry
// frames of at most the MTU, as a wire does: TCP segmentation offload is
// off on the veth devices, so the sender's stack cuts its segments to the
// MTU, and GRO is on, so the receiver's NAPI poll coalesces them again,
// as a NIC's driver does. Direct is the client connecting to the server
// through the middle namespace, routed.

// Path is the way a tool's bytes travel between client and server.
type Path string

// The paths of the tools section.
const (
	Loopback Path = "loopback" // one network namespace, over lo
	Veth     Path = "veth"     // three network namespaces joined by veth, GRO on
)

// vethFeatures are the offloads the harness sets on every veth device:
// GRO on, and TCP segmentation off, so that frames on the links are at
// most the MTU and GRO has them to coalesce.
var vethFeatures = map[string]string{"generic-receive-offload": "on", "tcp-segmentation-offload": "off"}

// VethTopology is the veth topology of a run: its namespaces, the MTU of
// its links, and what `ethtool -k` said of the offloads of vethFeatures
// on every device once set.
type VethTopology struct {
	Line     netns.Line
	MTU      int
	Features map[string]string // by ethtool's name of the feature
}

// place is where a measurement's programs run: the network namespace of
// the client, the proxy and the server (the harness's own if empty), and
// the addresses the server and the proxies listen on.
type place struct {
	path                  Path
	client, proxy, server string
	serverHost, proxyHost string
}

var onLoopback = place{path: Loopback, serverHost: "127.0.0.1", proxyHost: "127.0.0.1"}

func overVeth(l netns.Line) place {
	return place{path: Veth, client: l.Client, proxy: l.Proxy, server: l.Server,
		serverHost: netns.ServerAddr, proxyHost: netns.ProxyClientAddr}
}

// runs reports whether a configuration runs in the place: over veth,
// those that run a proxy between hosts and the direct route, not the
// bypass, which joins two sockets of one host.
func (pl place) runs(c Config) bool { return pl.path == Loopback || c.wrap == nil }

// countsGRO reports whether a measurement counts the frames the proxy
// received and the skbs its verdict program ran on: iperf3's bulk through
// the sockc proxy over veth.
func (pl place) countsGRO(c Config, test ToolTest) bool {
	return pl.path == Veth && c.Role == SockcProxy && test.Tool == "iperf3"
}

// framesIn is the frames the proxy namespace's device on the client link
// has received.
func (pl place) framesIn() (int64, error) {
	argv := []string{"ip", "-j", "-s", "-n", pl.proxy, "link", "show", "dev", netns.ProxyClientDev}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return 0, fmt.Errorf("count frames: %s: %w", strings.Join(argv, " "), err)
	}
	return parseRxPackets(out)
}

// parseRxPackets reads a device's received packets from `ip -j -s link
// show dev DEV`.
func parseRxPackets(b []byte) (int64, error) {
	var links []struct {
		Stats64 struct {
			Rx struct {
				Packets *int64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(b, &links); err != nil {
		return 0, fmt.Errorf("ip -j -s link: %w", err)
	}
	if len(links) != 1 || links[0].Stats64.Rx.Packets == nil {
		return 0, fmt.Errorf("ip -j -s link: no received packets of one device in %s", lastLine(b))
	}
	return *links[0].Stats64.Rx.Packets, nil
}

// countGRO stops the sockc proxy, which then prints its final statistics,
// and sets m's frames received since frames0 and skbs the verdict program
// ran on.
func (pl place) countGRO(peer *process, frames0 int64, m *ToolMeasurement) error {
	frames, err := pl.framesIn()
	if err != nil {
		return err
	}
	if err := peer.stop(); err != nil {
		return err
	}
	skbs, err := verdictRuns(peer.tail.String())
	if err != nil {
		return fmt.Errorf("%s: %w", peer.name, err)
	}
	m.Frames, m.Skbs = frames-frames0, skbs
	return nil
}

var proxiedCount = regexp.MustCompile(`(?m)^sockc: stats .*\bcount\.proxied=(\d+)\b`)

// verdictRuns reads the times the proxy's verdict program ran (its count
// proxied) from the last statistics line of sockc run's output.
func verdictRuns(out string) (int64, error) {
	ms := proxiedCount.FindAllStringSubmatch(out, -1)
	if len(ms) == 0 {
		return 0, fmt.Errorf("no statistics line with count.proxied in its output: %s", lastLine([]byte(out)))
	}
	return strconv.ParseInt(ms[len(ms)-1][1], 10, 64)
}

// vethPrefix names the namespaces of a run's Line, with the harness's
// process id.
const vethPrefix = "sockc-bench-"

var runLine = regexp.MustCompile(`^` + vethPrefix + `(\d+)-(client|proxy|server)$`)

// staleLines returns the namespaces of lines that an earlier run of the
// harness left, killed before it could remove them: those whose process
// is gone.
func staleLines(list string) []string {
	var stale []string
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if m := runLine.FindStringSubmatch(f[0]); m != nil {
			if _, err := os.Stat("/proc/" + m[1]); errors.Is(err, os.ErrNotExist) {
				stale = append(stale, f[0])
			}
		}
	}
	return stale
}

// removeStaleLines deletes the namespaces staleLines finds.
func removeStaleLines() error {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("veth: ip netns list: %w", err)
	}
	for _, ns := range staleLines(string(out)) {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			return fmt.Errorf("veth: remove %s, left by a killed run: %v: %s", ns, err, lastLine(out))
		}
	}
	return nil
}

// createVeth builds the line, sets the offloads of its veth devices and
// reads them back. On an error it removes the line.
func createVeth(ctx context.Context, l netns.Line) (_ *VethTopology, err error) {
	if err := removeStaleLines(); err != nil {
		return nil, err
	}
	if err := l.Create(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			l.Remove()
		}
	}()
	v := &VethTopology{Line: l, Features: map[string]string{}}
	for _, d := range l.Devices() {
		argv := netns.Enter(d.Netns, ethtoolSet(d.Name)...)
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("veth: %s: %v: %s", strings.Join(argv, " "), err, lastLine(out))
		}
		argv = netns.Enter(d.Netns, "ethtool", "-k", d.Name)
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
		if err != nil {
			return nil, fmt.Errorf("veth: %s: %w", strings.Join(argv, " "), err)
		}
		got := parseFeatures(out)
		for name, want := range vethFeatures {
			if got[name] != want {
				return nil, fmt.Errorf("veth: %s of %s in %s is %q after ethtool -K, want %s", name, d.Name, d.Netns, got[name], want)
			}
			v.Features[name] = got[name]
		}
	}
	if v.MTU, err = overVeth(l).mtu(); err != nil {
		return nil, err
	}
	return v, nil
}

// ethtoolSet is the ethtool command that sets a veth device's offloads.
func ethtoolSet(dev string) []string {
	return []string{"ethtool", "-K", dev, "gro", vethFeatures["generic-receive-offload"], "tso", vethFeatures["tcp-segmentation-offload"]}
}

// parseFeatures reads `ethtool -k`'s "name: on" lines ("[fixed]" and
// "[requested on]" dropped).
func parseFeatures(b []byte) map[string]string {
	fs := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		name, state, ok := strings.Cut(strings.TrimSpace(line), ":")
		if f := strings.Fields(state); ok && len(f) > 0 {
			fs[name] = f[0]
		}
	}
	return fs
}

// mtu is the MTU of the proxy's device on the client link.
func (pl place) mtu() (int, error) {
	out, err := exec.Command("ip", "-j", "-n", pl.proxy, "link", "show", "dev", netns.ProxyClientDev).Output()
	if err != nil {
		return 0, fmt.Errorf("veth: read the MTU: %w", err)
	}
	var links []struct {
		MTU int `json:"mtu"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("veth: read the MTU: %v: %s", err, lastLine(out))
	}
	return links[0].MTU, nil
}
