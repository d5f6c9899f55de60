package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Proxy is an in-kernel TCP proxy: it accepts clients, dials Upstream for
// each, and pairs the two sockets in Map (a sockhash keyed by socket
// cookie, used by `redirect peer`), so that the programs move every byte
// inside the kernel. The Proxy never reads or writes the payload of a
// paired connection: it watches the sockets with epoll for the end of each
// direction and forwards half-closes (FIN) and resets (RST).
//
// With Upstream empty, each client is paired with itself: its bytes go
// back out of it (an echo server with a program like examples/echo.sock).
//
// A client that closes its sending side before the upstream connection is
// up cannot join the map (the kernel takes TCP sockets only while they are
// established); such a connection is relayed in user space instead and
// counted in ProxyStats.Relayed.
//
// A client never sees a clean end of stream after missing bytes: when the
// upstream cannot be dialed, fails or resets, or when Serve stops before
// a connection ends, the client gets a reset (RST), not a FIN. With a
// program that meters the map (Map.Metered), the proxy also knows what
// the program forwarded: it waits for redirected bytes however late the
// kernel sends them, and resets instead of passing a FIN on when the
// program forwarded fewer bytes than arrived, or more (the kernel
// repeated some; see forwardFINs).
type Proxy struct {
	// Map holds the pairs; it must be a sockhash keyed by u64 cookies.
	Map *Map
	// Upstream is the address dialed for each client, HOST:PORT with
	// an IPv6 host in brackets ([::1]:80), of either family whatever
	// the client's; empty for echo.
	Upstream string
	// DialTimeout bounds the upstream connect (0: defaultDialTimeout).
	DialTimeout time.Duration
	// Drain is how long Serve lets open connections finish once its
	// context is done (it stops accepting at once); those still open
	// then are reset, both sides, so that no client takes a cut stream
	// for a whole one. Zero resets them at once.
	Drain time.Duration
	// Abort, if not nil, ends a drain early when it is closed: a second
	// SIGTERM.
	Abort <-chan struct{}
	// SendBuffer is the send buffer the proxy gives each socket it
	// pairs (SO_SNDBUFFORCE, which needs CAP_NET_ADMIN; else
	// SO_SNDBUF, capped by net.core.wmem_max); 0 means
	// DefaultSendBuffer, negative leaves the kernel's autotuning. See
	// DefaultSendBuffer for why.
	SendBuffer int
	// FlowControl bounds what the kernel queues for a peer that falls
	// behind (see proxyflow.go): without it, an upstream that stops
	// reading lets the kernel take whatever the client sends. It needs
	// a program compiled with flow control (Map.Metered) and Linux 5.13
	// or later (CheckFlowControl); Serve refuses to start without them. Off by default for now: when both
	// directions of an echo are held at once, the transfer slows down
	// several times (docs/reliability.md).
	FlowControl bool
	// Logf, if set, receives one line per notable event.
	Logf func(format string, args ...any)

	// finWait replaces the constant finWait when not zero: a test
	// makes the proxy impatient with it, to show that late bytes of a
	// metered map are waited for however long they take.
	finWait time.Duration

	accepted, active, failedDials, relayed, closed, aborted, held atomic.Int64
}

// ProxyStats counts a Proxy's connections.
type ProxyStats struct {
	Accepted    int64 // clients accepted
	Active      int64 // connections being proxied now
	FailedDials int64 // clients reset because the upstream could not be reached
	Relayed     int64 // connections relayed in user space (closed too early to pair)
	Closed      int64 // connections finished
	Aborted     int64 // connections reset because Serve stopped before they ended
	// Held counts the times a connection's bytes were held back because
	// its other side fell behind, and relayed by the proxy; see
	// proxyflow.go.
	Held int64
}

// Stats returns the connection counts.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{Accepted: p.accepted.Load(), Active: p.active.Load(), FailedDials: p.failedDials.Load(),
		Relayed: p.relayed.Load(), Closed: p.closed.Load(), Aborted: p.aborted.Load(), Held: p.held.Load()}
}

