package runtime_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockc/sockc/runtime"
)

// A stopping proxy: a client must never take a cut stream for a whole one.
// Connections that end within the drain end as they would have; those
// still open after it are reset, both sides, relayed ones included.

// drainProxy serves examples/proxy.sock to upstream with the given drain
// and returns the proxy; stop, which cancels Serve's context and returns
// Serve's error once it has returned; and a channel that receives once
// for each pair made.
func drainProxy(t *testing.T, upstream string, drain time.Duration, ln *net.TCPListener) (*runtime.Proxy, func() error, <-chan struct{}) {
	t.Helper()
	rt := load(t, "proxy.sock", proxySource(t))
	m, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	paired := make(chan struct{}, 64)
	logf := func(format string, args ...any) {
		t.Logf(format, args...)
		if strings.HasSuffix(format, "paired in the kernel") {
			select {
			case paired <- struct{}{}:
			default: // more pairs than any test waits for
			}
		}
	}
	p := &runtime.Proxy{Map: m, Upstream: upstream, Drain: drain, DialTimeout: time.Minute, Logf: logf}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(30 * time.Second):
				serveErr = errors.New("Serve still running 30s after its context ended")
			}
		})
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return p, stop, paired
}

// isReset reports whether err is the error of a reset connection.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// TestProxyDrainCompletes: connections in the middle of a transfer when
// Serve's context ends run to their end within the drain, every byte
// checked; the listener takes no new client meanwhile.
func TestProxyDrainCompletes(t *testing.T) {
	ln := listen(t)
	p, stop, _ := drainProxy(t, echoServer(t), time.Minute, ln)
	// Sized for qemu without KVM too, where the kernel matrix runs it:
	// 8 echoes of 16 MiB made one client wait over 10 s for its first
	// byte there.
	const clients, size = 8, 4 << 20
	started := make(chan struct{}, clients)
	errs := make(chan error, clients)
	for range clients {
		go func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				started <- struct{}{}
				errs <- err
				return
			}
			defer c.Close()
			// One byte back proves the pair works before the stop.
			c.Write([]byte{1})
			var b [1]byte
			c.SetReadDeadline(time.Now().Add(time.Minute))
			_, err = io.ReadFull(c, b[:])
			started <- struct{}{}
			if err != nil {
				errs <- err
				return
			}
			errs <- roundTrip(c, size)
		}()
	}
	for range clients {
		<-started
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Errorf("a client stopped mid-transfer: %v", err)
		}
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the listener still accepts after Serve returned")
	}
	if st := p.Stats(); st.Aborted != 0 || st.Active != 0 {
		t.Errorf("stats %+v: want no connection aborted, none active", st)
	}
}

// TestProxyDrainExpiresResets: an upstream that never reads holds its
// pair open past the drain; both the client and the upstream must then
// see a reset, not a FIN, and Serve must return.
func TestProxyDrainExpiresResets(t *testing.T) {
	upLn := listen(t)
	accepted := make(chan struct{})
	upErrs := make(chan error, 1)
	go func() {
		c, err := upLn.Accept()
		close(accepted)
		if err != nil {
			upErrs <- err
			return
		}
		defer c.Close()
		// Nothing is read until the proxy has given up on the pair:
		// the reads below block until the stream ends, and tell how.
		_, err = io.Copy(io.Discard, c)
		upErrs <- err
	}()
	ln := listen(t)
	p, stop, paired := drainProxy(t, upLn.Addr().String(), 200*time.Millisecond, ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	<-accepted
	<-paired
	stopExpectingReset(t, stop, c)
	if err := <-upErrs; !isReset(err) {
		t.Errorf("upstream read after the drain: %v; want a reset", err)
	}
	if st := p.Stats(); st.Aborted != 1 || st.Active != 0 {
		t.Errorf("stats %+v: want 1 connection aborted, none active", st)
	}
}

// TestProxyDrainResetsRelays: a client that wrote and half-closed before
// Serve accepted it is relayed in user space. Its upstream reads the
// request, answers part of the reply and holds the connection open past
// the drain: the client must get the part, then a reset, not a FIN.
func TestProxyDrainResetsRelays(t *testing.T) {
	upLn := listen(t)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	serveEach(upLn, func(c net.Conn) {
		io.Copy(io.Discard, c) // "early", then the relayed FIN
		c.Write([]byte("partial"))
		<-hold // the rest of the reply never comes
	})
	ln := listen(t)
	// Connected, written and half-closed before Serve runs: the kernel
	// then refuses the socket in the map, so the proxy relays it.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("early"))
	c.(*net.TCPConn).CloseWrite()
	p, stop, _ := drainProxy(t, upLn.Addr().String(), 200*time.Millisecond, ln)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len("partial"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "partial" {
		t.Fatalf("client read %q, %v; want the upstream's partial reply", got, err)
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Serve took %v to return after a 200ms drain: it waited for the relay", d)
	}
	if _, err := c.Read(make([]byte, 1)); !isReset(err) {
		t.Errorf("client read after the drain: %v; want a reset", err)
	}
	if st := p.Stats(); st.Relayed != 1 || st.Aborted != 1 || st.Active != 0 {
		t.Errorf("stats %+v: want 1 relayed, 1 aborted, none active", st)
	}
}

// TestProxyStopResetsAtOnce: with no drain, a stop resets an open pair at
// once; its client must not see a FIN.
func TestProxyStopResetsAtOnce(t *testing.T) {
	upLn := listen(t)
	accepted := make(chan struct{})
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	serveEach(upLn, func(c net.Conn) {
		close(accepted)
		// Neither read nor close: a close would end the pair before
		// the stop (with a FIN, if it came before any byte did, and
		// the client would rightly see EOF; so it went on 5.10 under
		// qemu).
		<-hold
	})
	ln := listen(t)
	p, stop, paired := drainProxy(t, upLn.Addr().String(), 0, ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, 1<<20))
	<-accepted
	<-paired
	stopExpectingReset(t, stop, c)
	if st := p.Stats(); st.Aborted != 1 {
		t.Errorf("stats %+v: want 1 connection aborted", st)
	}
}

// stopExpectingReset stops the proxy, and wants its client c reset.
func stopExpectingReset(t *testing.T, stop func() error, c net.Conn) {
	t.Helper()
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !isReset(err) {
		t.Errorf("client read after the stop: %v; want a reset", err)
	}
}

// proxySource is examples/proxy.sock.
func proxySource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../examples/proxy.sock")
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}
