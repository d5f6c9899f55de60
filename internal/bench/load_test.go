package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// freeAddr returns a loopback address that was free a moment ago, for
// Load.Listen: Run listens there and its client connects to Connect, so
// port 0 will not do.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runLoad runs l and fails the test if it has not returned within limit,
// so that a hang shows as a failure rather than as the test binary's
// timeout.
func runLoad(t *testing.T, ctx context.Context, l Load, limit time.Duration) (Result, error) {
	t.Helper()
	type outcome struct {
		r   Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := l.Run(ctx)
		done <- outcome{r, err}
	}()
	select {
	case o := <-done:
		return o.r, o.err
	case <-time.After(limit):
		t.Fatalf("Load.Run of %s did not return within %v", l.Workload.Name(), limit)
		return Result{}, nil
	}
}

func checkResult(t *testing.T, w Workload, d time.Duration, r Result) {
	t.Helper()
	if r.Bytes == 0 {
		t.Errorf("Bytes = 0")
	}
	if r.Seconds < d.Seconds() || r.Seconds > d.Seconds()+5 {
		t.Errorf("Seconds = %v, want about %v", r.Seconds, d.Seconds())
	}
	if r.Throughput() <= 0 {
		t.Errorf("Throughput = %v", r.Throughput())
	}
	if r.CPU.User < 0 || r.CPU.System < 0 || r.CPU.SoftIRQ < 0 {
		t.Errorf("negative CPU time: %+v", r.CPU)
	}
	switch w.Kind {
	case Bulk:
		if r.Ops != 0 || r.P50 != 0 {
			t.Errorf("Bulk result has latencies: %+v", r)
		}
	case PingPong, Connect:
		size := uint64(w.Size)
		if w.Kind == Connect {
			size = connectMessage
		}
		if r.Ops <= 0 {
			t.Fatalf("Ops = %d", r.Ops)
		}
		if want := 2 * size * uint64(r.Ops); r.Bytes != want {
			t.Errorf("Bytes = %d, want 2 x %d x %d ops = %d", r.Bytes, size, r.Ops, want)
		}
		if !(0 < r.P50 && r.P50 <= r.P99 && r.P99 <= r.P999) {
			t.Errorf("percentiles out of order: p50 %v, p99 %v, p99.9 %v", r.P50, r.P99, r.P999)
		}
		if r.Stalls < 0 || r.Stalls > r.Ops {
			t.Errorf("Stalls = %d of %d ops", r.Stalls, r.Ops)
		}
	}
}

func TestLoadRun(t *testing.T) {
	const d = 200 * time.Millisecond
	for _, w := range []Workload{
		{Kind: Bulk, Flows: 2, Size: 4 << 10},
		{Kind: PingPong, Size: 64},
		{Kind: Connect},
	} {
		t.Run(w.Name(), func(t *testing.T) {
			addr := freeAddr(t)
			l := Load{Workload: w, Listen: addr, Connect: addr, Duration: d}
			r, err := runLoad(t, t.Context(), l, 20*time.Second)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkResult(t, w, d, r)
		})
	}
}

func TestLoadRunUnknownKind(t *testing.T) {
	addr := freeAddr(t)
	_, err := Load{Workload: Workload{Kind: "nonsense"}, Listen: addr, Connect: addr, Duration: time.Millisecond}.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("Run of an unknown workload: err = %v", err)
	}
}

func TestLoadRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String() // taken
	_, err = Load{Workload: Workload{Kind: PingPong, Size: 64}, Listen: addr, Connect: addr, Duration: time.Millisecond}.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Run on a taken address: err = %v", err)
	}
}

// TestLoadRunThroughGoProxy runs every workload through ServeGoProxy:
// the proxy must pass every byte, the half-close and the count back.
func TestLoadRunThroughGoProxy(t *testing.T) {
	const d = 100 * time.Millisecond
	for _, mode := range []GoProxyMode{ReadWrite, Copy} {
		for _, w := range []Workload{
			{Kind: Bulk, Flows: 2, Size: 64 << 10},
			{Kind: PingPong, Size: 16 << 10},
			{Kind: Connect},
		} {
			t.Run(string(mode)+" "+w.Name(), func(t *testing.T) {
				upstream := freeAddr(t)
				front := startGoProxy(t, upstream, mode)
				l := Load{Workload: w, Listen: upstream, Connect: front, Duration: d}
				r, err := runLoad(t, t.Context(), l, 20*time.Second)
				if err != nil {
					t.Fatalf("Run through the %s proxy: %v", mode, err)
				}
				checkResult(t, w, d, r)
			})
		}
	}
}

// A damage is what the test relay does to one direction of the first
// connection it carries: at byte at of that direction it flips a byte,
// drops n bytes, or sends the n bytes before it a second time.
type damage struct {
	toServer bool // the client-to-server direction, else server-to-client
	at       int64
	op       string // "flip", "drop" or "repeat"
	n        int
	// hold: when the client's side of the damaged connection ends, keep
	// the server's side open, as a proxy that loses track of a
	// connection would.
	hold bool
}