// DefaultSendBuffer is the default of Proxy.SendBuffer, as given to
// setsockopt (the kernel doubles it). The kernel sends redirected bytes
// from a per-socket backlog worker; when the target socket's send buffer
// is full, the worker retries one jiffy later (4 ms at HZ=250), and the
// wakeup that space frees up does not bring a retry already scheduled
// forward (sk_psock_backlog and sk_psock_write_space, net/core/skmsg.c).
// With the kernel's autotuned send buffer, one iperf3 flow through the
// proxy ran at 4.2-4.6 Gbit/s, against 21 direct; with 4 MiB here 8-9,
// with 8 MiB 12-14, with 16 MiB no more (docs/benchmarks.md). The buffer
// is a limit, not an allocation: a socket holds that much only when its
// peer stops reading, and it is counted in tcp_mem like any other.
const DefaultSendBuffer = 8 << 20

// defaultDialTimeout bounds an upstream connect when Proxy.DialTimeout
// is 0.
const defaultDialTimeout = 5 * time.Second

// setSendBuffer applies SendBuffer to a socket.
func (p *Proxy) setSendBuffer(fd int) error {
	n := p.SendBuffer
	if n < 0 {
		return nil
	}
	if n == 0 {
		n = DefaultSendBuffer
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, n); err == nil {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, n); err != nil {
		return fmt.Errorf("set the send buffer: %w", err)
	}
	return nil
}

func (p *Proxy) logf(format string, args ...any) {
	if p.Logf != nil {
		p.Logf(format, args...)
	}
}

// half is one socket of a pair. A pair made of one socket (echo) has
// peer == itself.
type half struct {
	conn *net.TCPConn // until detach; then nil
	fd   int
	addr string // the remote address, for messages
	peer *half
	pair *pair
	// sent0 is bytes_acked + SIOCOUTQ when the pair was made: the SYN of
	// a socket we connected counts in bytes_acked.
	sent0  uint64
	cookie uint64 // SO_COOKIE, its key in the map
	fin    bool   // this socket received FIN
	shut   bool   // its writing side is shut down: its peer's FIN went out of it
	// pending: FIN seen, the peer's writing side waits for the bytes
	// received before the FIN to reach it.
	pending  bool
	progress uint64    // bytes written to the peer at the last check
	since    time.Time // when progress last changed
	// taken is what the program had forwarded (redirected or held) at
	// the last check, takenAt when that last changed.
	taken   uint64
	takenAt time.Time
	// gate meters the bytes that arrive on this socket (nil: the
	// program does not meter the map).
	gate *gate
	// refs counts the holds on fd: the pair's, and its relays' (see
	// hold); the last release closes it.
	refs atomic.Int32
}

type pair struct {
	halves []*half
	done   bool
}

// server is the state of one Serve call.
type server struct {
	p    *Proxy
	mu   sync.Mutex
	ep   int
	wake [2]int
	// conns holds the paired sockets by file descriptor, relays the
	// connections relayed in user space; both nil once Serve has reset
	// what was left.
	conns  map[int32]*half
	relays map[*relayed]bool
	// open counts the pairs and relays that have not ended; ended
	// receives a token each time one ends, for the drain.
	open  int
	ended chan struct{}
	// heldRelays counts the relays of held bytes (relayHeld) still at
	// work: Serve waits for them, as they use the maps of the Proxy.
	heldRelays sync.WaitGroup
}

