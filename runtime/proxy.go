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

// Proxy is an in-kernel TCP proxy: it accepts clients, dials the upstream
// for each, and pairs the two sockets in a map used by `redirect peer`, so
// that the programs move every byte inside the kernel. The Proxy never
// reads or writes the payload: it watches the sockets with epoll for the
// end of each direction (EPOLLRDHUP) and forwards half-closes and resets.
type Proxy struct {
	Map      *Map
	Upstream string
	// DialTimeout bounds the upstream connect (default 5s).
	DialTimeout time.Duration
	// Logf, if set, receives one line per notable event.
	Logf func(format string, args ...any)

	accepted, active, failedDials, closed atomic.Int64

	mu    sync.Mutex
	ep    int
	conns map[int32]*half // by file descriptor
	wake  [2]int          // pipe to interrupt epoll_wait
}

// ProxyStats counts a Proxy's connections.
type ProxyStats struct {
	Accepted    int64 // clients accepted
	Active      int64 // pairs currently proxied
	FailedDials int64 // clients closed because the upstream could not be reached
	Closed      int64 // pairs finished
}

// Stats returns the connection counts.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{Accepted: p.accepted.Load(), Active: p.active.Load(), FailedDials: p.failedDials.Load(), Closed: p.closed.Load()}
}

// half is one socket of a pair.
type half struct {
	conn    *net.TCPConn
	fd      int
	peer    *half
	pair    *pair
	rdhup   bool // this socket received FIN
	pending bool // FIN seen, waiting for the bytes before it to reach the peer
}

type pair struct {
	client, upstream *half
	cookies          [2]uint64
	done             bool
}

func (p *Proxy) logf(format string, args ...any) {
	if p.Logf != nil {
		p.Logf(format, args...)
	}
}

// Serve accepts clients on ln until ctx is done or ln fails. It closes
// every proxied connection before returning.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	if p.DialTimeout == 0 {
		p.DialTimeout = 5 * time.Second
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("proxy: epoll: %w", err)
	}
	if err := unix.Pipe2(p.wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		unix.Close(ep)
		return fmt.Errorf("proxy: pipe: %w", err)
	}
	p.ep = ep
	p.conns = map[int32]*half{}
	unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, p.wake[0], &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p.wake[0])})

	var wg sync.WaitGroup
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		p.loop(ctx)
	}()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var serveErr error
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				serveErr = fmt.Errorf("proxy: accept: %w", err)
			}
			break
		}
		p.accepted.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.connect(ctx, c.(*net.TCPConn))
		}()
	}
	wg.Wait()
	p.interrupt()
	<-loopDone
	p.mu.Lock()
	for _, h := range p.conns {
		h.conn.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	unix.Close(p.wake[0])
	unix.Close(p.wake[1])
	unix.Close(ep)
	return serveErr
}

// connect dials the upstream for a client and pairs the two.
func (p *Proxy) connect(ctx context.Context, client *net.TCPConn) {
	d := net.Dialer{Timeout: p.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", p.Upstream)
	if err != nil {
		p.failedDials.Add(1)
		p.logf("proxy: %s: upstream %s: %v; closing the client", client.RemoteAddr(), p.Upstream, err)
		client.Close()
		return
	}
	up := c.(*net.TCPConn)
	if err := p.Map.Pair(client, up); err != nil {
		p.logf("proxy: %s: %v", client.RemoteAddr(), err)
		client.Close()
		up.Close()
		return
	}
	pr := &pair{}
	ch, err1 := newHalf(client, pr)
	uh, err2 := newHalf(up, pr)
	if err := errors.Join(err1, err2); err != nil {
		p.logf("proxy: %v", err)
		client.Close()
		up.Close()
		return
	}
	ch.peer, uh.peer = uh, ch
	pr.client, pr.upstream = ch, uh
	pr.cookies[0], _ = Cookie(client)
	pr.cookies[1], _ = Cookie(up)
	p.mu.Lock()
	if p.conns == nil {
		p.mu.Unlock()
		client.Close()
		up.Close()
		return
	}
	p.conns[int32(ch.fd)] = ch
	p.conns[int32(uh.fd)] = uh
	p.mu.Unlock()
	p.active.Add(1)
	for _, h := range []*half{ch, uh} {
		ev := unix.EpollEvent{Events: unix.EPOLLRDHUP, Fd: int32(h.fd)}
		if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, h.fd, &ev); err != nil {
			p.logf("proxy: epoll add: %v", err)
		}
	}
	p.logf("proxy: %s <-> %s paired in the kernel", client.RemoteAddr(), up.RemoteAddr())
}

