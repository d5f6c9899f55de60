package runtime_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/runtime"
)

// TestProxyOverlappingRetransmit is issue 14's duplicated bytes, forced.
// A TCP segment whose head the receiver already has (a retransmission
// that covers bytes that arrived and bytes that did not) is queued whole
// on the receive queue; a reader skips the old head by its sequence
// number, but the kernel's tcp_read_skb hands the whole skb to the
// stream verdict, and the redirect sends the old head out a second time.
// Under load, spurious retransmissions on loopback (bytes_retrans,
// dsack_dups in `ss -ti`) make such segments, and the probe got
// runs of 2 x 47,616 bytes twice.
//
// The test writes the segment itself: a client sends 1,000 bytes through
// the proxy, goes silent (TCP_REPAIR), and a raw socket sends its next
// segment as a retransmission would, with the last 500 bytes again and
// 300 new ones, then a FIN. The upstream must see either exactly the
// 1,300 bytes and a clean end, or a reset that the proxy explains: never
// a clean end after wrong bytes. On kernels that duplicate (6.18 here,
// and the matrix's), the program's count exceeds what TCP received, and
// the proxy resets.
func TestProxyOverlappingRetransmit(t *testing.T) {
	rt := loadProxyExample(t)
	m, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	up := listen(t)
	got := make(chan sinkResult, 1)
	go func() {
		c, err := up.Accept()
		if err != nil {
			got <- sinkResult{err: err}
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, err := io.ReadAll(c)
		got <- sinkResult{b, err}
	}()
	var log proxyLog
	p := &runtime.Proxy{Map: m, Upstream: up.Addr().String(), DialTimeout: time.Minute, Logf: log.logf}
	c := dialPaired(t, p, serve(t, p, listen(t)))
	data := bytes.Repeat([]byte("0123456789"), 130) // 1,300 bytes
	if _, err := c.Write(data[:1000]); err != nil {
		t.Fatal(err)
	}
	seg, err := silence(c)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	// The proxy's socket has taken the 1,000 bytes once the client's
	// send queue is empty; silence waited for that.
	if err := seg.inject(seg.sndNxt-500, data[500:], tcpACK|tcpPSH); err != nil {
		t.Fatalf("inject the overlapping segment: %v", err)
	}
	if err := seg.inject(seg.sndNxt+300, nil, tcpACK|tcpFIN); err != nil {
		t.Fatalf("inject the FIN: %v", err)
	}
	var r sinkResult
	select {
	case r = <-got:
	case <-time.After(40 * time.Second):
		t.Fatal("upstream: nothing ended in 40s")
	}
	// The proxy's verdict: the bytes its program forwarded exceeded what
	// TCP received. Its reset may reach the upstream before the bytes
	// the kernel still holds for it, so the upstream's count does not
	// tell.
	caught := strings.Contains(log.String(), "more than arrived before the FIN")
	t.Logf("upstream got %d bytes of the %d sent, then %v; the proxy caught duplicated bytes: %v", len(r.b), len(data), r.err, caught)
	switch {
	case r.err == nil && !bytes.Equal(r.b, data):
		t.Errorf("upstream: a clean end after %d wrong bytes (want these %d): the FIN passed a corrupt stream off as whole\n%s", len(r.b), len(data), log.String())
	case r.err != nil && !caught:
		t.Errorf("upstream: %v, and the proxy did not find duplicated bytes:\n%s", r.err, log.String())
	}
}

type sinkResult struct {
	b   []byte
	err error
}

// TCP_REPAIR_QUEUE values (linux/tcp.h), which x/sys/unix lacks.
const (
	tcpRecvQueue = 1
	tcpSendQueue = 2
)

// TCP header flags.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpACK = 0x10
)

// peerSegments writes TCP segments as a connected socket's peer would
// see them from it, on a raw socket.
type peerSegments struct {
	src, dst       *net.TCPAddr
	sndNxt, rcvNxt uint32
	tsval          uint32
}

// silence waits until c's bytes are all acknowledged, puts c in repair
// mode, in which it sends nothing, and reads what its next segment would
// carry.
func silence(c *net.TCPConn) (*peerSegments, error) {
	s := &peerSegments{src: c.LocalAddr().(*net.TCPAddr), dst: c.RemoteAddr().(*net.TCPAddr)}
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		f := int(fd)
		for deadline := time.Now().Add(10 * time.Second); ; {
			n, err := unix.IoctlGetInt(f, unix.SIOCOUTQ)
			if err != nil {
				serr = err
				return
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				serr = fmt.Errorf("%d bytes unacknowledged after 10s", n)
				return
			}
			time.Sleep(time.Millisecond)
		}
		ts, err := unix.GetsockoptInt(f, unix.IPPROTO_TCP, unix.TCP_TIMESTAMP)
		if err != nil {
			serr = fmt.Errorf("TCP_TIMESTAMP: %w", err)
			return
		}
		s.tsval = uint32(ts) + 1000
		if err := unix.SetsockoptInt(f, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1); err != nil {
			serr = fmt.Errorf("TCP_REPAIR: %w", err)
			return
		}
		for _, q := range []struct {
			queue int
			seq   *uint32
		}{{tcpSendQueue, &s.sndNxt}, {tcpRecvQueue, &s.rcvNxt}} {
			if err := unix.SetsockoptInt(f, unix.IPPROTO_TCP, unix.TCP_REPAIR_QUEUE, q.queue); err != nil {
				serr = fmt.Errorf("TCP_REPAIR_QUEUE: %w", err)
				return
			}
			v, err := unix.GetsockoptInt(f, unix.IPPROTO_TCP, unix.TCP_QUEUE_SEQ)
			if err != nil {
				serr = fmt.Errorf("TCP_QUEUE_SEQ: %w", err)
				return
			}
			*q.seq = uint32(v)
		}
	})
	return s, errors.Join(err, serr)
}

// inject sends a segment with sequence number seq, payload and flags from
// src to dst, with the timestamp option the connection negotiated.
func (s *peerSegments) inject(seq uint32, payload []byte, flags byte) error {
	const hdr = 32 // 20 and NOP, NOP, timestamps
	seg := make([]byte, hdr+len(payload))
	binary.BigEndian.PutUint16(seg[0:], uint16(s.src.Port))
	binary.BigEndian.PutUint16(seg[2:], uint16(s.dst.Port))
	binary.BigEndian.PutUint32(seg[4:], seq)
	binary.BigEndian.PutUint32(seg[8:], s.rcvNxt)
	seg[12] = hdr / 4 << 4
	seg[13] = flags
	binary.BigEndian.PutUint16(seg[14:], 0xffff)
	copy(seg[20:], []byte{1, 1, 8, 10})
	binary.BigEndian.PutUint32(seg[24:], s.tsval)
	copy(seg[hdr:], payload)
	binary.BigEndian.PutUint16(seg[16:], tcpChecksum(s.src.IP.To4(), s.dst.IP.To4(), seg))
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	to := &unix.SockaddrInet4{}
	copy(to.Addr[:], s.dst.IP.To4())
	return unix.Sendto(fd, seg, 0, to)
}

// tcpChecksum is the TCP checksum of seg (its checksum field zero) from
// src to dst.
func tcpChecksum(src, dst net.IP, seg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	add([]byte{0, unix.IPPROTO_TCP, byte(len(seg) >> 8), byte(len(seg))})
	add(seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
