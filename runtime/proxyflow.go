package runtime

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/runtime/features"
)

// Flow control of paired sockets.
//
// The kernel queues each redirected skb on the peer's psock and sends it
// from a worker, with no limit on that queue: the verdict has taken the
// bytes off the receiving socket, so its TCP window stays open however
// far behind the peer is. An upstream that stops reading let one client
// queue gigabytes there (docs/reliability.md). The compiler meters every
// `redirect peer` in an sk_skb handler (abi.FlowMap): it redirects an
// skb only while the bytes redirected stay under a limit the proxy sets,
// and otherwise passes the skb to the receiving socket's own queue, where
// it counts against the socket's receive buffer and closes its TCP window
// as a proxy in user space would. The proxy keeps each direction's limit
// a window ahead of the bytes that have reached the peer's TCP, and
// relays what was passed itself once the peer's backlog is empty, so
// that no byte overtakes another; when every passed byte is relayed, the
// program goes back to redirecting.
const (
	// minFlowWindow is the least that may wait in a peer's backlog: more
	// than a burst of a connection that was idle (the proxy looks at
	// idle ones every flowIdle), so a healthy flow is never held.
	minFlowWindow = 16 << 20
	// maxFlowWindow bounds the window of a fast flow, which is what
	// drains in flowLead.
	maxFlowWindow = 256 << 20
	// flowLead is how far ahead of a flow the limit is kept.
	flowLead = 200 * time.Millisecond
	// flowIdle is the longest the proxy waits between looks at the
	// flows; it looks sooner at a flow that would use up half its
	// headroom before that, and never more often than flowMinTick.
	flowIdle    = 100 * time.Millisecond
	flowMinTick = 5 * time.Millisecond
	// relayPoll bounds each wait of a relay, after which it checks that
	// its pair still stands.
	relayPoll = 50 * time.Millisecond
)

// CheckFlowControl says why the proxy cannot bound what the kernel
// queues for the pairs of map m on this kernel, or returns nil. The
// program must meter m, and the kernel must tear a psock down under the
// lock of its queues: on Linux 5.10, which does not
// (features.HasUnlockedPsockTeardown), the relay of held bytes, reading
// a socket's psock queue as the pair closed, made the kernel warn in
// sock_map_destroy and leak the socket once in every boot of the kernel
// matrix that ran runtime's TestProxyStalledMemory.
func CheckFlowControl(m *Map) error {
	if !m.Metered() {
		return fmt.Errorf("flow control: the program does not meter map %s: it needs `redirect peer` in a stream or skb verdict handler, compiled by this version of sockc", m.Name())
	}
	return FlowControlSupported()
}

// FlowControlSupported is CheckFlowControl's question of the kernel
// alone: nil where its teardown of a psock is safe for the relay.
func FlowControlSupported() error {
	k, err := features.Running()
	if err != nil {
		return fmt.Errorf("flow control: %w", err)
	}
	if features.HasUnlockedPsockTeardown(k) {
		return fmt.Errorf("flow control needs Linux 5.13 or later: Linux %s tears a socket's psock down without the lock of its queues, and the relay of held bytes races that teardown (a kernel WARNING, a socket leaked; `sockc doctor` lists the bug)", k.Version.Short())
	}
	return nil
}

// gate is the flow control of the bytes that arrive on one socket of a
// pair, on their way to its peer.
type gate struct {
	flow, ctl *ebpf.Map
	key       uint64 // the socket's cookie

	mu sync.Mutex
	// limit and relayed are the abi.FlowCtlMap value as last written:
	// relayed counts the held bytes the proxy wrote to the peer itself.
	limit, relayed uint64
	window         uint64    // how far limit was set past reached
	reached        uint64    // redirected bytes in the peer's TCP at the last top-up
	at             time.Time // when reached was read
	seen           uint64    // redirected bytes at the last look
	seenAt         time.Time
	relaying, done bool
}

