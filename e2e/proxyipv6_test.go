package e2e

import (
	"net"
	"regexp"
	"sync"
	"testing"

	"github.com/sockc/sockc/internal/kerneltest"
)

// sockc run --proxy and --accept over IPv6: bracketed addresses on both
// sides of L=U, the two families mixed, and dual-stack listeners, both
// sockc's own and the upstream's.

// runRoute is one `sockc run` of an example with one --proxy or --accept.
type runRoute struct {
	name    string
	example string // examples/proxy.sock (--proxy) or examples/echo.sock (--accept)
	listen  string // L of --proxy L=U, or ADDR of --accept
	// upListen is where the echo upstream listens, and upHost the host
	// of U (with the upstream's port); upListen "" means --accept.
	upListen, upHost string
	clients          []string // the hosts that clients dial sockc's port on
}

// TestRunProxyIPv6: through each route, 3 clients per client host send
// 4 MiB each and read it back, every byte checked; sockc's own read and
// write counts show that it copied none of it (the kernel did), its final
// stats that every client was paired (none failed or relayed); its maps
// are gone once it exits.
func TestRunProxyIPv6(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.RequireIPv6(t)
	both := []string{"127.0.0.1", "::1"}
	routes := []runRoute{
		{name: "[::1] to [::1]", example: "proxy.sock", listen: "[::1]:0", upListen: "[::1]:0", upHost: "::1", clients: []string{"::1"}},
		{name: "IPv4 to [::1]", example: "proxy.sock", listen: "127.0.0.1:0", upListen: "[::1]:0", upHost: "::1", clients: []string{"127.0.0.1"}},
		{name: "[::1] to IPv4", example: "proxy.sock", listen: "[::1]:0", upListen: "127.0.0.1:0", upHost: "127.0.0.1", clients: []string{"::1"}},
		{name: "dual-stack :L", example: "proxy.sock", listen: ":0", upListen: "127.0.0.1:0", upHost: "127.0.0.1", clients: both},
		{name: "dual-stack [::]:L", example: "proxy.sock", listen: "[::]:0", upListen: "127.0.0.1:0", upHost: "127.0.0.1", clients: both},
		{name: "upstream on [::] via IPv4", example: "proxy.sock", listen: "127.0.0.1:0", upListen: "[::]:0", upHost: "127.0.0.1", clients: []string{"127.0.0.1"}},
		{name: "accept [::1]", example: "echo.sock", listen: "[::1]:0", clients: []string{"::1"}},
		{name: "accept dual-stack [::]", example: "echo.sock", listen: "[::]:0", clients: both},
	}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) { r.check(t) })
	}
}

// check runs sockc for the route and sends the clients' bytes through it.
func (r runRoute) check(t *testing.T) {
	maps, stats := []string{"conns", "sockc_counters"}, "count.proxied"
	if r.example == "echo.sock" {
		maps, stats = []string{"echo_socks"}, "" // echo.sock counts nothing
	}
	base := kerneltest.Snapshot(t, maps...)
	args := []string{"run", "../examples/" + r.example, "--stats", "1h"} // --stats 1h: only the final line, at exit
	line := `^sockc: accepting on (\S+)$`
	if r.upListen != "" {
		_, port, err := net.SplitHostPort(echoUpstreamAt(t, r.upListen))
		if err != nil {
			t.Fatal(err)
		}
		upstream := net.JoinHostPort(r.upHost, port)
		args = append(args, "--proxy", r.listen+"="+upstream)
		line = `^sockc: proxy (\S+) -> ` + regexp.QuoteMeta(upstream) + `$`
	} else {
		args = append(args, "--accept", r.listen)
	}
	s := start(t, args...)
	_, port, err := net.SplitHostPort(s.addr(t, line))
	if err != nil {
		t.Fatal(err)
	}

	pid := s.cmd.Process.Pid
	rBefore, wBefore := procIO(t, pid)
	const perHost, size = 3, 4 << 20
	var wg sync.WaitGroup
	var clients []string
	for _, host := range r.clients {
		for range perHost {
			clients = append(clients, net.JoinHostPort(host, port))
		}
	}
	errs := make([]error, len(clients))
	for i, addr := range clients {
		wg.Go(func() { errs[i] = exchange(addr, size) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client of %s: %v", clients[i], err)
		}
	}
	rAfter, wAfter := procIO(t, pid)
	moved := int64(len(clients)) * size * 2 // both ways
	if rAfter-rBefore > 1<<20 || wAfter-wBefore > 1<<20 {
		t.Errorf("sockc read %d and wrote %d bytes while %d went through it: it copied payload", rAfter-rBefore, wAfter-wBefore, moved)
	}

	if err := s.stop(t); err != nil {
		t.Fatalf("sockc exit: %v\n%s", err, s.stderr)
	}
	st := lastStats(t, s.stderr)
	if st["proxied"] != int64(len(clients)) || st["failed"] != 0 || st["relayed"] != 0 || st["active"] != 0 {
		t.Errorf("final stats %v: want proxied=%d, failed=0, relayed=0, active=0", st, len(clients))
	}
	if stats != "" && st[stats] == 0 {
		t.Errorf("final stats %v: %s=0, the verdict program never ran", st, stats)
	}
	base.AwaitGone(t)
}

// TestRunProxyIPv6UpstreamRefused: nothing listens at the [::1]
// upstream; an IPv6 client gets a reset, never a clean end of stream, and
// sockc counts the failed dial.
func TestRunProxyIPv6UpstreamRefused(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.RequireIPv6(t)
	base := kerneltest.Snapshot(t, "conns", "sockc_counters")
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	s := start(t, "run", "../examples/proxy.sock", "--proxy", "[::1]:0="+dead, "--stats", "1h")
	addr := s.addr(t, `^sockc: proxy (\S+) -> `)
	if err := kerneltest.DialExpectingReset(addr); err != nil {
		t.Fatal(err)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("sockc exit: %v\n%s", err, s.stderr)
	}
	if st := lastStats(t, s.stderr); st["proxied"] != 1 || st["failed"] != 1 || st["active"] != 0 {
		t.Errorf("final stats %v: want proxied=1, failed=1, active=0", st)
	}
	base.AwaitGone(t)
}
