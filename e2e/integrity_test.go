package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
)

// integrityConns is how many connections each integrity test runs, and
// integrityWave how many of them are open at once: enough to overlap
// transfers, resets and set-ups, few enough for the descriptors (two
// sockets a connection in the test, two in sockc) and for the 2-core CI
// machine, which moves the ~270 MiB of a load in one or two seconds.
const (
	integrityConns = 1000
	integrityWave  = 64
	// integrityLimit is when every connection must have ended.
	integrityLimit = 60 * time.Second
)

// sockcMemLimit bounds the peak resident memory (VmHWM) of the sockc
// process during a load. sockc idles at about 9 MiB (the Go runtime,
// cilium/ebpf, the loaded collection) and peaks at 15 to 18 MiB under
// the proxy load here. A paired connection costs it a few hundred bytes
// of state and no buffer; a relayed one (a client that closed before its
// pair was made) two 64 KiB buffers while it lasts, at most 8 MiB for 64
// connections at once; the garbage collector's headroom (GOGC=100) may
// double the heap. 64 MiB leaves room for all of that on any machine,
// and is far below what holding the payload would take: the streams of
// 64 connections open at once reach 512 MiB.
const sockcMemLimit = 64 * mib

// tcpMemSlack is how far above its value before the load the kernel's
// TCP memory (/proc/net/sockstat) may stay once the load is over: other
// tests run at the same time on the machine and hold socket buffers of
// their own.
const tcpMemSlack = 16 * mib