func newHalf(c *net.TCPConn, pr *pair) (*half, error) {
	var fd int
	err := withFD(c, func(f int) error { fd = f; return nil })
	return &half{conn: c, fd: fd, pair: pr}, err
}

func (p *Proxy) interrupt() {
	unix.Write(p.wake[1], []byte{1})
}

// loop waits for the sockets' events. A FIN from one side is forwarded as
// a shutdown of the other side's writing half once every byte received
// before it has reached the other socket; an error or reset closes both.
func (p *Proxy) loop(ctx context.Context) {
	events := make([]unix.EpollEvent, 64)
	timeout := -1
	for {
		n, err := unix.EpollWait(p.ep, events, timeout)
		if err != nil && !errors.Is(err, unix.EINTR) {
			p.logf("proxy: epoll_wait: %v", err)
			return
		}
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			if ev.Fd == int32(p.wake[0]) {
				var b [64]byte
				unix.Read(p.wake[0], b[:])
				continue
			}
			h, ok := p.conns[ev.Fd]
			if !ok || h.pair.done {
				continue
			}
			switch {
			case ev.Events&unix.EPOLLERR != 0:
				// A reset or error on one side resets the other.
				p.finish(h.pair, true)
			case ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 && !h.rdhup:
				// FIN. Nothing more to learn from this socket (and its
				// level-triggered HUP would keep waking us): stop
				// watching it; forwardFINs takes over.
				h.rdhup, h.pending = true, true
				unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, h.fd, nil)
			}
		}
		timeout = p.forwardFINs()
		p.mu.Unlock()
	}
}

// forwardFINs shuts down the writing half of every socket whose peer sent
// FIN, once the peer's bytes are all in it, and closes pairs that are done.
// It returns the epoll timeout: a short poll while some FIN waits for its
// bytes (the kernel gives no event for that), else none.
func (p *Proxy) forwardFINs() int {
	waiting := false
	for _, h := range p.conns {
		if !h.pending || h.pair.done {
			continue
		}
		done, broken := forwarded(h, h.peer)
		if broken {
			p.finish(h.pair, true)
			continue
		}
		if !done {
			waiting = true
			continue
		}
		h.pending = false
		unix.Shutdown(h.peer.fd, unix.SHUT_WR)
		if h.peer.rdhup && !h.peer.pending {
			p.finish(h.pair, false)
		}
	}
	if waiting {
		return 2
	}
	return -1
}

// forwarded reports whether every byte src received has been queued to
// dst's send queue: bytes written to dst (acked plus still queued) cover
// bytes received by src (tcpi_bytes_received counts the FIN as one).
// broken reports that dst failed (reset, error), so the bytes never will.
func forwarded(src, dst *half) (done, broken bool) {
	if soerr, err := unix.GetsockoptInt(dst.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soerr != 0 {
		return false, true
	}
	si, err := unix.GetsockoptTCPInfo(src.fd, unix.SOL_TCP, unix.TCP_INFO)
	if err != nil {
		return false, true
	}
	di, err := unix.GetsockoptTCPInfo(dst.fd, unix.SOL_TCP, unix.TCP_INFO)
	if err != nil || di.State == tcpClose {
		return false, true
	}
	outq, err := unix.IoctlGetInt(dst.fd, unix.SIOCOUTQ)
	if err != nil {
		return false, true
	}
	return di.Bytes_acked+uint64(outq) >= si.Bytes_received-1, false
}

// tcpClose is TCP_CLOSE in tcpi_state.
const tcpClose = 7

// finish closes both sockets of a pair; reset sends RST (for an error or
// reset on one side).
func (p *Proxy) finish(pr *pair, reset bool) {
	if pr.done {
		return
	}
	pr.done = true
	for _, h := range []*half{pr.client, pr.upstream} {
		if !h.rdhup {
			unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, h.fd, nil)
		}
		delete(p.conns, int32(h.fd))
		if reset {
			h.conn.SetLinger(0)
		}
		h.conn.Close()
	}
	p.active.Add(-1)
	p.closed.Add(1)
}