// startRelay starts a TCP relay from a new loopback address to upstream
// and returns that address. It passes half-closes on and closes both
// sides when either fails, like a real proxy, and damages the first
// connection as dmg says.
func startRelay(t *testing.T, upstream string, dmg damage) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	var count atomic.Int64
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			first := count.Add(1) == 1
			wg.Go(func() {
				defer c.Close()
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				conns.Store(c, nil)
				conns.Store(u, nil)
				defer conns.Delete(c)
				defer conns.Delete(u)
				var pair sync.WaitGroup
				one := func(dst, src *net.TCPConn, toServer bool) {
					var d *damage
					if first && dmg.toServer == toServer {
						d = &dmg
					}
					err := relayDamaged(dst, src, d)
					if d != nil && d.hold {
						return
					}
					if err != nil {
						dst.Close()
						src.Close()
						return
					}
					dst.CloseWrite()
				}
				pair.Go(func() { one(u.(*net.TCPConn), c.(*net.TCPConn), true) })
				one(c.(*net.TCPConn), u.(*net.TCPConn), false)
				pair.Wait()
			})
		}
	})
	return ln.Addr().String()
}

// relayDamaged copies src to dst until EOF, applying d (if not nil) once.
func relayDamaged(dst, src net.Conn, d *damage) error {
	buf := make([]byte, 32<<10)
	var off int64   // bytes read from src so far
	var hist []byte // the last d.n bytes sent, for "repeat"
	done := d == nil
	for {
		n, rerr := src.Read(buf)
		b := buf[:n]
		if !done && off <= d.at && d.at < off+int64(n) {
			i := int(d.at - off)
			switch d.op {
			case "flip":
				b[i] ^= 0xff
			case "drop":
				b = append(b[:i:i], b[min(i+d.n, len(b)):]...)
			case "repeat":
				prior := append(append([]byte(nil), hist...), b[:i]...)
				rep := prior[len(prior)-d.n:]
				b = append(append(append([]byte(nil), b[:i]...), rep...), b[i:]...)
			}
			done = true
		}
		if len(b) > 0 {
			if _, err := dst.Write(b); err != nil {
				return err
			}
		}
		if d != nil && d.op == "repeat" && !done {
			hist = append(hist, b...)
			hist = hist[max(0, len(hist)-d.n):]
		}
		off += int64(n)
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}

func startGoProxy(t *testing.T, upstream string, mode GoProxyMode) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ServeGoProxy(ln, upstream, mode) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-served; err != nil {
			t.Errorf("ServeGoProxy: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestLoadRunDetectsDamage puts a relay that damages one connection
// between the client and the server: every run must fail, with the
// offending stream byte where a stream's verifier sees it.
func TestLoadRunDetectsDamage(t *testing.T) {
	p := testPattern()
	// hdr is the Bulk stream header, before stream offset 0.
	const hdr = 8
	stream1 := p.Stream(1).Next(1 << 20)
	afterDrop := func(at int) int { // where stream 1 first differs with byte at dropped
		for i := at; ; i++ {
			if stream1[i+1] != stream1[i] {
				return i
			}
		}
	}
	tests := []struct {
		name string
		w    Workload
		dmg  damage
		// want is the stream offset of the corruption the run must
		// report, or -1 to check only that the error says "corrupted".
		want int64
	}{
		{"bulk flip", Workload{Kind: Bulk, Flows: 2, Size: 4 << 10}, damage{toServer: true, at: hdr + 100000, op: "flip"}, 100000},
		{"bulk flip first byte", Workload{Kind: Bulk, Flows: 1, Size: 64 << 10}, damage{toServer: true, at: hdr, op: "flip"}, 0},
		{"bulk drop", Workload{Kind: Bulk, Flows: 1, Size: 4 << 10}, damage{toServer: true, at: hdr + 54321, op: "drop", n: 1}, int64(afterDrop(54321))},
		{"bulk drop block", Workload{Kind: Bulk, Flows: 2, Size: 64 << 10}, damage{toServer: true, at: hdr + 4096, op: "drop", n: 4096}, -1},
		{"bulk repeat block", Workload{Kind: Bulk, Flows: 1, Size: 4 << 10}, damage{toServer: true, at: hdr + 8192, op: "repeat", n: 4096}, -1},
		{"rr flip reply", Workload{Kind: PingPong, Size: 64}, damage{toServer: false, at: 1000, op: "flip"}, 1000},
		{"rr flip reply late", Workload{Kind: PingPong, Size: 64}, damage{toServer: false, at: 100*64 + 7, op: "flip"}, 100*64 + 7},
		{"rr repeat reply bytes", Workload{Kind: PingPong, Size: 64}, damage{toServer: false, at: 640, op: "repeat", n: 64}, -1},
		{"connect flip request", Workload{Kind: Connect}, damage{toServer: true, at: 20, op: "flip"}, 12},
		{"connect flip echo", Workload{Kind: Connect}, damage{toServer: false, at: 63, op: "flip"}, 55},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := freeAddr(t)
			front := startRelay(t, upstream, tt.dmg)
			l := Load{Workload: tt.w, Listen: upstream, Connect: front, Duration: 200 * time.Millisecond}
			_, err := runLoad(t, t.Context(), l, 20*time.Second)
			if err == nil {
				t.Fatalf("Run passed a stream damaged by %+v", tt.dmg)
			}
			if !strings.Contains(err.Error(), "corrupted") {
				t.Fatalf("error does not say corrupted: %v", err)
			}
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("error does not hold a *CorruptionError: %v", err)
			}
			if tt.want >= 0 && ce.Offset != uint64(tt.want) {
				t.Errorf("corruption reported at stream byte %d, want %d: %v", ce.Offset, tt.want, err)
			}
			if tt.dmg.op == "flip" && ce.Got != ce.Want^0xff {
				t.Errorf("flipped byte reported as %#x, want %#x: %v", ce.Got, ce.Want^0xff, err)
			}
		})
	}
}