// flowValue is an abi.FlowMap value: its slots abi.FlowRedirected and
// abi.FlowPassed.
type flowValue struct{ Redirected, Passed uint64 }

// newGate makes the flow entries of the socket with cookie key before it
// joins the map; nil when the program does not meter the map. The
// proxy meters every socket it can, flow control or not: the program's
// count of the bytes it forwarded is what tells a FIN whose bytes are
// late from one whose bytes are lost (forwardFINs). Without limited, the
// limit is never reached and nothing is held.
func newGate(m *Map, key uint64, limited bool) (*gate, error) {
	if !m.Metered() {
		return nil, nil
	}
	now := time.Now()
	g := &gate{flow: m.flow, ctl: m.flowCtl, key: key, limit: math.MaxUint64, window: minFlowWindow, at: now, seenAt: now}
	if limited {
		g.limit = minFlowWindow
	}
	if err := m.flow.Update(key, flowValue{}, ebpf.UpdateAny); err != nil {
		return nil, err
	}
	if err := m.flowCtl.Update(key, [abi.NumFlowCtls]uint64{g.limit, 0}, ebpf.UpdateAny); err != nil {
		m.flow.Delete(key)
		return nil, err
	}
	return g, nil
}

// close removes the gate's entries; its relay, if one runs, stops at
// its next check.
func (g *gate) close() {
	g.mu.Lock()
	g.done = true
	g.mu.Unlock()
	g.flow.Delete(g.key)
	g.ctl.Delete(g.key)
}

// value reads the program's counts.
func (g *gate) value() (flowValue, error) {
	var v flowValue
	err := g.flow.Lookup(g.key, &v)
	return v, err
}

// writeCtl stores limit and relayed; g.mu is held. UpdateExist: a gate
// closed meanwhile stays gone.
func (g *gate) writeCtl() error {
	return g.ctl.Update(g.key, [abi.NumFlowCtls]uint64{g.limit, g.relayed}, ebpf.UpdateExist)
}

// reachedPeer returns how many redirected bytes are in the TCP of dst,
// the peer: all it was sent since the pair was made, less what the relay
// wrote. bytes_acked is read before SIOCOUTQ, so a send acknowledged
// between the two is missed, never counted twice.
func (g *gate) reachedPeer(dst *half) (uint64, error) {
	sent, _, _, err := sendQueue(dst.fd)
	if err != nil {
		return 0, err
	}
	return sent - dst.sent0 - g.relayed, nil
}

// topUp moves the limit a window past the redirected bytes the peer's
// TCP has taken: what it takes in flowLead at the rate it took them since
// the last top-up, within [minFlowWindow, maxFlowWindow], and at most
// twice the last window. The doubling bound is for a peer that stalls at
// once: its TCP first takes a send buffer and a receive buffer in a few
// milliseconds, a rate that alone would open the window to its maximum
// just before nothing more drains (the matrix saw 160 MiB taken from a
// client so). A sustained fast flow still reaches the maximum in four
// top-ups. g.mu is held.
func (g *gate) topUp(dst *half, now time.Time) {
	reached, err := g.reachedPeer(dst)
	if err != nil {
		return
	}
	window := uint64(minFlowWindow)
	if elapsed := now.Sub(g.at); reached > g.reached && elapsed > 0 {
		lead := float64(reached-g.reached) * float64(flowLead) / float64(elapsed)
		window = min(max(window, uint64(lead)), 2*g.window, maxFlowWindow)
	}
	g.reached, g.at, g.window = reached, now, window
	if limit := reached + window; limit != g.limit {
		g.limit = limit
		g.writeCtl()
	}
}

