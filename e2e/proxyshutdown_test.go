package e2e

import (
	"errors"
	"io"
	"net"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/bench"
	"github.com/sockc/sockc/internal/kerneltest"
)

// `sockc run --proxy` stopped with transfers in flight. A client must see
// its stream end whole, or a reset: never a FIN after missing bytes.

// echoClient sends size bytes of its pattern stream through addr while
// reading the echo back, each byte verified, then half-closes. first is
// closed once the first 64 KiB came back (or the client failed before).
func echoClient(addr string, id uint64, size int64, pat *bench.Pattern, first chan<- struct{}) (r sideResult) {
	var once sync.Once
	signal := func() { once.Do(func() { first <- struct{}{} }) }
	defer signal()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		r.Err = err
		return r
	}
	c := nc.(*net.TCPConn)
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	go func() {
		s := pat.Stream(id)
		var wc writeCounts
		for r.Sent < size {
			chunk := s.Next(int(min(size-r.Sent, 64<<10)))
			if err := writeAll(c, chunk, &wc); err != nil {
				return // the reader sees how the connection ended
			}
			r.Sent += int64(len(chunk))
		}
		c.CloseWrite()
	}()
	s := pat.Stream(id)
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(c, head); err != nil {
		r.ReadEnd = err
		return r
	}
	if err := s.Verify(head); err != nil {
		r.Corrupt = err
		return r
	}
	signal()
	readStream(c, s, size, &r)
	return r
}

// TestRunProxySIGTERMDrains: SIGTERM while 20 clients are in the middle
// of a 16 MiB echo each, with the default drain: every client gets all
// its bytes back, verified, then EOF; sockc then exits with status 0.
func TestRunProxySIGTERMDrains(t *testing.T) {
	kerneltest.Require(t)
	r := start(t, "run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0="+echoUpstream(t), "-v")
	addr := r.addr(t, `^sockc: proxy (\S+) -> `)
	const clients, size = 20, 16 << 20
	pat := bench.NewPattern()
	first := make(chan struct{}, clients)
	results := make([]sideResult, clients)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = echoClient(addr, uint64(i), size, pat, first) })
	}
	for range clients {
		<-first
	}
	if err := r.stop(t); err != nil {
		t.Errorf("sockc exit after SIGTERM: %v, want status 0\n%s", err, r.stderr)
	}
	wg.Wait()
	complete := 0
	for i, res := range results {
		switch {
		case res.Err != nil || res.Corrupt != nil || res.Received != size || !errors.Is(res.ReadEnd, io.EOF):
			t.Errorf("client %d: got %d of %d bytes back, then %v (corrupt: %v, setup: %v); want all, then EOF",
				i, res.Received, size, res.ReadEnd, res.Corrupt, res.Err)
		default:
			complete++
		}
	}
	if _, ok := r.stderr.wait(regexp.MustCompile(`^sockc: proxy: draining \d+ connections for up to 10s$`)); !ok {
		t.Errorf("no drain line:\n%s", r.stderr)
	}
	t.Logf("reliability: proxy shutdown: SIGTERM with %d echoes of %d MiB in flight: %d complete and verified after the drain", clients, size>>20, complete)
}

// pairedLine is how sockc -v logs a pair made.
var pairedLine = regexp.MustCompile(`^sockc: proxy: \S+ <-> \S+ paired in the kernel$`)

// stalledProxy runs sockc with args after the proxy flags, to an
// upstream that reads nothing and closes nothing, and connects clients
// that each write 1 MiB and wait for a reply. It returns the run, the
// clients, and wait, which returns how each client's connection ended.
func stalledProxy(t *testing.T, clients int, args ...string) (*sockcRun, func() []connEnd) {
	t.Helper()
	hold := make(chan struct{})
	accepted := make(chan struct{}, clients)
	up := fakeUpstream(t, func(c *net.TCPConn) {
		accepted <- struct{}{}
		<-hold
	})
	t.Cleanup(func() { close(hold) })
	r := start(t, append([]string{"run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0=" + up, "-v"}, args...)...)
	addr := r.addr(t, `^sockc: proxy (\S+) -> `)
	ends := make([]connEnd, clients)
	var wg sync.WaitGroup
	for i := range ends {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := nc.(*net.TCPConn)
		t.Cleanup(func() { c.Close() })
		ends[i].Local, ends[i].Start = c.LocalAddr().String(), time.Now()
		c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := c.Write(make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { drain(c, &ends[i]) })
	}
	for range clients {
		<-accepted
	}
	// Every client paired (under qemu, well after its upstream's accept).
	if !r.stderr.waitN(pairedLine, clients) {
		t.Fatalf("fewer than %d clients paired:\n%s", clients, r.stderr)
	}
	return r, func() []connEnd { wg.Wait(); return ends }
}

// TestRunProxySIGTERMResets: the drain ends (--drain 300ms) with 10
// connections stalled on an upstream that never reads: each client must
// see a reset, none a FIN, and sockc must exit with status 0 right after.
func TestRunProxySIGTERMResets(t *testing.T) {
	kerneltest.Require(t)
	const clients = 10
	r, wait := stalledProxy(t, clients, "--drain", "300ms", "--stats", "1h")
	start := time.Now()
	if err := r.stop(t); err != nil {
		t.Errorf("sockc exit after SIGTERM: %v, want status 0\n%s", err, r.stderr)
	}
	took := time.Since(start)
	for _, e := range wait() {
		if !e.reset() {
			t.Errorf("client %s: read %d bytes, then %v (FIN: %v); want a reset", e.Local, e.Read, e.ReadErr, e.FIN)
		}
	}
	if took > 5*time.Second {
		t.Errorf("sockc took %v to exit with a 300ms drain", took)
	}
	if _, ok := r.stderr.wait(regexp.MustCompile(`^sockc: proxy: stopped with 10 connections open; reset them$`)); !ok {
		t.Errorf("no line for the reset connections:\n%s", r.stderr)
	}
	if st := lastStats(t, r.stderr); st["aborted"] != clients || st["active"] != 0 {
		t.Errorf("final stats %v: want aborted=%d, active=0", st, clients)
	}
	t.Logf("reliability: proxy shutdown: drain of 300ms over %d stalled connections: each client reset, sockc exited in %v", clients, took.Round(time.Millisecond))
}

// TestRunProxySecondSignalResets: a second SIGTERM ends a long drain at
// once, with resets.
func TestRunProxySecondSignalResets(t *testing.T) {
	kerneltest.Require(t)
	r, wait := stalledProxy(t, 3, "--drain", "10m")
	r.cmd.Process.Signal(syscall.SIGTERM)
	if _, ok := r.stderr.wait(regexp.MustCompile(`^sockc: proxy: draining \d+ connections for up to 10m0s$`)); !ok {
		t.Fatalf("no drain line:\n%s", r.stderr)
	}
	if err := r.stop(t); err != nil { // the second SIGTERM
		t.Errorf("sockc exit after a second SIGTERM: %v, want status 0\n%s", err, r.stderr)
	}
	for _, e := range wait() {
		if !e.reset() {
			t.Errorf("client %s: read %d bytes, then %v (FIN: %v); want a reset", e.Local, e.Read, e.ReadErr, e.FIN)
		}
	}
}
