package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Pairing: a client and its upstream become a pair of sockets in the
// map, metered, watched by the event loop.

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
