package runtime_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sockc/sockc/runtime"
)

// startProxy loads examples/proxy.sock and serves an in-kernel proxy to
// upstream on a loopback port; it stops when the test ends.
func startProxy(t *testing.T, upstream string) (*runtime.Runtime, *runtime.Proxy, string) {
	t.Helper()
	src, err := os.ReadFile("../examples/proxy.sock")
	if err != nil {
		t.Fatal(err)
	}
	rt := load(t, "proxy.sock", string(src))
	m, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Proxy{Map: m, Upstream: upstream, Logf: t.Logf}
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
	})
	return rt, p, ln.Addr().String()
}

func TestProxyRoundTrip(t *testing.T) {
	rt, p, addr := startProxy(t, echoServer(t))
	const clients, size = 16, 4 << 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			errs <- roundTrip(c, size)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	ctr, err := rt.Counters()
	if err != nil || ctr["proxied"] == 0 {
		t.Errorf("counter proxied = %d (%v), want > 0: the verdict program did not run", ctr["proxied"], err)
	}
	if st := p.Stats(); st.Accepted != clients || st.FailedDials != 0 {
		t.Errorf("stats %+v, want %d accepted, no failed dials", st, clients)
	}
}

// TestProxyHalfClose: the client sends, then shuts down its writing side;
// the upstream echo sees EOF only after every byte, answers and closes,
// and the client reads every byte and then EOF.
func TestProxyHalfClose(t *testing.T) {
	_, _, addr := startProxy(t, echoServer(t))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (after %d bytes)", err, len(got))
	}
	if len(got) != len(data) {
		t.Fatalf("got %d bytes then EOF, want %d", len(got), len(data))
	}
	for i := range got {
		if got[i] != data[i] {
			t.Fatalf("byte %d differs", i)
		}
	}
}

// TestProxyUpstreamDown: with nothing listening upstream, the client is
// closed cleanly (EOF, not a hang).
func TestProxyUpstreamDown(t *testing.T) {
	dead := listen(t)
	addr := dead.Addr().String()
	dead.Close()
	_, p, paddr := startProxy(t, addr)
	c, err := net.Dial("tcp", paddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read = %d, %v; want EOF", n, err)
	}
	if st := p.Stats(); st.FailedDials != 1 {
		t.Errorf("failed dials = %d, want 1", st.FailedDials)
	}
}