// tickFlows looks at every gate: it tops up those that have used half
// their headroom, and starts a relay for each socket that holds bytes.
// It returns when to look again; s.mu is held.
func (s *server) tickFlows() time.Duration {
	now := time.Now()
	next := flowIdle
	for _, h := range s.conns {
		g := h.gate
		if g == nil || h.pair.done {
			continue
		}
		v, err := g.value()
		if err != nil {
			continue
		}
		g.mu.Lock()
		if v.Redirected+g.window/2 > g.limit {
			g.topUp(h.peer, now)
		}
		if v.Redirected > g.seen {
			// Look again before this flow uses up half its headroom.
			rate := float64(v.Redirected-g.seen) / max(now.Sub(g.seenAt).Seconds(), 1e-3)
			if g.limit > v.Redirected {
				d := time.Duration(float64(g.limit-v.Redirected) / 2 / rate * float64(time.Second))
				next = min(next, max(d, flowMinTick))
			} else {
				next = flowMinTick
			}
		}
		g.seen, g.seenAt = v.Redirected, now
		if v.Passed > g.relayed && !g.relaying {
			g.relaying = true
			s.p.held.Add(1)
			h.hold()
			h.peer.hold()
			s.heldRelays.Add(1)
			go s.relayHeld(h)
		}
		g.mu.Unlock()
	}
	return next
}

// relayHeld writes to its peer the bytes the program held back on h's
// socket, each time after every byte redirected before it has reached
// the peer's TCP, until the program redirects again (or the pair ends:
// its end is the event loop's to handle). It works on the sockets' own
// descriptors, which are non-blocking, waiting with poll; the pair's
// hold keeps them open until it returns.
func (s *server) relayHeld(h *half) {
	g, dst := h.gate, h.peer
	defer func() {
		g.mu.Lock()
		g.relaying = false
		g.mu.Unlock()
		h.release()
		dst.release()
		s.heldRelays.Done()
	}()
	buf := make([]byte, 256<<10)
	for !g.closed() {
		n, err := unix.Read(h.fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			v, verr := g.value()
			g.mu.Lock()
			caughtUp := verr != nil || v.Passed <= g.relayed
			g.mu.Unlock()
			if caughtUp {
				return
			}
			waitFD(h.fd, unix.POLLIN)
			continue
		case err != nil || n == 0:
			return // EOF or a failure: the event loop sees it too
		}
		if !g.drained(dst) {
			return
		}
		for off := 0; off < n; {
			m, err := unix.Write(dst.fd, buf[off:n])
			if errors.Is(err, unix.EAGAIN) {
				if g.closed() {
					return
				}
				waitFD(dst.fd, unix.POLLOUT)
				continue
			}
			if err != nil {
				return
			}
			off += m
		}
		g.mu.Lock()
		g.relayed += uint64(n)
		if reached, err := g.reachedPeer(dst); err == nil {
			g.limit = max(g.limit, reached+g.window)
		}
		g.writeCtl()
		g.mu.Unlock()
	}
}

// closed reports whether the gate's pair has ended.
func (g *gate) closed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.done
}

// drained waits until every byte the program redirected to dst has
// reached dst's TCP, so that a relayed byte cannot overtake one; false
// if the gate closed meanwhile. The redirected count cannot grow while
// bytes are held.
func (g *gate) drained(dst *half) bool {
	for wait := 100 * time.Microsecond; ; wait = min(2*wait, 20*time.Millisecond) {
		v, err := g.value()
		if err != nil {
			return false
		}
		g.mu.Lock()
		done := g.done
		reached, rerr := g.reachedPeer(dst)
		g.mu.Unlock()
		if done || rerr != nil {
			return false
		}
		if reached >= v.Redirected {
			return true
		}
		time.Sleep(wait)
	}
}

// waitFD waits up to relayPoll for fd to be ready for events.
func waitFD(fd int, events int16) {
	unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: events}}, int(relayPoll/time.Millisecond))
}

// hold keeps h's descriptor open for a relay: the last release closes
// it, so that a descriptor number the relay uses is never another
// socket's.
func (h *half) hold() { h.refs.Add(1) }

// release drops the pair's or a relay's hold on h's descriptor.
func (h *half) release() {
	if h.refs.Add(-1) == 0 {
		unix.Close(h.fd)
	}
}
