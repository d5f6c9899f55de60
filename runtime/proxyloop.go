package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// The event loop: FINs forwarded once the bytes before them arrived,
// resets passed on as resets.

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
