package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/netns"
)

func TestParseRxPackets(t *testing.T) {
	// ip -j -s link show dev to-client, iproute2 6.1, cut short.
	const out = `[{"ifindex":2,"link_index":2,"ifname":"to-client","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,` +
		`"stats64":{"rx":{"bytes":1350165232,"packets":904746,"errors":0,"dropped":0},"tx":{"bytes":1552656,"packets":29850,"errors":0}}}]`
	if n, err := parseRxPackets([]byte(out)); n != 904746 || err != nil {
		t.Errorf("parseRxPackets = %d, %v; want 904746", n, err)
	}
	for _, bad := range []string{`[]`, `[{"ifname":"x"}]`, `Device "x" does not exist.`} {
		if n, err := parseRxPackets([]byte(bad)); err == nil {
			t.Errorf("parseRxPackets(%s) = %d, want an error", bad, n)
		}
	}
}

func TestVerdictRuns(t *testing.T) {
	out := "sockc: proxy 10.77.1.2:40001 -> 10.77.2.2:5201\nsockc: ready\n" +
		"sockc: stats conns=2 conns.inserted=2 conns.redirected=10 conns.missed=0 count.proxied=10 proxied=1 active=1\n" +
		"sockc: stats conns=0 conns.inserted=2 conns.redirected=29842 conns.missed=0 sockc_peers_conns=0 count.proxied=29842 proxied=2 active=0 closed=2 relayed=0 failed=0 aborted=0\n"
	if n, err := verdictRuns(out); n != 29842 || err != nil {
		t.Errorf("verdictRuns = %d, %v; want the last line's 29842", n, err)
	}
	if _, err := verdictRuns("sockc: ready\nsockc: stats conns=0 proxied=2\n"); err == nil || !strings.Contains(err.Error(), "count.proxied") {
		t.Errorf("verdictRuns of a program without the counter: %v, want an error naming it", err)
	}
}

func TestParseFeatures(t *testing.T) {
	// ethtool -k to-client, ethtool 6.1, cut short.
	const out = "Features for to-client:\nrx-checksumming: on\ntcp-segmentation-offload: off\n" +
		"\ttx-tcp-segmentation: off\n\ttx-tcp-ecn-segmentation: off [requested on]\n" +
		"generic-receive-offload: on\nrx-gro-hw: off [fixed]\n"
	fs := parseFeatures([]byte(out))
	for name, want := range map[string]string{"generic-receive-offload": "on", "tcp-segmentation-offload": "off", "tx-tcp-ecn-segmentation": "off", "rx-gro-hw": "off"} {
		if fs[name] != want {
			t.Errorf("%s = %q, want %q", name, fs[name], want)
		}
	}
	if got := strings.Join(ethtoolSet("to-proxy"), " "); got != "ethtool -K to-proxy gro on tso off" {
		t.Errorf("ethtoolSet = %s", got)
	}
}

func TestListenLine(t *testing.T) {
	// /proc/net/tcp on a little-endian machine.
	const table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 ffff 100 0 0 10 0\n" +
		"   1: 02014D0A:9C41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 ffff 100 0 0 10 0\n" +
		"   2: 02014D0A:1F90 0101A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 ffff 100 0 0 10 0\n"
	for _, tt := range []struct {
		host string
		port int
		want bool
	}{
		{"127.0.0.1", 8080, true},
		{"10.77.1.2", 40001, true},
		{"10.77.1.2", 8080, false}, // established, not listening
		{"10.77.2.2", 40001, false},
	} {
		re, err := listenLine(tt.host, tt.port)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range strings.Split(table, "\n") {
			found = found || re.MatchString(l)
		}
		if found != tt.want {
			t.Errorf("%s:%d listening = %v, want %v", tt.host, tt.port, found, tt.want)
		}
	}
	if _, err := listenLine("::1", 80); err == nil {
		t.Error("listenLine of an IPv6 address succeeded")
	}
}

func TestStaleLines(t *testing.T) {
	// Process 1 runs; no process has an id this large.
	list := "sockc-bench-4194305-server\nsockc-bench-4194305-proxy (id: 3)\nsockc-bench-1-client\nsockc-bench-x-client\nother-4194305-proxy\n"
	if got := strings.Join(staleLines(list), " "); got != "sockc-bench-4194305-server sockc-bench-4194305-proxy" {
		t.Errorf("staleLines = %s", got)
	}
}

