package runtime_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockc/sockc/runtime"
)

// halfCloseRoundTrip writes size random bytes on c and shuts down its
// writing side, while it reads the echo back: every byte, in order, then
// EOF.
func halfCloseRoundTrip(c *net.TCPConn, size int) error {
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	want := sha256.Sum256(data)
	errc := make(chan error, 1)
	go func() {
		for off := 0; off < size; off += 64 << 10 {
			if _, err := c.Write(data[off:min(off+64<<10, size)]); err != nil {
				errc <- fmt.Errorf("write: %w", err)
				return
			}
		}
		errc <- c.CloseWrite()
	}()
	h := sha256.New()
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	n, err := io.Copy(h, c)
	if err != nil {
		return fmt.Errorf("read %d of %d bytes back: %w", n, size, err)
	}
	if n != int64(size) {
		return fmt.Errorf("read %d of %d bytes back, then EOF", n, size)
	}
	if err := <-errc; err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), want[:]) {
		return errors.New("echoed bytes differ from the bytes sent")
	}
	return nil
}

// TestProxyHalfCloseLateBytes is issue 14's half-close race, forced.
// Clients that write and half-close under load through a proxy with the
// kernel's autotuned send buffers: the kernel's backlog for the upstream
// sometimes sits idle with bytes in it while the upstream's send queue
// is empty (over a second, in 1 run in 4 of e2e's 64 clients x 8 MiB).
// The proxy used to take bytes that made no progress for a second for
// lost, and reset both sides (before that, it forwarded the FIN: a cut
// stream passed off as whole). The proxy here gives up on bytes after 1 ms
// instead of 1 s, so that every idle moment of the backlog would count:
// with the old rule, a round of 16 clients of 4 MiB saw resets in 4 runs
// of 5 (clients reset after 113,152 bytes, as in the issue), so the test
// runs three rounds. A
// metered map (examples/proxy.sock) must make the proxy wait for bytes
// the program redirected, however late, and every client must get its
// whole echo and then EOF.
func TestProxyHalfCloseLateBytes(t *testing.T) {
	rt := loadProxyExample(t)
	m, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Metered() {
		t.Fatal("examples/proxy.sock: map conns not metered")
	}
	var logMu sync.Mutex
	var log strings.Builder
	p := &runtime.Proxy{Map: m, Upstream: echoServer(t), DialTimeout: time.Minute, SendBuffer: -1,
		Logf: func(format string, args ...any) {
			logMu.Lock()
			fmt.Fprintf(&log, format+"\n", args...)
			logMu.Unlock()
		}}
	p.SetFINWait(time.Millisecond)
	addr := serve(t, p, listen(t))

	const rounds, clients, size = 3, 16, 4 << 20
	for round := 0; round < rounds; round++ {
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
				errs <- halfCloseRoundTrip(c.(*net.TCPConn), size)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(log.String(), "resetting") {
		t.Errorf("the proxy reset connections whose bytes were on their way:\n%s", log.String())
	}
}

// TestProxyLostBeforeFIN: bytes the program drops before a FIN never
// arrive, and the program's count says so: the proxy resets both sides
// (the client must see a reset, not a clean end of stream) and names
// the bytes lost.
func TestProxyLostBeforeFIN(t *testing.T) {
	rt := load(t, "dropfive.sock", `sockhash conns: key u64, max 64

on stream verdict to conns:
    if size == 5:
        drop
    redirect peer
`)
	m, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var log strings.Builder
	p := &runtime.Proxy{Map: m, Upstream: echoServer(t), DialTimeout: time.Minute,
		Logf: func(format string, args ...any) {
			logMu.Lock()
			fmt.Fprintf(&log, format+"\n", args...)
			logMu.Unlock()
		}}
	addr := serve(t, p, listen(t))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Paired before the bytes arrive, so that the program sees them.
	// (Stats counts a connection active once it is paired.)
	for deadline := time.Now().Add(30 * time.Second); p.Stats().Active == 0; {
		if time.Now().After(deadline) {
			t.Fatal("not paired in 30s")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client read %q, %v; want a reset", got, err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if want := "the program forwarded 0 of the 5 bytes before the FIN"; !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}
}
