package runtime_test

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
)

// The proxy and the echo over IPv6. The programs key sockets by cookie,
// so the kernel path must not care about the family: an IPv6 client,
// an IPv6 upstream, either mixed with IPv4, and dual-stack sockets (an
// IPv4 client of a listener on [::] is an AF_INET6 socket with an
// IPv4-mapped address) all pair in the kernel like IPv4 ones.

// ipv6Route is one way through a proxy or echo, by address family.
type ipv6Route struct {
	name    string
	example string // in ../examples: proxy.sock (map conns) or echo.sock (map echo_socks)
	listen  string // the proxy's listen address
	// upListen is where the echo upstream listens, and upHost the host
	// the proxy dials its port on; upListen "" pairs each client with
	// itself.
	upListen, upHost string
	clients          []string // the hosts that clients dial the proxy's port on
}

// loadExample loads ../examples/name into a Runtime closed when the test
// ends.
func loadExample(t *testing.T, name string) *runtime.Runtime {
	t.Helper()
	src, err := os.ReadFile("../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return load(t, name, string(src))
}

// TestProxyIPv6: 4 MiB from each client, through each route, every byte
// checked on its way back; each pair must be in the kernel's map while
// its client is connected, and none relayed in user space.
func TestProxyIPv6(t *testing.T) {
	kerneltest.RequireIPv6(t)
	both := []string{"127.0.0.1", "::1"}
	routes := []ipv6Route{
		{name: "IPv6 to IPv6", example: "proxy.sock", listen: "[::1]:0", upListen: "[::1]:0", upHost: "::1", clients: []string{"::1"}},
		{name: "IPv4 to IPv6", example: "proxy.sock", listen: "127.0.0.1:0", upListen: "[::1]:0", upHost: "::1", clients: []string{"127.0.0.1"}},
		{name: "IPv6 to IPv4", example: "proxy.sock", listen: "[::1]:0", upListen: "127.0.0.1:0", upHost: "127.0.0.1", clients: []string{"::1"}},
		{name: "dual-stack listener, no host", example: "proxy.sock", listen: ":0", upListen: "127.0.0.1:0", upHost: "127.0.0.1", clients: both},
		{name: "dual-stack listener on [::]", example: "proxy.sock", listen: "[::]:0", upListen: "[::1]:0", upHost: "::1", clients: both},
		{name: "dual-stack upstream via IPv4", example: "proxy.sock", listen: "127.0.0.1:0", upListen: "[::]:0", upHost: "127.0.0.1", clients: []string{"127.0.0.1"}},
		{name: "echo on IPv6", example: "echo.sock", listen: "[::1]:0", clients: []string{"::1"}},
		{name: "echo dual-stack", example: "echo.sock", listen: "[::]:0", clients: both},
	}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) { r.check(t) })
	}
}

// check serves the route and sends 4 MiB from each of 3 clients per
// client host through it.
func (r ipv6Route) check(t *testing.T) {
	rt := loadExample(t, r.example)
	mapName, socketsPerClient := "conns", 2
	if r.example == "echo.sock" {
		mapName, socketsPerClient = "echo_socks", 1
	}
	var upstream string
	if r.upListen != "" {
		_, port, err := net.SplitHostPort(echoServerAt(t, r.upListen))
		if err != nil {
			t.Fatal(err)
		}
		upstream = net.JoinHostPort(r.upHost, port)
	}
	p, addr := serveProxyOn(t, rt, mapName, upstream, listenAt(t, r.listen))
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}

	const perHost, size = 3, 4 << 20
	var conns []net.Conn
	for _, host := range r.clients {
		for range perHost {
			c, err := net.Dial("tcp", net.JoinHostPort(host, port))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			conns = append(conns, c)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, c := range conns {
		wg.Go(func() { errs[i] = roundTrip(c, size) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client %s: %v", conns[i].LocalAddr(), err)
		}
	}

	// The bytes came back and the proxy never reads a paired socket:
	// the kernel moved them, as the map and the counts confirm.
	m, err := rt.Map(mapName)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m.Len(); err != nil || n != len(conns)*socketsPerClient {
		t.Errorf("map %s holds %d sockets (%v), want %d: not every connection was paired in the kernel", mapName, n, err, len(conns)*socketsPerClient)
	}
	if st := p.Stats(); st.Accepted != int64(len(conns)) || st.FailedDials != 0 || st.Relayed != 0 {
		t.Errorf("stats %+v, want %d accepted, none failed or relayed", st, len(conns))
	}
	if r.example == "proxy.sock" {
		if ctr, err := rt.Counters(); err != nil || ctr["proxied"] == 0 {
			t.Errorf("counter proxied = %d (%v), want > 0: the verdict program did not run", ctr["proxied"], err)
		}
	}
}

// TestProxyIPv6UpstreamRefused: nothing listens at the [::1] upstream;
// an IPv6 client must get a reset, never a clean end of stream.
func TestProxyIPv6UpstreamRefused(t *testing.T) {
	kerneltest.RequireIPv6(t)
	dead := listenAt(t, "[::1]:0")
	up := dead.Addr().String()
	dead.Close()
	rt := loadExample(t, "proxy.sock")
	p, addr := serveProxyOn(t, rt, "conns", up, listenAt(t, "[::1]:0"))
	if err := kerneltest.DialExpectingReset(addr); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.FailedDials != 1 {
		t.Errorf("failed dials = %d, want 1", st.FailedDials)
	}
}

// TestProxyIPv6UnbracketedUpstream: an IPv6 upstream without brackets
// (::1:80) is not an address Dial takes; Serve refuses it at once instead
// of resetting every client.
func TestProxyIPv6UnbracketedUpstream(t *testing.T) {
	rt := loadExample(t, "proxy.sock")
	m, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Proxy{Map: m, Upstream: "::1:80"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = p.Serve(ctx, listen(t))
	if err == nil || !strings.Contains(err.Error(), "upstream") || !strings.Contains(err.Error(), "::1:80") {
		t.Fatalf("Serve: %v; want an error naming the upstream ::1:80", err)
	}
	if st := p.Stats(); st.Accepted != 0 {
		t.Errorf("stats %+v: Serve accepted clients with an upstream it cannot dial", st)
	}
}
