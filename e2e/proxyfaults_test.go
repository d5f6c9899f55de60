package e2e

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/bench"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime/features"
)

// The proxy under faults: upstreams that refuse, reset at once or in the
// middle of a transfer, or never read; clients that reset or leave
// without reading. In each, sockc ends the broken connections the way
// they broke (a reset goes on as a reset), logs one line for each (-v),
// releases their sockets, keeps serving the other proxy of the same
// process, and never exits. (TestRunProxyDeadUpstream checks that one
// client of a dead upstream gets a reset; here many do, at once, in rounds.)

// faultDeadline bounds every connection of the fault tests: each must
// end by then.
const faultDeadline = 10 * time.Second

// TestProxyFaultRefusingUpstream: rounds of 100 clients at once, all to an
// upstream where nothing listens. Every client gets a reset, sockc counts
// every failed dial and logs one line for each, and holds no socket of
// them afterwards, round after round.
func TestProxyFaultRefusingUpstream(t *testing.T) {
	kerneltest.Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	f := startFaultRig(t, dead)
	const rounds, clients = 3, 100
	var all []string
	var fds []fdCounts
	for round := 0; round < rounds; round++ {
		ends := make([]connEnd, clients)
		var wg sync.WaitGroup
		for i := range ends {
			wg.Go(func() {
				c, err := net.Dial("tcp", f.faulty)
				if err != nil {
					ends[i].ReadErr = err
					return
				}
				defer c.Close()
				ends[i].Local = c.LocalAddr().String()
				c.SetDeadline(time.Now().Add(faultDeadline))
				drain(c.(*net.TCPConn), &ends[i])
			})
		}
		f.serves(t) // meanwhile
		wg.Wait()
		for _, e := range ends {
			if e.Read != 0 || !e.reset() {
				t.Errorf("client %s: read %d bytes, then %v (FIN: %v); want a reset at once", e.Local, e.Read, e.ReadErr, e.FIN)
			}
			all = append(all, e.Local)
		}
		f.serves(t)
		fds = append(fds, f.released(t))
	}
	for i := range fds {
		if fds[i] != fds[0] {
			t.Errorf("sockc's descriptors after each round: %+v; they grow", fds)
			break
		}
	}
	f.failureLines(t, all, regexp.MustCompile(`^sockc: proxy: \S+: upstream `+regexp.QuoteMeta(dead)+`: .*connection refused; resetting the client$`))
	st := f.stop(t)
	if st["failed"] != rounds*clients || st["proxied"] != int64(rounds*clients+f.exchanges) || st["active"] != 0 {
		t.Errorf("final stats %v: want failed=%d, proxied=%d (and the healthy exchanges), active=0", st, rounds*clients, rounds*clients+f.exchanges)
	}
	t.Logf("reliability: proxy faults: %d clients of a refusing upstream, each closed, each logged once; sockc served on and holds %d sockets",
		rounds*clients, fds[len(fds)-1].Sockets)
}

// upstreamResetLine is how sockc logs a connection whose upstream reset
// it: while paired; or before (then the relay passes the reset on); or
// even before its dial returned (then the dial fails).
var upstreamResetLine = regexp.MustCompile(`^sockc: proxy: \S+(: the upstream closed or reset its side before the pair was made; relaying it in user space| <-> \S+: upstream: .+; resetting the client|: upstream \S+: dial tcp \S+: connect: connection reset by peer; resetting the client)$`)

// failedDialLine is how sockc logs a client whose upstream dial failed.
var failedDialLine = regexp.MustCompile(`^sockc: proxy: \S+: upstream \S+: dial tcp .*; resetting the client$`)

// TestProxyFaultUpstreamResets: an upstream that resets each connection
// right after accepting it, and one that resets after reading 256 KiB of
// an upload. Every client must see a reset (never a FIN: that would pass
// a cut stream off as whole) before the deadline.
func TestProxyFaultUpstreamResets(t *testing.T) {
	kerneltest.Require(t)
	t.Run("at accept", func(t *testing.T) {
		up := fakeUpstream(t, func(c *net.TCPConn) { c.SetLinger(0) })
		upstreamResets(t, up, func(c *net.TCPConn, e *connEnd) {
			if _, err := c.Write([]byte("hello")); err != nil {
				e.WriteErr = err
			}
			drain(c, e)
		})
	})
	t.Run("mid-transfer", func(t *testing.T) {
		up := fakeUpstream(t, func(c *net.TCPConn) {
			c.SetDeadline(time.Now().Add(faultDeadline))
			io.CopyN(io.Discard, readOnly{c}, 256<<10)
			c.SetLinger(0)
		})
		upstreamResets(t, up, func(c *net.TCPConn, e *connEnd) {
			done := make(chan struct{})
			go func() { defer close(done); pour(c, e) }()
			drain(c, e)
			<-done
		})
	})
}

