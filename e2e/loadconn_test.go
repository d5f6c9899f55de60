package e2e

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sockc/sockc/internal/bench"
)

// headerLen is the size of the header a client sends first: its plan's
// ID.
const headerLen = 8

// sideResult is what one end of a connection did and saw.
type sideResult struct {
	Sent     int64 // bytes of its own stream written
	WriteErr error
	Received int64  // bytes of the other side's stream read, each verified
	ReadEnd  error  // io.EOF, or the error that ended the reading
	Corrupt  error  // a byte that differs from the stream, or extra bytes
	Err      error  // dial, header or setup failure
	Local    string // the local address (of a client: as a proxy sees it)
	// TCPReceived is tcpi_bytes_received when the reading ended: every
	// byte that arrived in order, the FIN counted as one; -1 if unknown.
	TCPReceived int64
}

// stuck reports whether a deadline ended the side: a connection that
// neither finished nor broke.
func (r sideResult) stuck() bool {
	return errors.Is(r.ReadEnd, os.ErrDeadlineExceeded) || errors.Is(r.WriteErr, os.ErrDeadlineExceeded) || errors.Is(r.Err, os.ErrDeadlineExceeded)
}

// isReset reports whether err is the connection being reset: ECONNRESET,
// or EPIPE for a write after the reset was reported to a read.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readAndWrite runs the reader in a goroutine while write runs here, and
// waits for both.
func readAndWrite(c *net.TCPConn, in *bench.Stream, limit int64, r *sideResult, write func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		readStream(c, in, limit, r)
	}()
	write()
	<-done
}

// resetClose closes c with SO_LINGER 0: the kernel drops what is queued
// and sends RST.
func resetClose(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// runClient dials addr and plays the client of plan p until the
// connection ends or the deadline passes.
func runClient(addr string, p connPlan, pat *bench.Pattern, wc *writeCounts, deadline time.Time) sideResult {
	var r sideResult
	d := net.Dialer{Deadline: deadline}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		r.Err = fmt.Errorf("dial: %w", err)
		return r
	}
	c := nc.(*net.TCPConn)
	defer c.Close()
	r.Local = c.LocalAddr().String()
	c.SetDeadline(deadline)
	var hdr [headerLen]byte
	binary.LittleEndian.PutUint64(hdr[:], p.ID)
	if err := writeAll(c, hdr[:], wc); err != nil {
		r.Err = fmt.Errorf("header: %w", err)
		return r
	}
	out, in := pat.Stream(p.upStream()), pat.Stream(p.downStream())
	switch p.Mode {
	case modeDuplex, modeResetServer:
		readAndWrite(c, in, p.Down, &r, func() {
			if r.Sent, r.WriteErr = sendStream(c, out, p.Up, wc); r.WriteErr == nil {
				r.WriteErr = c.CloseWrite()
			}
		})
	case modeHalfClose:
		if r.Sent, r.WriteErr = sendStream(c, out, p.Up, wc); r.WriteErr == nil {
			r.WriteErr = c.CloseWrite()
		}
		readStream(c, in, p.Down, &r)
	case modeResetClient:
		readAndWrite(c, in, p.Down, &r, func() {
			r.Sent, r.WriteErr = sendStream(c, out, p.Cut, wc)
			resetClose(c)
		})
	}
	return r
}