// Serve accepts clients on ln, which must be a TCP listener, until ctx is
// done or ln fails; it closes every connection it proxies before
// returning. A Proxy may serve several listeners at once.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	if p.Map == nil {
		return errors.New("proxy: no map")
	}
	if p.FlowControl {
		if err := CheckFlowControl(p.Map); err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
	}
	if p.Upstream != "" {
		// Checked once here, not at each client's dial: an address
		// such as ::1:80 (an IPv6 address wants brackets) would
		// otherwise reset every client.
		if _, _, err := net.SplitHostPort(p.Upstream); err != nil {
			return fmt.Errorf("proxy: upstream: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &server{p: p, conns: map[int32]*half{}, relays: map[*relayed]bool{}, ended: make(chan struct{}, 1)}
	var err error
	if s.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("proxy: epoll: %w", err)
	}
	defer unix.Close(s.ep)
	if err := unix.Pipe2(s.wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return fmt.Errorf("proxy: pipe: %w", err)
	}
	defer unix.Close(s.wake[0])
	defer unix.Close(s.wake[1])
	if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_ADD, s.wake[0], &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(s.wake[0])}); err != nil {
		return fmt.Errorf("proxy: epoll: %w", err)
	}

	// The event loop outlives ctx: it forwards FINs while the open
	// connections drain.
	loopCtx, stopLoop := context.WithCancel(context.Background())
	defer stopLoop()
	loopErr := make(chan error, 1)
	go func() {
		err := s.loop(loopCtx)
		cancel() // a dead event loop ends the Serve
		loopErr <- err
	}()
	stopAccept := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopAccept:
		}
		ln.Close()
	}()

	var wg sync.WaitGroup
	var serveErr error
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				// Out of descriptors or a passing failure: retry, as
				// net/http does, instead of giving up the listener.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				p.logf("proxy: accept: %v; retrying in %v", err, backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-ctx.Done():
				}
				break
			}
			serveErr = fmt.Errorf("proxy: accept: %w", err)
			break
		}
		backoff = 0
		tc, ok := c.(*net.TCPConn)
		if !ok {
			c.Close()
			serveErr = fmt.Errorf("proxy: %T: not a TCP listener", ln)
			break
		}
		p.accepted.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.connect(ctx, tc)
		}()
	}
	close(stopAccept)
	cancel()
	s.drain()
	stopLoop()
	s.interrupt()
	if err := <-loopErr; err != nil && serveErr == nil {
		serveErr = err
	}
	s.abort()
	wg.Wait()
	// abort closed every gate, which stops a relay within relayPoll.
	s.heldRelays.Wait()
	return serveErr
}

// drain waits until every open connection has ended, or Drain has
// passed, or Abort is closed.
func (s *server) drain() {
	p := s.p
	s.mu.Lock()
	open := s.open
	s.mu.Unlock()
	if open == 0 || p.Drain <= 0 {
		return
	}
	p.logf("proxy: draining %d connections for up to %v", open, p.Drain)
	timer := time.NewTimer(p.Drain)
	defer timer.Stop()
	for {
		s.mu.Lock()
		open = s.open
		s.mu.Unlock()
		if open == 0 {
			return
		}
		select {
		case <-s.ended:
		case <-timer.C:
			return
		case <-p.Abort:
			return
		}
	}
}

// abort resets every connection still open, paired or relayed, and makes
// connect reset any it completes from now on.
func (s *server) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.conns {
		if !h.pair.done {
			n++
			s.p.aborted.Add(1)
			s.finish(h.pair, true)
		}
	}
	for r := range s.relays {
		// The relay's pumps fail on the reset sockets and return.
		n++
		s.p.aborted.Add(1)
		for _, c := range r.conns {
			resetConn(c)
		}
	}
	s.conns, s.relays = nil, nil
	if n > 0 {
		s.p.logf("proxy: stopped with %d connections open; reset them", n)
	}
}

// endOne records the end of a pair or relay; s.mu is held.
func (s *server) endOne() {
	s.open--
	select {
	case s.ended <- struct{}{}:
	default:
	}
}