// readOnly hides everything of a connection but Read, so that io.Copy
// cannot splice: splice hangs on sockets in a sockmap.
type readOnly struct{ io.Reader }

// upstreamResets runs rounds of 50 clients at once through a proxy to
// up, each doing client, and checks that each saw a reset and that sockc
// logged it once, released the sockets and kept serving.
func upstreamResets(t *testing.T, up string, client func(c *net.TCPConn, e *connEnd)) {
	t.Helper()
	f := startFaultRig(t, up)
	const rounds, clients = 2, 50
	var all []string
	dials := 0
	for round := 0; round < rounds; round++ {
		ends := runClients(t, f.faulty, clients, client)
		f.serves(t)
		lines := f.linesFor()
		for _, e := range ends {
			// A reset while paired or relayed; or, if the reset came
			// before sockc's connect to the upstream returned, a
			// failed dial, which resets the client too.
			failedDial := len(lines[e.Local]) == 1 && failedDialLine.MatchString(lines[e.Local][0]) && e.Read == 0
			if failedDial {
				dials++
			}
			if !e.reset() && !failedDial || e.stuck() {
				t.Errorf("client %s: read %d bytes, then %v (writing: %v; FIN: %v); want a reset (%s)", e.Local, e.Read, e.ReadErr, e.WriteErr, e.FIN, e.timing())
			}
			all = append(all, e.Local)
		}
		f.released(t)
	}
	f.failureLines(t, all, upstreamResetLine)
	st := f.stop(t)
	if st["active"] != 0 || st["failed"] != int64(countLines(f.r.stderr, ": dial tcp ", "; resetting the client")) {
		t.Errorf("final stats %v: want active=0 and failed= the dials logged as failed", st)
	}
	t.Logf("reliability: proxy faults: %s: %d clients, %d reset, %d reset after a failed dial, each logged once; sockc served on",
		t.Name(), len(all), len(all)-dials, dials)
}

// runClients runs n clients at once against addr, each doing client
// within faultDeadline, and returns how each connection ended.
func runClients(t *testing.T, addr string, n int, client func(c *net.TCPConn, e *connEnd)) []connEnd {
	t.Helper()
	ends := make([]connEnd, n)
	var wg sync.WaitGroup
	for i := range ends {
		wg.Go(func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				// sockc may reset a connection before the client's
				// connect returns: that is its end.
				ends[i].ReadErr = err
				return
			}
			c := nc.(*net.TCPConn)
			defer c.Close()
			ends[i].Local, ends[i].Start = c.LocalAddr().String(), time.Now()
			c.SetDeadline(ends[i].Start.Add(faultDeadline))
			client(c, &ends[i])
		})
	}
	wg.Wait()
	return ends
}