func TestToolTestNamed(t *testing.T) {
	if test, ok := ToolTestNamed("16 flows"); !ok || test.Tool != "iperf3" || strings.Join(test.Args, " ") != "-P 16" {
		t.Errorf("ToolTestNamed(16 flows) = %+v, %v", test, ok)
	}
	if test, ok := ToolTestNamed("ping-pong 16 KiB"); !ok || strings.Join(toolClient(test, "10.77.1.2", 9, 2), " ") != "sockperf pp --tcp -i 10.77.1.2 -p 9 -t 2 -m 16384" {
		t.Errorf("ToolTestNamed(ping-pong 16 KiB) = %+v, %v", test, ok)
	}
	if _, ok := ToolTestNamed("8 flows"); ok {
		t.Error("ToolTestNamed found a test that is not run")
	}
}

func TestPlaces(t *testing.T) {
	veth := overVeth(netns.NewLine("sb-1"))
	bypass, proxy := configsNamed(t, "sockc bypass")[0], configsNamed(t, "sockc proxy")[0]
	direct, haproxy := configsNamed(t, "direct")[0], configsNamed(t, "haproxy")[0]
	if !onLoopback.runs(bypass) || veth.runs(bypass) || !veth.runs(direct) || !veth.runs(haproxy) {
		t.Error("over veth, every configuration but the bypass runs; on loopback, all")
	}
	tests := ToolTests()
	iperf3, sockperf := tests[0], tests[len(tests)-1]
	if !veth.countsGRO(proxy, iperf3) || veth.countsGRO(proxy, sockperf) || veth.countsGRO(haproxy, iperf3) || onLoopback.countsGRO(proxy, iperf3) {
		t.Error("GRO is counted for iperf3 through the sockc proxy over veth only")
	}
	if veth.serverHost != netns.ServerAddr || veth.proxyHost != netns.ProxyClientAddr || veth.proxy != "sb-1-proxy" {
		t.Errorf("overVeth = %+v", veth)
	}
	env := Env{Netns: veth.proxy, Host: veth.proxyHost}
	if got := strings.Join(env.command("haproxy", "-db"), " "); got != "nsenter --net=/run/netns/sb-1-proxy -- haproxy -db" || env.host() != "10.77.1.2" {
		t.Errorf("env.command = %s, host %s", got, env.host())
	}
	if empty := (&Env{}); empty.host() != "127.0.0.1" || len(empty.command("x")) != 1 {
		t.Error("an empty Env runs peers here, on 127.0.0.1")
	}
}

// TestVethDirect builds the veth topology, runs iperf3 direct across it
// for a second, and checks that GRO is on, that the client's bytes went
// through the proxy namespace, and that nothing of the topology is left.
func TestVethDirect(t *testing.T) {
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root (ip netns) and a second of iperf3")
	}
	for _, p := range []string{"iperf3", "ip", "nsenter", "ethtool"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("no %s", p)
		}
	}
	line := netns.NewLine(fmt.Sprintf("%s%d", vethPrefix, os.Getpid()))
	v, err := createVeth(context.Background(), line)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := line.Remove(); err != nil {
			t.Error(err)
		}
		for _, ns := range []string{line.Client, line.Proxy, line.Server} {
			if netns.Exists(ns) {
				t.Errorf("namespace %s is left", ns)
			}
		}
	}()
	if v.Features["generic-receive-offload"] != "on" || v.MTU != 1500 {
		t.Errorf("veth topology %+v: want GRO on, MTU 1500", v)
	}
	pl := overVeth(line)
	before, err := pl.framesIn()
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{Env: Env{TempDir: t.TempDir()}}
	m := o.measureTool(context.Background(), configsNamed(t, "direct")[0], ToolTests()[0], 1, pl)
	if m.Err != "" || m.Gbits <= 0 || m.Sent <= 0 {
		t.Fatalf("iperf3 over veth: %+v", m)
	}
	after, err := pl.framesIn()
	if err != nil {
		t.Fatal(err)
	}
	// Frames of at most the MTU: at least one per 1500 bytes sent.
	if after-before < m.Sent/1500 {
		t.Errorf("the proxy namespace received %d frames for %d bytes: not routed through it in MTU-sized frames", after-before, m.Sent)
	}
	t.Logf("%.1f Gbit/s, %d frames for %d bytes", m.Gbits, after-before, m.Sent)
}
