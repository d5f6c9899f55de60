package runtime

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Relays in user space, for connections the kernel cannot pair.

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
