package runtime

import (
	"context"
	"errors"
	"fmt"
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
	// or later (CheckFlowControl); Serve refuses to start without them.
	// Off by default for now: when both directions of an echo are held
	// at once, the transfer slows down several times
	// (docs/reliability.md).
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