// connect dials the upstream for a client and pairs the two (or pairs the
// client with itself).
func (s *server) connect(ctx context.Context, client *net.TCPConn) {
	p := s.p
	up := client
	if p.Upstream != "" {
		// Read here, not defaulted into p by Serve: one Proxy may serve
		// several listeners at once.
		d := net.Dialer{Timeout: cmp.Or(p.DialTimeout, defaultDialTimeout)}
		c, err := d.DialContext(ctx, "tcp", p.Upstream)
		if err != nil {
			p.failedDials.Add(1)
			p.logf("proxy: %s: upstream %s: %v; resetting the client", client.RemoteAddr(), p.Upstream, err)
			resetConn(client)
			return
		}
		up = c.(*net.TCPConn)
	}
	halves, err := newPair(client, up)
	if err == nil {
		for _, h := range halves.halves {
			if err = p.setSendBuffer(h.fd); err != nil {
				break
			}
		}
	}
	if err == nil {
		for _, h := range halves.halves {
			if h.gate, err = newGate(p.Map, h.cookie, p.FlowControl); err != nil {
				err = fmt.Errorf("proxy: flow entries: %w", err)
				break
			}
		}
	}
	if err == nil {
		err = p.Map.Pair(client, up)
	}
	if err != nil {
		if halves != nil {
			for _, h := range halves.halves {
				if h.gate != nil {
					h.gate.close()
				}
			}
		}
		if errors.Is(err, unix.EOPNOTSUPP) && up != client {
			// One side closed or reset its connection already (the
			// kernel takes only established sockets): relay this
			// connection in user space, which passes on what was sent
			// and how it ended.
			who := "the client"
			if connState(up) != tcpEstablished {
				who = "the upstream"
			}
			p.logf("proxy: %s: %s closed or reset its side before the pair was made; relaying it in user space", client.RemoteAddr(), who)
			s.relay(func() { relay(client, up) }, client, up)
			return
		}
		if errors.Is(err, unix.EOPNOTSUPP) {
			// An echo client that wrote and closed its side before
			// it was paired (echo hi | socat ...): echo it in user
			// space, or its bytes would be lost.
			p.logf("proxy: %s closed or reset its side before it was paired; echoing it in user space", client.RemoteAddr())
			s.relay(func() { echoRelay(client) }, client)
			return
		}
		p.logf("proxy: %s: %v; resetting the client", client.RemoteAddr(), err)
		resetConn(client)
		resetConn(up)
		p.closed.Add(1)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil { // Serve has stopped: nothing would watch the pair
		p.aborted.Add(1)
		resetConn(client)
		resetConn(up)
		return
	}
	for _, h := range halves.halves {
		if err := h.detach(); err != nil {
			p.logf("%v; resetting the client", err)
			for _, h := range halves.halves {
				unix.SetsockoptLinger(h.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
				if h.conn != nil {
					h.conn.Close()
				} else {
					unix.Close(h.fd)
				}
			}
			p.closed.Add(1)
			return
		}
	}
	p.active.Add(1)
	s.open++
	for _, h := range halves.halves {
		s.conns[int32(h.fd)] = h
		ev := unix.EpollEvent{Events: unix.EPOLLRDHUP, Fd: int32(h.fd)}
		if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_ADD, h.fd, &ev); err != nil {
			p.logf("proxy: %s: epoll: %v; closing", client.RemoteAddr(), err)
			s.finish(halves, true)
			return
		}
	}
	if p.FlowControl {
		// The event loop may be waiting with no timeout: it has the
		// flows of the new pair to meter.
		s.interrupt()
	}
	if up == client {
		p.logf("proxy: %s echoed in the kernel", client.RemoteAddr())
	} else {
		p.logf("proxy: %s <-> %s paired in the kernel", client.RemoteAddr(), up.RemoteAddr())
	}
}

// relay runs fn, a relay of conns in user space, as one open connection
// that a stopping Serve drains and then resets.
func (s *server) relay(fn func(), conns ...*net.TCPConn) {
	p := s.p
	s.mu.Lock()
	if s.relays == nil { // Serve has stopped
		s.mu.Unlock()
		p.aborted.Add(1)
		for _, c := range conns {
			resetConn(c)
		}
		return
	}
	r := &relayed{conns}
	s.relays[r] = true
	s.open++
	s.mu.Unlock()
	p.relayed.Add(1)
	p.active.Add(1)
	fn()
	p.active.Add(-1)
	p.closed.Add(1)
	s.mu.Lock()
	delete(s.relays, r)
	s.endOne()
	s.mu.Unlock()
}

// relayed is a connection relayed in user space: its sockets.
type relayed struct{ conns []*net.TCPConn }

func newPair(a, b *net.TCPConn) (*pair, error) {
	pr := &pair{}
	conns := []*net.TCPConn{a, b}
	if a == b {
		conns = conns[:1]
	}
	for _, c := range conns {
		h := &half{conn: c, pair: pr, addr: c.RemoteAddr().String()}
		h.refs.Store(1)
		if err := withFD(c, func(fd int) error { h.fd = fd; return nil }); err != nil {
			return nil, err
		}
		sent, _, _, err := sendQueue(h.fd)
		if err != nil {
			return nil, err
		}
		h.sent0 = sent
		if h.cookie, err = unix.GetsockoptUint64(h.fd, unix.SOL_SOCKET, unix.SO_COOKIE); err != nil {
			return nil, fmt.Errorf("proxy: %s: socket cookie: %w", h.addr, err)
		}
		pr.halves = append(pr.halves, h)
	}
	pr.halves[0].peer = pr.halves[len(pr.halves)-1]
	pr.halves[len(pr.halves)-1].peer = pr.halves[0]
	return pr, nil
}

// sendQueue reads the sending side of a TCP socket: every byte written to
// it (acknowledged plus still queued: tcpi_bytes_acked + SIOCOUTQ), the
// queued part alone, and its TCP state.
func sendQueue(fd int) (sent uint64, queued int, state uint8, err error) {
	info, err := unix.GetsockoptTCPInfo(fd, unix.SOL_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, 0, 0, err
	}
	queued, err = unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	if err != nil {
		return 0, 0, 0, err
	}
	return info.Bytes_acked + uint64(queued), queued, info.State, nil
}

func (s *server) interrupt() { unix.Write(s.wake[1], []byte{1}) }

// loop waits for the sockets' events until ctx is done. A FIN on one side
// becomes a shutdown of the other side's writing half once every byte
// received before it has reached that side; an error or reset on either
// side resets both.
func (s *server) loop(ctx context.Context) error {
	events := make([]unix.EpollEvent, 64)
	timeout := -1
	nextTick := time.Now()
	for {
		n, err := unix.EpollWait(s.ep, events, timeout)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("proxy: epoll_wait: %w", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			if ev.Fd == int32(s.wake[0]) {
				var b [64]byte
				unix.Read(s.wake[0], b[:])
				continue
			}
			h, ok := s.conns[ev.Fd]
			if !ok || h.pair.done {
				continue
			}
			switch {
			case ev.Events&unix.EPOLLERR != 0:
				s.reset(h, nil)
			case ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 && !h.fin && h.wasReset():
				s.reset(h, nil)
			case ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 && !h.fin:
				now := time.Now()
				h.fin, h.pending, h.since, h.takenAt = true, true, now, now
				// RDHUP is level-triggered and stays; keep watching
				// edge-triggered so that a later reset (ERR) is seen
				// without waking up for the FIN again.
				unix.EpollCtl(s.ep, unix.EPOLL_CTL_MOD, h.fd, &unix.EpollEvent{Events: unix.EPOLLRDHUP | unix.EPOLLET, Fd: ev.Fd})
			}
		}
		timeout = s.forwardFINs()
		if s.p.FlowControl && len(s.conns) > 0 {
			now := time.Now()
			if !now.Before(nextTick) {
				nextTick = now.Add(s.tickFlows())
			}
			if tick := int(max(nextTick.Sub(now), time.Millisecond) / time.Millisecond); timeout < 0 || timeout > tick {
				timeout = tick
			}
		}
		s.mu.Unlock()
	}
}

// How long a FIN waits for the bytes before it. A FIN goes out only once
// every byte before it has reached the other side's TCP; bytes that will
// never arrive make the proxy reset both sides instead, since a FIN would
// pass the stream off as whole. Telling late bytes from lost ones:
//
//   - For a map the program meters (Map.Metered), the program's own count
//     says it: the bytes it redirected (or held, for the flow control's
//     relay) are in the kernel's hands and arrive unless the other side
//     fails, which the proxy sees. Only bytes it did not forward (it
//     dropped or passed them, or a redirect found no peer) are lost, and
//     that count is final once the verdict has run on the bytes before
//     the FIN: finUncounted after its last change. Late bytes are waited
//     for; the kernel's backlog of a loaded peer was seen idle for over a
//     second with every byte in it (docs/reliability.md), and finStall
//     only bounds a backlog that never moves.
//   - For a map it does not meter (an object from elsewhere), the proxy
//     can only guess: bytes that make no progress for finWait while the
//     other side's send queue is empty are taken for lost.
const (
	finUncounted = 100 * time.Millisecond
	finStall     = 30 * time.Second
	finWait      = time.Second
)

// forwardFINs shuts down the writing half of every socket whose peer sent
// FIN, once the bytes before the FIN are all in it, and closes pairs that
// are done. It returns the epoll timeout: a short poll while a FIN waits
// for bytes (the kernel gives no event for that), else none.
func (s *server) forwardFINs() int {
	wait := -1
	for _, h := range s.conns {
		if !h.pending || h.pair.done {
			continue
		}
		if h.wasReset() { // a reset after the FIN
			s.reset(h, nil)
			continue
		}
		done, broken, outq, received := s.forwarded(h)
		if broken != nil {
			s.reset(h.peer, broken)
			continue
		}
		if bad := s.wrongBeforeFIN(h, done, received, outq, time.Now()); bad != "" {
			s.p.logf("proxy: %s: %s; resetting both", h.addr, bad)
			s.finish(h.pair, true)
			continue
		}
		if !done {
			// Back off from 1ms to 50ms while it waits.
			d := min(max(int(time.Since(h.since)/time.Millisecond/10), 1), 50)
			if wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		h.pending = false
		unix.Shutdown(h.peer.fd, unix.SHUT_WR)
		h.peer.shut = true
		if all(h.pair, func(x *half) bool { return x.fin && !x.pending }) {
			s.finish(h.pair, false)
		}
	}
	return wait
}

// wrongBeforeFIN says why the peer of src can never get exactly the bytes
// src received before its FIN (received counts the FIN as one), or ""
// while it may still: some will never arrive (see finUncounted), or the
// kernel forwarded some twice. done: the peer's TCP has taken as many
// bytes as arrived; outq is its send queue.
//
// The kernel forwards bytes twice when a segment that repeats bytes
// already received (a retransmission that covers bytes that arrived and
// bytes that did not) lands on the receive queue whole: a reader skips
// the old head by its sequence number, but tcp_read_skb hands the whole
// skb to the stream verdict, which redirects all of it
// (TestProxyOverlappingRetransmit). The program's count then exceeds
// what TCP received, and that stream is corrupt: a FIN would pass it off
// as whole.
func (s *server) wrongBeforeFIN(src *half, done bool, received uint64, outq int, now time.Time) string {
	if src.gate == nil {
		if !done && outq == 0 && now.Sub(src.since) > cmp.Or(s.p.finWait, finWait) {
			return "bytes before the FIN never reached the other side"
		}
		return ""
	}
	v, err := src.gate.value()
	if err != nil {
		return fmt.Sprintf("reading the program's count: %v", err)
	}
	if taken := v.Redirected + v.Passed; taken != src.taken {
		src.taken, src.takenAt = taken, now
	}
	switch {
	case src.taken+1 > received:
		return fmt.Sprintf("the kernel forwarded %d bytes, %d more than arrived before the FIN: it sent a retransmitted segment's repeated head again (docs/reliability.md)", src.taken, src.taken+1-received)
	case done:
		return ""
	case src.taken+1 < received && now.Sub(src.takenAt) >= finUncounted:
		return fmt.Sprintf("the program forwarded %d of the %d bytes before the FIN, so the rest will never arrive", src.taken, received-1)
	case src.taken+1 >= received && outq == 0 && now.Sub(src.since) >= finStall:
		return fmt.Sprintf("the kernel sent none of the bytes it holds for the other side for %v", finStall)
	}
	return ""
}

func all(pr *pair, f func(*half) bool) bool {
	for _, h := range pr.halves {
		if !f(h) {
			return false
		}
	}
	return true
}

// forwarded reports whether every byte src received (tcpi_bytes_received,
// which counts the FIN as one; also returned) has been written to its
// peer since the pair was made, and the peer's send queue. broken
// reports that the peer failed (reset, error), so the bytes never will
// arrive.
func (s *server) forwarded(src *half) (done bool, broken error, outq int, received uint64) {
	dst := src.peer
	soerr, err := unix.GetsockoptInt(dst.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	if err != nil {
		return false, err, 0, 0
	}
	si, err := unix.GetsockoptTCPInfo(src.fd, unix.SOL_TCP, unix.TCP_INFO)
	if err != nil {
		return false, err, 0, 0
	}
	sent, outq, state, err := sendQueue(dst.fd)
	if err == nil && state == tcpClose {
		err = errPeerClosed
	}
	if err != nil {
		return false, err, 0, 0
	}
	written := sent - dst.sent0
	if written != src.progress {
		src.progress, src.since = written, time.Now()
	}
	return written >= si.Bytes_received-1, nil, outq, si.Bytes_received
}

// errPeerClosed is the failure of a socket that is closed without an error
// left to say why.
var errPeerClosed = errors.New("connection reset")

// TCP_ESTABLISHED and TCP_CLOSE in tcpi_state.
const (
	tcpEstablished = 1
	tcpClose       = 7
)

// wasReset reports whether a socket that hung up was reset (or failed)
// rather than shut down by a FIN. epoll alone cannot tell: the kernel
// keeps a reset's error only until something reads it, and its own
// forwarding reads it when it sends to the socket, so the proxy may see
// only the hang-up, and would pass a FIN on for the reset.
// (TestProxyFaultClientVanishes saw that under load.) The TCP state
// tells: a FIN leaves a socket in CLOSE_WAIT, a reset in CLOSE. A socket
// whose writing side is shut down reaches CLOSE after a FIN too (through
// TIME_WAIT or LAST_ACK); for it, only the error tells, and nothing
// sends to it any more to read that first.
func (h *half) wasReset() bool {
	return !h.shut && tcpState(h.fd) == tcpClose
}

// tcpState returns the tcpi_state of a socket; TCP_CLOSE if it cannot
// be read.
func tcpState(fd int) uint8 {
	info, err := unix.GetsockoptTCPInfo(fd, unix.SOL_TCP, unix.TCP_INFO)
	if err != nil {
		return tcpClose
	}
	return info.State
}

// connState is tcpState of a connection.
func connState(c *net.TCPConn) uint8 {
	state := uint8(tcpClose)
	withFD(c, func(fd int) error { state = tcpState(fd); return nil })
	return state
}

// reset ends the pair of h, which failed with why (nil: its socket
// error says), with resets, and logs one line for it.
func (s *server) reset(h *half, why error) {
	if why == nil {
		why = errPeerClosed
		if soerr, err := unix.GetsockoptInt(h.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && soerr != 0 {
			why = unix.Errno(soerr)
		}
	}
	client, up := h.pair.halves[0], h.pair.halves[len(h.pair.halves)-1]
	switch h {
	case up:
		if client == up {
			s.p.logf("proxy: %s: %v; resetting it", client.addr, why)
		} else {
			s.p.logf("proxy: %s <-> %s: upstream: %v; resetting the client", client.addr, up.addr, why)
		}
	default:
		s.p.logf("proxy: %s <-> %s: client: %v; resetting the upstream", client.addr, up.addr, why)
	}
	s.finish(h.pair, true)
}

// finish closes the sockets of a pair; reset sends RST (after an error or
// reset on one side).
func (s *server) finish(pr *pair, reset bool) {
	if pr.done {
		return
	}
	pr.done = true
	// Count first: the peers learn of the end from the close below.
	s.p.active.Add(-1)
	s.p.closed.Add(1)
	s.endOne()
	// The sockets leave their maps as they close, under each socket's
	// lock (sock_map_close), not by a delete from the maps first: before
	// 5.13 a delete tears the psock down in the bpf syscall without the
	// lock of its queues, which its backlog worker may be emptying at
	// that moment, and Linux 5.10 crashed so (a NULL pointer dereference
	// in sk_psock_drop, once in 14 runs of e2e's TestIntegrityProxy).
	for _, h := range pr.halves {
		unix.EpollCtl(s.ep, unix.EPOLL_CTL_DEL, h.fd, nil)
		delete(s.conns, int32(h.fd))
		if h.gate != nil {
			h.gate.close()
		}
		if reset {
			unix.SetsockoptLinger(h.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		}
		// A relay still at work closes it when it stops (see hold).
		h.release()
	}
}

// detach takes a paired socket away from Go's network poller, keeping it
// open as a plain descriptor that only the proxy's own epoll watches, and
// only for hang-ups. The poller watches every socket it owns for
// EPOLLOUT, edge-triggered, and a socket that the kernel transmits from
// signals that on every acknowledgement that frees buffer space: with the
// sockets left there, a bulk transfer woke the proxy process about 14,000
// times a second, for nothing, on the CPUs the kernel's own forwarding
// needs.
func (h *half) detach() error {
	fd, err := unix.FcntlInt(uintptr(h.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("proxy: %s: %w", h.addr, err)
	}
	// Closing the Go connection closes only its descriptor: the socket
	// lives on through fd, in the maps and in the kernel.
	h.conn.Close()
	h.conn, h.fd = nil, fd
	return nil
}

// relay copies a connection in user space, both ways, with read/write
// loops (io.Copy would splice). It is the fallback for clients that close
// their side before they can be paired. As in the kernel path, a FIN
// becomes a FIN and a reset (or any other failure) a reset: turning a
// reset into a FIN would pass a truncated stream off as complete.
func relay(a, b *net.TCPConn) {
	var wg sync.WaitGroup
	ends := [2]relayEnd{{conn: a}, {conn: b}}
	pump := func(dst, src *relayEnd) {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := src.conn.Read(buf)
			if n > 0 {
				if _, werr := dst.conn.Write(buf[:n]); werr != nil {
					resetConn(src.conn)
					return
				}
			}
			if errors.Is(err, io.EOF) && !src.wasReset() {
				dst.shut.Store(true)
				dst.conn.CloseWrite()
				return
			}
			if err != nil {
				// src was reset, or closed by the other pump after a
				// failure: the other side learns of it the same way.
				resetConn(dst.conn)
				return
			}
		}
	}
	wg.Add(2)
	go pump(&ends[1], &ends[0])
	go pump(&ends[0], &ends[1])
	wg.Wait()
	a.Close()
	b.Close()
}

// echoRelay is relay for a connection paired with itself: it writes back
// what it reads, then passes the FIN or the reset on, the same way.
func echoRelay(c *net.TCPConn) {
	e := &relayEnd{conn: c}
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				resetConn(c)
				return
			}
		}
		if errors.Is(err, io.EOF) && !e.wasReset() {
			c.CloseWrite()
			c.Close()
			return
		}
		if err != nil {
			resetConn(c)
			return
		}
	}
}

// relayEnd is one connection of a relay.
type relayEnd struct {
	conn *net.TCPConn
	shut atomic.Bool // the other end's FIN went out of it
}

// wasReset tells a reset from a FIN after a read returned EOF: the
// kernel reports a reset's error once, to the first read or write after
// it, and when the other pump's write took it, the read sees only EOF.
// The TCP state tells, as in half.wasReset; shut records that the
// socket's own writing side is shut down.
func (e *relayEnd) wasReset() bool {
	// The state first, then shut: the other pump sets shut before it
	// shuts the socket down, so a socket that reached CLOSE through its
	// own FIN always shows shut here.
	return connState(e.conn) == tcpClose && !e.shut.Load()
}

// resetConn closes c with SO_LINGER 0, which sends RST.
func resetConn(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}