// serveConn reads the header of an accepted connection, finds its plan
// with claim, and plays the server. id is -1 when no header arrived.
func serveConn(c *net.TCPConn, claim func(id uint64) (connPlan, error), pat *bench.Pattern, wc *writeCounts, deadline time.Time) (int64, sideResult) {
	var r sideResult
	defer c.Close()
	c.SetDeadline(deadline)
	var hdr [headerLen]byte
	if n, err := io.ReadFull(c, hdr[:]); err != nil {
		r.Err, r.Received = fmt.Errorf("header: %w", err), int64(n)
		return -1, r
	}
	p, err := claim(binary.LittleEndian.Uint64(hdr[:]))
	if err != nil {
		r.Err = err
		return -1, r
	}
	out, in := pat.Stream(p.downStream()), pat.Stream(p.upStream())
	switch p.Mode {
	case modeDuplex, modeResetClient:
		readAndWrite(c, in, p.Up, &r, func() {
			if r.Sent, r.WriteErr = sendStream(c, out, p.Down, wc); r.WriteErr == nil {
				r.WriteErr = c.CloseWrite()
			}
		})
	case modeHalfClose:
		readStream(c, in, p.Up, &r)
		if errors.Is(r.ReadEnd, io.EOF) {
			if r.Sent, r.WriteErr = sendStream(c, out, p.Down, wc); r.WriteErr == nil {
				r.WriteErr = c.CloseWrite()
			}
		}
	case modeResetServer:
		readAndWrite(c, in, p.Up, &r, func() {
			r.Sent, r.WriteErr = sendStream(c, out, p.Cut, wc)
			resetClose(c)
		})
	}
	return int64(p.ID), r
}

// check compares what the two ends of plan p saw with what the plan
// promises; server is nil if the server never got the header.
func (p connPlan) check(client sideResult, server *sideResult, finCounted bool) []error {
	var errs []error
	bad := func(side, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%v: %s: %s", p, side, fmt.Sprintf(format, args...)))
	}
	if client.stuck() || server != nil && server.stuck() {
		bad("both", "stuck: a deadline passed (client %+v, server %+v)", client, server)
		return errs
	}
	if client.Err != nil {
		bad("client", "%v", client.Err)
		return errs
	}
	if client.Corrupt != nil {
		bad("client", "%v", client.Corrupt)
	}
	if server == nil {
		if p.Mode != modeResetClient {
			bad("server", "never got the header")
		}
		return errs
	}
	if server.Err != nil {
		bad("server", "%v", server.Err)
		return errs
	}
	if server.Corrupt != nil {
		bad("server", "%v", server.Corrupt)
	}
	complete := func(side string, r sideResult, sent, got int64) {
		if r.WriteErr != nil || r.Sent != sent {
			bad(side, "sent %d of %d bytes: %v", r.Sent, sent, r.WriteErr)
		}
		if r.Received != got || !errors.Is(r.ReadEnd, io.EOF) {
			bad(side, "received %d of %d bytes, then %v; want all, then EOF", r.Received, got, r.ReadEnd)
		}
	}
	// broken: the side expected more than the resetter sent, so it must
	// see the reset, not a clean end. The kernel reports a reset once, to
	// the first read or write after it: the writer may take it, and the
	// reader then sees EOF. So the FIN tells: the resetter sent none,
	// and one that arrives was made up on the way.
	broken := func(side string, r sideResult, hdr, cut int64) {
		if r.Received > cut || !isReset(r.ReadEnd) && !isReset(r.WriteErr) {
			bad(side, "received %d bytes (the other side sent %d and reset), then %v (writing: %v); want a reset", r.Received, cut, r.ReadEnd, r.WriteErr)
		}
		if finCounted && r.finReceived(hdr) {
			bad(side, "a FIN arrived after %d bytes (TCP counted %d), but the other side reset", r.Received, r.TCPReceived)
		}
	}
	switch p.Mode {
	case modeDuplex, modeHalfClose:
		complete("client", client, p.Up, p.Down)
		complete("server", *server, p.Down, p.Up)
	case modeResetClient:
		if client.WriteErr != nil || client.Sent != p.Cut {
			bad("client", "sent %d of %d bytes before its reset: %v", client.Sent, p.Cut, client.WriteErr)
		}
		broken("server", *server, headerLen, p.Cut)
	case modeResetServer:
		if server.WriteErr != nil || server.Sent != p.Cut {
			bad("server", "sent %d of %d bytes before its reset: %v", server.Sent, p.Cut, server.WriteErr)
		}
		broken("client", client, 0, p.Cut)
	}
	return errs
}