// loadSeed returns the seed of the load: SOCKC_LOAD_SEED if set, else
// the clock. The test prints it; setting it replays the same plans.
func loadSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("SOCKC_LOAD_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SOCKC_LOAD_SEED=%q: %v", s, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// TestIntegrityProxy runs 1,000 connections through `sockc run
// examples/proxy.sock --proxy` to an upstream in this process: random
// sizes from 1 byte to 4 MiB each way, duplex, half-closes, and resets
// from either side mid-transfer. Every byte is verified at both ends,
// every connection must end (cleanly, or with a reset where one was
// sent), and afterwards sockc holds no socket of them, the maps are
// empty, its counters add up, its memory stayed bounded and the kernel's
// TCP memory returned.
func TestIntegrityProxy(t *testing.T) {
	kerneltest.Require(t)
	seed := loadSeed(t)
	t.Logf("seed %d (SOCKC_LOAD_SEED=%d replays it)", seed, seed)
	ensureNoFile(t, 2*integrityWave+256) // a client and an upstream socket per connection

	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	pins := pinnedMaps{dir: filepath.Join(kerneltest.PinDir(t), "maps")}
	r := start(t, "run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0="+up.Addr().String(),
		"--pin", pins.dir, "--stats", "1h", "-v") // --stats 1h: only the final line, at exit
	addr := r.addr(t, `^sockc: proxy (\S+) -> `)
	pid := r.cmd.Process.Pid
	fds0 := warmUp(t, addr, up, pid)
	tcpMem0 := readSockstat(t)
	mem := sampleMem(pid, 50*time.Millisecond)

	res := runLoad(addr, up, loadParams{Seed: seed, Conns: integrityConns, Wave: integrityWave, Limit: integrityLimit, TCPCounts: true})
	reportLoad(t, res)

	// Every connection is over at both ends; sockc follows within a
	// moment (it forwards the last FIN, then closes the pair).
	kerneltest.Await(t, 10*time.Second, func() (bool, string) {
		fds, conns, peers := openFDs(t, pid), pins.entries(t, "conns"), pins.entries(t, "sockc_peers_conns")
		return fds == fds0 && conns == 0 && peers == 0,
			fmt.Sprintf("sockc holds %+v descriptors (%+v before the load); map conns has %d sockets, sockc_peers_conns %d", fds, fds0, conns, peers)
	})
	peakRSS, samples, hwm := mem.finish(t)
	if hwm > sockcMemLimit {
		t.Errorf("sockc's peak resident memory was %d MiB, above %d MiB", hwm/mib, sockcMemLimit/mib)
	}
	proxied := pins.counter(t)
	checkProxied(t, res, r.stderr, proxied)
	t.Logf("sockc: VmHWM %.1f MiB, largest of %d VmRSS samples %.1f MiB", float64(hwm)/mib, samples, float64(peakRSS)/mib)
	awaitTCPMem(t, tcpMem0, mem.peakTCPMem())

	if err := r.stop(t); err != nil {
		t.Fatalf("sockc exit: %v\n%s", err, r.stderr)
	}
	// The final stats line, printed after the load: sockc's own figures.
	// proxied is the clients accepted; count.proxied must be what the
	// map held a moment ago.
	st := lastStats(t, r.stderr)
	want := map[string]int64{"proxied": integrityConns + 1, // and the warm-up
		"closed": integrityConns + 1, "active": 0, "failed": 0,
		"conns": 0, "sockc_peers_conns": 0, "count.proxied": int64(proxied)}
	for k, v := range want {
		if got, ok := st[k]; !ok || got != v {
			t.Errorf("final stats: %s=%d (present: %v), want %d", k, got, ok, v)
		}
	}
	c := countPlans(res.Plans)
	t.Logf("reliability: integrity proxy: %d connections, %d bytes verified, %d half-closes, %d resets, peak RSS %.1f MiB; %d relayed in user space (a side closed before the pair was made)",
		len(res.Plans), res.bytesVerified(), c.HalfCloses, c.Resets, float64(hwm)/mib, st["relayed"])
}

// reportLoad fails the test with every broken promise of a load (the
// first 20) and logs its figures.
func reportLoad(t *testing.T, res *loadResult) {
	t.Helper()
	errs := res.check()
	for i, err := range errs {
		if i == 20 {
			t.Errorf("... and %d more", len(errs)-20)
			break
		}
		t.Error(err)
	}
	var up, down int64
	for _, p := range res.Plans {
		up, down = up+p.Up, down+p.Down
	}
	t.Logf("load: %d connections in %v, %d accepted by the server (%d without a header); planned %.1f MiB up, %.1f MiB down; %d bytes verified; %d writes, %d failed",
		len(res.Plans), res.Elapsed.Round(time.Millisecond), res.Accepted, len(res.Headerless),
		float64(up)/mib, float64(down)/mib, res.bytesVerified(), res.Writes.OK.Load(), res.Writes.Failed.Load())
}

// warmUp sends one byte each way through the proxy at addr to the
// upstream listener up, and returns sockc's descriptors once it holds no
// socket but its listeners again: the baseline of a proxy that has
// served (its event loop's epoll and wake-up pipe exist from the first
// connection on, not from "ready").
func warmUp(t *testing.T, addr string, up net.Listener, pid int) fdCounts {
	t.Helper()
	listeners := openFDs(t, pid).Sockets // made before "ready"
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := up.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := <-accepted
	if !ok {
		t.Fatal("the upstream accepted no connection")
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	s.SetDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1)
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(s, b); err != nil {
		t.Fatalf("warm-up: upstream read: %v", err)
	}
	if _, err := s.Write([]byte{2}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("warm-up: client read: %v", err)
	}
	c.Close()
	s.Close()
	var fds fdCounts
	kerneltest.Await(t, 10*time.Second, func() (bool, string) {
		fds = openFDs(t, pid)
		return fds.Sockets == listeners, fmt.Sprintf("after the warm-up connection, sockc holds %d sockets; %d listen", fds.Sockets, listeners)
	})
	return fds
}

// TestIntegrityBypass runs the same kind of load as TestIntegrityProxy,
// 1,000 connections, under `sockc run e2e/testdata/bypass_counted.sock
// -- CHILD`: the child is this test binary, whose client and server talk
// over loopback inside sockc's cgroup, so that the sk_msg program moves
// every byte from socket to socket. Every byte is verified; afterwards
// the sockhash is empty, sockc holds no socket, the `count msgs` counter
// matches the child's writes, and memory is back.
func TestIntegrityBypass(t *testing.T) {
	kerneltest.Require(t)
	seed := loadSeed(t)
	t.Logf("seed %d (SOCKC_LOAD_SEED=%d replays it)", seed, seed)
	lp := loadParams{Seed: seed, Conns: integrityConns, Wave: integrityWave, Limit: integrityLimit}
	spec, err := json.Marshal(lp)
	if err != nil {
		t.Fatal(err)
	}
	pins := pinnedMaps{dir: filepath.Join(kerneltest.PinDir(t), "maps")}
	tcpMem0 := readSockstat(t)
	stdin, stdout := newPipe(t), newPipe(t)
	r := startWithStdio(t, []string{loadChildEnv + "=" + string(spec)}, stdin.r, stdout.w,
		"run", "testdata/bypass_counted.sock", "--pin", pins.dir, "--stats", "1h", "--", os.Args[0])
	stdin.r.Close()
	stdout.w.Close()
	pid := r.cmd.Process.Pid
	mem := sampleMem(pid, 50*time.Millisecond)

	// The child's report, once its load is over.
	reports := make(chan childReport, 1)
	go func() {
		var rep childReport
		if err := json.NewDecoder(stdout.r).Decode(&rep); err != nil {
			rep.Errors, rep.ErrorCount = []string{"no report from the child: " + err.Error()}, 1
		}
		reports <- rep
	}()
	var rep childReport
	select {
	case rep = <-reports:
	case <-time.After(integrityLimit + 30*time.Second):
		t.Fatalf("no report from the child after %v:\n%s", integrityLimit+30*time.Second, r.stderr)
	}
	for _, e := range rep.Errors {
		t.Error(e)
	}
	if rep.ErrorCount > len(rep.Errors) {
		t.Errorf("... and %d more", rep.ErrorCount-len(rep.Errors))
	}
	if rep.Accepted != rep.Conns {
		t.Errorf("the child's server accepted %d connections; its clients made %d", rep.Accepted, rep.Conns)
	}
	t.Logf("load: %d connections in %d ms, %d bytes verified, of which TCP's receive path saw %d; %d writes, %d failed",
		rep.Conns, rep.ElapsedMS, rep.BytesVerified, rep.TCPReceived, rep.WritesOK, rep.WritesFailed)
	// The bypass carried the load: the bytes that went through TCP are
	// the FINs and the first bytes of a connection, sent before its
	// peer's socket was in the map.
	if rep.TCPReceived > rep.BytesVerified/100 {
		t.Errorf("TCP received %d of the %d bytes: the bypass did not carry them", rep.TCPReceived, rep.BytesVerified)
	}

	// The child has closed every connection: the sockets have left the
	// map (a closed socket leaves it at once; the poll covers the
	// kernel's deferred work), and sockc never held any.
	kerneltest.Await(t, 10*time.Second, func() (bool, string) {
		n := pins.entries(t, "socks")
		return n == 0, fmt.Sprintf("map socks holds %d sockets after the load", n)
	})
	if fds := openFDs(t, pid); fds.Sockets != 0 {
		t.Errorf("sockc holds %d sockets; it runs the command and opens none", fds.Sockets)
	}
	msgs := pins.counter(t)
	checkMsgs(t, msgs, rep)
	peakRSS, samples, hwm := mem.finish(t)
	if hwm > sockcMemLimit {
		t.Errorf("sockc's peak resident memory was %d MiB, above %d MiB", hwm/mib, sockcMemLimit/mib)
	}
	t.Logf("sockc: VmHWM %.1f MiB, largest of %d VmRSS samples %.1f MiB", float64(hwm)/mib, samples, float64(peakRSS)/mib)
	awaitTCPMem(t, tcpMem0, mem.peakTCPMem())

	stdin.w.Close() // the child exits, and sockc with it
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Fatalf("sockc run: %v\n%s", err, r.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sockc still runs 30s after its command was told to end:\n%s", r.stderr)
	}
	st := lastStats(t, r.stderr)
	for k, v := range map[string]int64{"socks": 0, "count.msgs": int64(msgs)} {
		if got, ok := st[k]; !ok || got != v {
			t.Errorf("final stats: %s=%d (present: %v), want %d", k, got, ok, v)
		}
	}
	t.Logf("reliability: integrity bypass: %d connections, %d bytes verified, %d half-closes, %d resets, peak RSS %.1f MiB",
		rep.Conns, rep.BytesVerified, rep.HalfCloses, rep.Resets, float64(hwm)/mib)
}