// TestProxyFaultClientVanishes: clients that leave in the middle of a
// download the upstream sends without end: half reset after reading
// 64 KiB, half close at once without reading anything. Each upstream
// connection must end with a reset before the deadline (a resetting
// client's without a FIN before it), with one line logged for each.
func TestProxyFaultClientVanishes(t *testing.T) {
	kerneltest.Require(t)
	const clients = 50
	type upEnd struct {
		mark byte
		connEnd
	}
	upEnds := make(chan upEnd, 4*clients)
	up := fakeUpstream(t, func(c *net.TCPConn) {
		c.SetDeadline(time.Now().Add(faultDeadline))
		e := connEnd{Start: time.Now()}
		mark := make([]byte, 1)
		if _, err := io.ReadFull(c, mark); err != nil {
			e.ReadErr = err
		} else {
			e.Read = 1
			done := make(chan struct{})
			go func() { defer close(done); pour(c, &e) }()
			drain(c, &e)
			<-done
		}
		upEnds <- upEnd{mark[0], e}
	})
	f := startFaultRig(t, up)
	var all []string
	for _, mark := range []byte{'R', 'C'} {
		ends := runClients(t, f.faulty, clients, func(c *net.TCPConn, e *connEnd) {
			if _, err := c.Write([]byte{mark}); err != nil {
				e.WriteErr = err
				return
			}
			if mark == 'R' {
				io.CopyN(io.Discard, readOnly{c}, 64<<10)
				c.SetLinger(0)
			}
			// The deferred Close: with SO_LINGER 0 a reset; else a plain
			// close, which resets too once data arrives for it.
		})
		for _, e := range ends {
			all = append(all, e.Local)
		}
		f.serves(t)
	}
	f.released(t)
	// The upstream's ends, each within the deadline of its connection.
	for range 2 * clients {
		var e upEnd
		select {
		case e = <-upEnds:
		case <-time.After(faultDeadline):
			t.Fatalf("an upstream connection did not end within %v", faultDeadline)
		}
		ok := isReset(e.WriteErr) && !e.stuck()
		if e.mark == 'R' {
			ok = ok && e.reset()
		}
		if !ok || e.mark != 'R' && e.mark != 'C' {
			t.Errorf("upstream of a %q client: read %d bytes, then %v (writing: %v; FIN: %v; %s); want its writes to end in a reset", e.mark, e.Read, e.ReadErr, e.WriteErr, e.FIN, e.timing())
		}
	}
	f.failureLines(t, all, regexp.MustCompile(`^sockc: proxy: \S+(: the client closed or reset its side before the pair was made; relaying it in user space| <-> \S+: client: .+; resetting the upstream)$`))
	st := f.stop(t)
	if st["active"] != 0 || st["failed"] != 0 {
		t.Errorf("final stats %v: want active=0 failed=0", st)
	}
	t.Logf("reliability: proxy faults: %d clients vanished mid-download (%d reset, %d closed without reading); every upstream reset, each logged once",
		2*clients, clients, clients)
}

// TestProxyFaultUpstreamNeverReads: an upstream that accepts, reads an
// 8-byte header, and then reads nothing until the test lets it. Each
// client writes twice what the socket buffers on the way can hold (see
// bufferBound) and half-closes. If the bytes only had those buffers, the
// writes would stall; they do not: the kernel acknowledges what the
// stream verdict program redirects at once and queues it for the
// upstream socket outside TCP's memory accounting (cilium/cilium#6431),
// so a client can make the kernel hold any amount. The test records how
// much (the figure to quote) and checks what sockc answers for: it holds
// none of it (its memory does not grow), loses none of it (the upstream,
// let go, reads every byte, verified, then EOF), its pairs wait for the
// upstream meanwhile, one upstream that closes without reading resets
// its client, and everything is released at the end.
func TestProxyFaultUpstreamNeverReads(t *testing.T) {
	upstreamNeverReads(t, false)
}

// TestProxyFlowControlUpstreamNeverReads is the same with
// --flow-control: the clients' writes must stall, within the socket
// buffers on the way and the flow window, however much they have to
// send, and every byte still arrives once the upstream reads.
func TestProxyFlowControlUpstreamNeverReads(t *testing.T) {
	kerneltest.Require(t)
	if k := runningKernel(t); features.HasUnlockedPsockTeardown(k) {
		t.Skipf("Linux %s: sockc refuses --flow-control here (TestProxyFlowControlRefusedOnOldKernel checks it)", k.Version.Short())
	}
	upstreamNeverReads(t, true)
}

// TestProxyFlowControlRefusedOnOldKernel: on a kernel that tears a psock
// down without the lock of its queues (5.10), `sockc run --proxy
// --flow-control` exits 1 with one line naming the reason, before it
// proxies anything, and leaves nothing behind.
func TestProxyFlowControlRefusedOnOldKernel(t *testing.T) {
	kerneltest.Require(t)
	k := runningKernel(t)
	if !features.HasUnlockedPsockTeardown(k) {
		t.Skipf("Linux %s tears psocks down under their lock: --flow-control is allowed (TestProxyFlowControlUpstreamNeverReads runs it)", k.Version.Short())
	}
	base := kerneltest.Snapshot(t, "conns")
	out, err := timed(t, time.Minute, sockcBin, "run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0=127.0.0.1:1", "--flow-control").CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit status %d, want 1:\n%s", code, out)
	}
	last := strings.TrimSpace(string(out))
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	if !strings.HasPrefix(last, "sockc: run: --flow-control: flow control needs Linux 5.13 or later") {
		t.Errorf("the last line does not give the reason:\n%s", out)
	}
	base.AwaitGone(t)
}

