package runtime_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/lang/keys"
	"github.com/sockc/sockc/runtime"
	"github.com/sockc/sockc/runtime/features"
)

// patternWriter writes byte i of a stream as byte(i % 251), counting what
// the kernel took, until stop is closed and limit is reached (limit 0:
// only the count matters until then). Then it half-closes.
type patternWriter struct {
	written atomic.Int64
	limit   atomic.Int64 // 0: no limit yet
	done    chan error
}

func writePattern(c *net.TCPConn) *patternWriter {
	w := &patternWriter{done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 64<<10)
		var off int64
		for {
			n := int64(len(buf))
			if l := w.limit.Load(); l > 0 {
				if off >= l {
					w.done <- c.CloseWrite()
					return
				}
				n = min(n, l-off)
			}
			for i := range buf[:n] {
				buf[i] = byte((off + int64(i)) % 251)
			}
			m, err := c.Write(buf[:n])
			off += int64(m)
			w.written.Store(off)
			if err != nil {
				w.done <- err
				return
			}
		}
	}()
	return w
}

// readPattern reads c to its end and checks every byte against the
// pattern of writePattern.
func readPattern(c net.Conn) (int64, error) {
	buf := make([]byte, 256<<10)
	var off int64
	for {
		n, err := c.Read(buf)
		for i, b := range buf[:n] {
			if want := byte((off + int64(i)) % 251); b != want {
				return off + int64(i), fmt.Errorf("byte %d is %d, want %d", off+int64(i), b, want)
			}
		}
		off += int64(n)
		if errors.Is(err, io.EOF) {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

// TestProxyStalledUpstreamBounded: an upstream that stops reading makes
// the client's writes stop too, as a proxy in user space would, instead
// of letting the kernel queue whatever the client sends (1.5 GB in 3 s
// before flow control). When the upstream reads again, every byte
// arrives, in order, and the stream ends where the client ended it.
func TestProxyStalledUpstreamBounded(t *testing.T) {
	requireSafeFlowControl(t)
	up := listen(t)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := up.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	m, err := loadProxyExample(t).Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Proxy{Map: m, Upstream: up.Addr().String(), DialTimeout: time.Minute, FlowControl: true, Logf: t.Logf}
	addr := serve(t, p, listen(t))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var server net.Conn
	select {
	case server = <-accepted:
	case <-time.After(time.Minute):
		t.Fatal("the upstream was never dialed")
	}
	defer server.Close()
	w := writePattern(c.(*net.TCPConn))

	// The bound: the proxy's send buffer to the upstream (2 x 8 MiB),
	// the upstream's receive buffer, the largest window of the flow
	// control (64 MiB) and the client's own send buffer, with room.
	const bound = 160 << 20
	still, last := time.Time{}, int64(-1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := w.written.Load()
		if n > bound {
			t.Fatalf("the client wrote %d MiB to an upstream that reads nothing; want at most %d MiB", n>>20, bound>>20)
		}
		if n != last {
			still, last = time.Now(), n
		} else if time.Since(still) > time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client's writes never stopped (%d MiB)", n>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the client stopped after %.1f MiB", float64(last)/(1<<20))
	if got := p.Stats().Held; got < 1 {
		t.Errorf("ProxyStats.Held = %d, want at least 1", got)
	}

	// The upstream reads again: the rest flows, and it is all there.
	total := last + 64<<20
	w.limit.Store(total)
	got, err := readPattern(server)
	if err != nil {
		t.Fatalf("after %d of %d bytes: %v", got, total, err)
	}
	if got != total {
		t.Fatalf("the upstream got %d bytes, want %d", got, total)
	}
	if err := <-w.done; err != nil {
		t.Fatalf("client: %v", err)
	}
}

// TestProxyStalledMemory measures what the kernel holds for clients
// whose upstream reads nothing, once their writes have stopped: every
// byte a client's TCP handed over (written, less its own send queue) is
// in the upstream's receive queue, the proxy's send queue, a psock
// backlog or the proxy's receive queue. One stalled connection held
// 1.5 GB after 3 s before flow control, and kept growing; now each
// holds at most the window (16 MiB while the upstream takes nothing),
// the send buffer and the two receive buffers. docs/reliability.md has
// the figures; SOCKC_STALLED_CONNS=100 adds its 100.
func TestProxyStalledMemory(t *testing.T) {
	requireSafeFlowControl(t)
	counts := []int{1, 10}
	if v, err := strconv.Atoi(os.Getenv("SOCKC_STALLED_CONNS")); err == nil && v > 0 {
		// docs/reliability.md's 100: too much memory for CI's guests.
		counts = append(counts, v)
	}
	for _, n := range counts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rt := loadProxyExample(t)
			up := listen(t)
			var servers []net.Conn
			var mu sync.Mutex
			go func() {
				for {
					c, err := up.Accept()
					if err != nil {
						return
					}
					mu.Lock()
					servers = append(servers, c)
					mu.Unlock()
				}
			}()
			t.Cleanup(func() {
				mu.Lock()
				defer mu.Unlock()
				for _, c := range servers {
					c.Close()
				}
			})
			m, err := rt.Map("conns")
			if err != nil {
				t.Fatal(err)
			}
			p := &runtime.Proxy{Map: m, Upstream: up.Addr().String(), DialTimeout: time.Minute, SendBuffer: 1 << 20, FlowControl: true}
			addr := serve(t, p, listen(t))

			var writers []*patternWriter
			var clients []*net.TCPConn
			for range n {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clients = append(clients, c.(*net.TCPConn))
				writers = append(writers, writePattern(c.(*net.TCPConn)))
			}
			perConn := int64(16<<20 + 2<<20 + 2*32<<20) // window, send buffer, two receive buffers at most
			total := func() (held int64) {
				for i, w := range writers {
					held += w.written.Load() - int64(sendQueued(t, clients[i]))
				}
				return held
			}
			still, last := time.Time{}, int64(-1)
			deadline := time.Now().Add(time.Minute / 3)
			for {
				h := total()
				if h > int64(n)*perConn {
					t.Fatalf("%d stalled connections: the kernel holds %d MiB, want at most %d MiB", n, h>>20, int64(n)*perConn>>20)
				}
				if h != last {
					still, last = time.Now(), h
				} else if time.Since(still) > time.Second {
					break
				}
				if time.Now().After(deadline) {
					// 100 writers on two CPUs may each still creep;
					// the bound above is what matters.
					t.Logf("some writes still move after %v", time.Minute/3)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%d stalled connections: the kernel holds %.1f MiB, %.1f MiB each", n, float64(last)/(1<<20), float64(last)/float64(n)/(1<<20))
			for _, c := range clients {
				c.SetLinger(0)
				c.Close()
			}
		})
	}
}

// sendQueued is SIOCOUTQ: the bytes in c's send queue.
func sendQueued(t *testing.T, c *net.TCPConn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	raw.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProxyFlowControlNeedsMeteredMap: Serve refuses FlowControl over a
// map the program does not meter, instead of proxying without a bound.
func TestProxyFlowControlNeedsMeteredMap(t *testing.T) {
	rt := loadProxyExample(t)
	metered, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	if !metered.Metered() {
		t.Fatal("map conns of examples/proxy.sock: Metered() = false, want true")
	}
	plain, err := runtime.NewMap("plain", ebpf.SockHash, keys.ScalarU64(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if plain.Metered() {
		t.Fatal("a map of no program: Metered() = true, want false")
	}
	p := &runtime.Proxy{Map: plain, Upstream: "127.0.0.1:1", FlowControl: true}
	err = p.Serve(t.Context(), listen(t))
	if err == nil || !strings.Contains(err.Error(), "does not meter map plain") {
		t.Fatalf("Serve with FlowControl over an unmetered map: %v, want a refusal", err)
	}
}

// requireSafeFlowControl skips a test of flow control on a kernel where
// the proxy refuses it (runtime.CheckFlowControl), after the kernel
// tests' own requirements.
func requireSafeFlowControl(t *testing.T) {
	t.Helper()
	kerneltest.Require(t)
	k, err := features.Running()
	if err != nil {
		t.Fatal(err)
	}
	if features.HasUnlockedPsockTeardown(k) {
		t.Skipf("Linux %s: the proxy refuses flow control here (TestProxyFlowControlRefusedOnOldKernel checks it)", k.Version.Short())
	}
}

// TestProxyFlowControlRefusedOnOldKernel: on a kernel that tears a
// psock down without the lock of its queues (5.10), Serve refuses
// FlowControl with the reason, before it takes a client.
func TestProxyFlowControlRefusedOnOldKernel(t *testing.T) {
	rt := loadProxyExample(t)
	k, err := features.Running()
	if err != nil {
		t.Fatal(err)
	}
	if !features.HasUnlockedPsockTeardown(k) {
		t.Skipf("Linux %s tears psocks down under their lock: flow control is allowed, and the other flow-control tests run", k.Version.Short())
	}
	m, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	p := &runtime.Proxy{Map: m, Upstream: "127.0.0.1:1", FlowControl: true}
	err = p.Serve(t.Context(), listen(t))
	if err == nil || !strings.Contains(err.Error(), "flow control needs Linux 5.13 or later") {
		t.Fatalf("Serve with FlowControl on Linux %s: %v, want a refusal naming 5.13", k.Version.Short(), err)
	}
}