// TestLoadRunPingPongMissingByte drops one byte of a request: the server
// waits for it for ever, so the run can only end by its context, and must
// then fail.
func TestLoadRunPingPongMissingByte(t *testing.T) {
	upstream := freeAddr(t)
	front := startRelay(t, upstream, damage{toServer: true, at: 3000, op: "drop", n: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	l := Load{Workload: Workload{Kind: PingPong, Size: 64}, Listen: upstream, Connect: front, Duration: 200 * time.Millisecond}
	r, err := runLoad(t, ctx, l, 20*time.Second)
	if err == nil {
		t.Fatalf("Run passed a request stream with a byte missing: %+v", r)
	}
}

// TestLoadRunConnectMissingByte drops the last byte of the first
// connection's message: client and server both wait, so the run can only
// end by its context, and must then fail.
func TestLoadRunConnectMissingByte(t *testing.T) {
	upstream := freeAddr(t)
	front := startRelay(t, upstream, damage{toServer: true, at: connectMessage - 1, op: "drop", n: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	l := Load{Workload: Workload{Kind: Connect}, Listen: upstream, Connect: front, Duration: 200 * time.Millisecond}
	r, err := runLoad(t, ctx, l, 20*time.Second)
	if err == nil {
		t.Fatalf("Run passed a message with a byte missing: %+v", r)
	}
}

// TestLoadRunConnectStuckUpstream is TestLoadRunConnectMissingByte with a
// proxy that keeps the server's side of the connection open after the
// client's side closes: the run's deadline must still end it.
func TestLoadRunConnectStuckUpstream(t *testing.T) {
	upstream := freeAddr(t)
	front := startRelay(t, upstream, damage{toServer: true, at: connectMessage - 1, op: "drop", n: 1, hold: true})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	l := Load{Workload: Workload{Kind: Connect}, Listen: upstream, Connect: front, Duration: 200 * time.Millisecond}
	if _, err := runLoad(t, ctx, l, 5*time.Second); err == nil {
		t.Fatal("Run passed a message with a byte missing")
	}
}

// TestLoadRunPingPongStuckUpstream: the same for PingPong, whose server
// does watch the context.
func TestLoadRunPingPongStuckUpstream(t *testing.T) {
	upstream := freeAddr(t)
	front := startRelay(t, upstream, damage{toServer: true, at: 3000, op: "drop", n: 1, hold: true})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	l := Load{Workload: Workload{Kind: PingPong, Size: 64}, Listen: upstream, Connect: front, Duration: 200 * time.Millisecond}
	if _, err := runLoad(t, ctx, l, 5*time.Second); err == nil {
		t.Fatal("Run passed a request with a byte missing")
	}
}

// TestLoadRunPingPongCorruptRequest flips a byte of a request. The server
// sees the corruption and hangs up; the run must fail and say why.
func TestLoadRunPingPongCorruptRequest(t *testing.T) {
	upstream := freeAddr(t)
	front := startRelay(t, upstream, damage{toServer: true, at: 1000, op: "flip"})
	l := Load{Workload: Workload{Kind: PingPong, Size: 64}, Listen: upstream, Connect: front, Duration: 200 * time.Millisecond}
	_, err := runLoad(t, t.Context(), l, 20*time.Second)
	if err == nil {
		t.Fatal("Run passed a corrupted request")
	}
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Offset != 1000 {
		t.Errorf("error does not report the corruption at request byte 1000: %v", err)
	}
}

// TestLoadRunBulkUnacceptedFlows points two Bulk flows at a listener that
// accepts and never forwards, so the server accepts nothing. When the
// caller's context ends, Run must return an error, not hang.
func TestLoadRunBulkUnacceptedFlows(t *testing.T) {
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		hole.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	l := Load{Workload: Workload{Kind: Bulk, Flows: 2, Size: 4 << 10}, Listen: freeAddr(t), Connect: hole.Addr().String(), Duration: 100 * time.Millisecond}
	if _, err := runLoad(t, ctx, l, 5*time.Second); err == nil {
		t.Error("Run passed although the server received nothing")
	}
}