// runningKernel describes the kernel the test runs on.
func runningKernel(t *testing.T) features.Kernel {
	t.Helper()
	k, err := features.Running()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// flowBound is what --flow-control lets the kernel hold for one stalled
// client beyond the socket buffers: the flow window of an upstream that
// stalls at once (runtime's minFlowWindow of 16 MiB, which the first
// gulp of the upstream's buffers can double at each of the top-ups it
// spans: twice here) and the proxy's send buffer, which the kernel
// doubles.
const flowBound = 4*16<<20 + 2*8<<20

// upstreamNeverReads: three clients send to upstreams that read nothing;
// two are let go later and must get every byte, the third closes unread
// and its client must be reset. With flowControl, sockc runs with
// --flow-control and the writes must stall within bufferBound+flowBound.
func upstreamNeverReads(t *testing.T, flowControl bool) {
	kerneltest.Require(t)
	const clients = 3 // the last one's upstream closes without reading
	bound := bufferBound(t)
	var args []string
	if flowControl {
		bound += flowBound
		args = []string{"--flow-control"}
	}
	size := min(2*bound, 256<<20)
	pat := bench.NewPattern()
	release := make(chan struct{})
	type upEnd struct {
		id  uint64
		got sideResult
	}
	upEnds := make(chan upEnd, clients)
	up := fakeUpstream(t, func(c *net.TCPConn) {
		var hdr [headerLen]byte
		c.SetDeadline(time.Now().Add(3 * faultDeadline))
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			upEnds <- upEnd{id: clients, got: sideResult{Err: err}}
			return
		}
		id := binary.LittleEndian.Uint64(hdr[:])
		<-release
		var r sideResult
		if id < clients-1 {
			readStream(c, pat.Stream(id), size, &r)
		}
		upEnds <- upEnd{id, r} // then a close: with bytes unread, a reset
	})
	f := startFaultRig(t, up, args...)
	f.serves(t)
	mem0, err := readMem(f.pid)
	if err != nil {
		t.Fatal(err)
	}
	avail0, tcp0 := memAvailable(t), readSockstat(t)

	type client struct {
		end     connEnd
		written atomic.Int64
		all     chan struct{} // closed when every byte is written
	}
	cs := make([]*client, clients)
	var wg sync.WaitGroup
	for i := range cs {
		nc, err := net.Dial("tcp", f.faulty)
		if err != nil {
			t.Fatal(err)
		}
		c := nc.(*net.TCPConn)
		defer c.Close()
		cl := &client{all: make(chan struct{})}
		cl.end.Local = c.LocalAddr().String()
		cs[i] = cl
		c.SetDeadline(time.Now().Add(3 * faultDeadline))
		wg.Go(func() {
			var hdr [headerLen]byte
			binary.LittleEndian.PutUint64(hdr[:], uint64(i))
			var wc writeCounts
			if err := writeAll(c, hdr[:], &wc); err != nil {
				cl.end.WriteErr = err
				return
			}
			s := pat.Stream(uint64(i))
			for cl.written.Load() < size {
				chunk := s.Next(int(min(size-cl.written.Load(), 1<<20)))
				if err := writeAll(c, chunk, &wc); err != nil {
					cl.end.WriteErr = err
					return
				}
				cl.written.Add(int64(len(chunk)))
			}
			close(cl.all)
			c.CloseWrite()
			drain(c, &cl.end)
		})
	}
	// Either every client writes all, or the writes stall: a stall has
	// no event, so the test samples until none has advanced for half a
	// second.
	stalled, still, last := false, time.Now(), int64(-1)
	for !stalled {
		done := 0
		for _, cl := range cs {
			select {
			case <-cl.all:
				done++
			default:
			}
		}
		if done == clients {
			break
		}
		var sum int64
		for _, cl := range cs {
			sum += cl.written.Load()
		}
		if sum != last {
			last, still = sum, time.Now()
		}
		stalled = time.Since(still) > 500*time.Millisecond
		time.Sleep(20 * time.Millisecond)
	}
	mem1, err := readMem(f.pid)
	if err != nil {
		t.Fatal(err)
	}
	avail1, tcp1 := memAvailable(t), readSockstat(t)
	var most int64
	for _, cl := range cs {
		most = max(most, cl.written.Load())
	}
	page := int64(os.Getpagesize())
	kernel := fmt.Sprintf("the kernel's TCP memory went from %d to %d KiB; the machine's MemAvailable from %d to %d MiB",
		tcp0.MemPages*page>>10, tcp1.MemPages*page>>10, avail0>>20, avail1>>20)
	if stalled {
		t.Logf("the clients' writes stalled at %d KiB at most (the socket buffers on the way hold %d KiB); %s", most>>10, bound>>10, kernel)
		if most > bound {
			t.Errorf("a client wrote %d bytes before its writes stalled; the socket buffers on the way hold %d", most, bound)
		}
	} else {
		t.Logf("every client wrote all %d KiB, more than the %d KiB the socket buffers on the way hold: no back-pressure; %s", size>>10, bound>>10, kernel)
		if flowControl {
			t.Errorf("with --flow-control every client wrote all %d KiB to an upstream that reads nothing; want the writes to stall within %d KiB", size>>10, bound>>10)
		}
	}
	if grew := mem1.RSS - mem0.RSS; grew > 8*mib {
		t.Errorf("sockc's resident memory grew by %d KiB while the clients' bytes piled up: it buffers them", grew>>10)
	}
	// The pairs wait for the upstream, which holds them open.
	if n := openFDs(t, f.pid).Sockets; n != f.listeners+2*clients {
		t.Errorf("sockc holds %d sockets; want its %d listeners and the %d pairs", n, f.listeners, clients)
	}
	f.serves(t)

	close(release)
	wg.Wait()
	for range clients {
		e := <-upEnds
		switch {
		case e.id >= clients:
			t.Errorf("an upstream connection got no header: %v", e.got.Err)
		case e.id < clients-1 && (e.got.Corrupt != nil || e.got.Received != size || !errors.Is(e.got.ReadEnd, io.EOF)):
			t.Errorf("upstream of client %d, let go: read %d of %d bytes, then %v (%v); want all, then EOF", e.id, e.got.Received, size, e.got.ReadEnd, e.got.Corrupt)
		}
	}
	for i, cl := range cs {
		e := cl.end
		if i < clients-1 && (e.WriteErr != nil || !errors.Is(e.ReadErr, io.EOF)) || i == clients-1 && !e.reset() {
			t.Errorf("client %d: writing: %v; reading: %v (FIN: %v); want EOF after a read upstream, a reset after an unread one", i, e.WriteErr, e.ReadErr, e.FIN)
		}
	}
	f.released(t)
	lines := f.linesFor()
	for _, cl := range cs[:clients-1] {
		if l := lines[cl.end.Local]; len(l) != 0 {
			t.Errorf("client %s ended cleanly, yet sockc logged %q", cl.end.Local, l)
		}
	}
	f.failureLines(t, []string{cs[clients-1].end.Local}, regexp.MustCompile(`^sockc: proxy: \S+ <-> \S+: upstream: .+; resetting the client$`))
	st := f.stop(t)
	if st["active"] != 0 {
		t.Errorf("final stats %v: want active=0", st)
	}
	if flowControl && st["held"] == 0 {
		t.Errorf("final stats %v: want held > 0: --flow-control never held a byte back", st)
	}
	held := "stalled within the socket buffers"
	if flowControl {
		held = "stalled within the socket buffers and the flow window (--flow-control)"
	}
	if !stalled {
		held = fmt.Sprintf("twice what the socket buffers on the way hold: the kernel queued it outside TCP's accounting (TCP memory +%d MiB)",
			(tcp1.MemPages-tcp0.MemPages)*page>>20)
	}
	t.Logf("reliability: proxy faults: upstream that never reads: %d clients wrote %d MiB each, %s; sockc's memory unchanged; every byte arrived once it read",
		clients, most>>20, held)
}

// memAvailable reads MemAvailable of /proc/meminfo, in bytes.
func memAvailable(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if n, _ := fmt.Sscanf(line, "MemAvailable: %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	t.Fatalf("no MemAvailable in /proc/meminfo")
	return 0
}

// bufferBound is the most a TCP connection through the proxy can hold
// when its far end reads nothing: the client's send buffer, the proxy's
// client socket's receive buffer (redirected bytes stay charged to it
// until sent), the proxy's upstream socket's send buffer and the
// upstream's receive buffer, each at its largest (the third field of
// tcp_wmem and tcp_rmem).
func bufferBound(t *testing.T) int64 {
	t.Helper()
	max3 := func(name string) int64 {
		b, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b))
		var v int64
		if len(f) != 3 {
			t.Fatalf("%s: %q", name, b)
		}
		if _, err := fmt.Sscan(f[2], &v); err != nil {
			t.Fatalf("%s: %q: %v", name, b, err)
		}
		return v
	}
	return 2*max3("tcp_wmem") + 2*max3("tcp_rmem")
}
