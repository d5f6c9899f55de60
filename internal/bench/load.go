package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

// Load is one run of a workload between a server and a client in this
// process. The client connects to Connect, which is Listen itself or a
// proxy in front of it; both ends verify every byte they receive.
type Load struct {
	Workload Workload
	Listen   string        // the server's address
	Connect  string        // where the client connects
	Duration time.Duration // how long the client sends
}

// readBuffer is the receivers' read size, the same for every
// configuration.
const readBuffer = 256 << 10

// stallFactor defines a stall: an operation this many times slower than
// the median.
const stallFactor = 10

// Run serves and drives the workload and returns what it measured. Any
// corrupted, missing or extra byte fails the run.
func (l Load) Run(ctx context.Context) (Result, error) {
	ln, err := net.Listen("tcp", l.Listen)
	if err != nil {
		return Result{}, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	// A run that hangs is a failure: some byte did not arrive.
	ctx, cancel := context.WithTimeout(ctx, l.Duration+30*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	p := NewPattern()
	switch l.Workload.Kind {
	case Bulk:
		return l.bulk(ctx, ln, p)
	case PingPong:
		return l.pingPong(ctx, ln, p)
	case Connect:
		return l.connect(ctx, ln, p)
	}
	return Result{}, fmt.Errorf("unknown workload %q", l.Workload.Kind)
}

// closeOnDone closes c when ctx ends, so that a stuck read or write
// returns; the returned function stops the watch.
func closeOnDone(ctx context.Context, c io.Closer) func() bool {
	return context.AfterFunc(ctx, func() { c.Close() })
}

// bulk: Flows clients stream the pattern to the server for Duration, then
// half-close; the server verifies everything, counts it, and answers the
// half-close with the count, which the client checks against what it sent.
func (l Load) bulk(ctx context.Context, ln net.Listener, p *Pattern) (Result, error) {
	flows := max(1, l.Workload.Flows)
	type served struct {
		bytes uint64
		end   time.Time
		err   error
	}
	results := make(chan served, flows)
	go func() {
		for i := range flows {
			c, err := ln.Accept()
			if err != nil {
				// One result per flow that will never be served, so that
				// the count below completes.
				for range flows - i {
					results <- served{err: fmt.Errorf("accept: %w", err)}
				}
				return
			}
			go func() {
				defer c.Close()
				defer closeOnDone(ctx, c)()
				n, err := receiveStream(c, p)
				end := time.Now()
				if err == nil {
					var b [8]byte
					binary.LittleEndian.PutUint64(b[:], n)
					_, err = c.Write(b[:])
				}
				results <- served{bytes: n, end: end, err: err}
			}()
		}
	}()

	conns := make([]net.Conn, flows)
	for i := range conns {
		c, err := dial(ctx, l.Connect)
		if err != nil {
			return Result{}, err
		}
		defer c.Close()
		defer closeOnDone(ctx, c)()
		conns[i] = c
	}

	before, err := ReadCPUTimes()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	deadline := start.Add(l.Duration)
	var wg sync.WaitGroup
	sendErrs := make([]error, flows)
	for i, c := range conns {
		wg.Go(func() { sendErrs[i] = sendStream(c, p, uint64(i+1), l.Workload.Size, deadline) })
	}
	var total uint64
	var end time.Time
	var errs []error
	for range flows {
		s := <-results
		if s.err != nil {
			errs = append(errs, fmt.Errorf("receiver: %w", s.err))
			// Unblock the senders: their peer is gone.
			for _, c := range conns {
				c.Close()
			}
			continue
		}
		total += s.bytes
		end = later(end, s.end)
	}
	after, err := ReadCPUTimes()
	if err != nil {
		return Result{}, err
	}
	wg.Wait()
	errs = append(errs, sendErrs...)
	if err := errors.Join(errs...); err != nil {
		return Result{}, err
	}
	return Result{
		Bytes:   total,
		Seconds: end.Sub(start).Seconds(),
		CPU:     after.Since(before),
	}, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sendStream writes the stream header and the pattern of stream id in
// writes of size bytes until the deadline, half-closes, and checks the
// receiver's count of verified bytes against what it sent.
func sendStream(c net.Conn, p *Pattern, id uint64, size int, deadline time.Time) error {
	var hdr [8]byte
	binary.LittleEndian.PutUint64(hdr[:], id)
	if _, err := c.Write(hdr[:]); err != nil {
		return fmt.Errorf("flow %d: send header: %w", id, err)
	}
	s := p.Stream(id)
	for i := 0; ; i++ {
		// The clock is read every 16 writes: often enough to stop on time,
		// rarely enough to cost nothing.
		if i%16 == 0 && time.Now().After(deadline) {
			break
		}
		if _, err := c.Write(s.Next(size)); err != nil {
			return fmt.Errorf("flow %d: send at byte %d: %w", id, s.Offset(), err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("flow %d: half-close: %w", id, err)
	}
	var b [8]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return fmt.Errorf("flow %d: read the receiver's count: %w", id, err)
	}
	if got := binary.LittleEndian.Uint64(b[:]); got != s.Offset() {
		return fmt.Errorf("flow %d: receiver verified %d bytes, sender sent %d", id, got, s.Offset())
	}
	return nil
}

// receiveStream reads a stream header and verifies the stream to EOF.
func receiveStream(c net.Conn, p *Pattern) (uint64, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, fmt.Errorf("read header: %w", err)
	}
	id := binary.LittleEndian.Uint64(hdr[:])
	s := p.Stream(id)
	buf := make([]byte, readBuffer)
	for {
		n, err := c.Read(buf)
		if verr := s.Verify(buf[:n]); verr != nil {
			return s.Offset(), fmt.Errorf("flow %d: %w", id, verr)
		}
		if errors.Is(err, io.EOF) {
			return s.Offset(), nil
		}
		if err != nil {
			return s.Offset(), fmt.Errorf("flow %d: read after byte %d: %w", id, s.Offset(), err)
		}
	}
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

// pingPong: one connection; the client sends a Size-byte request, the
// server verifies and echoes it, the client verifies the echo and records
// the round trip.
func (l Load) pingPong(ctx context.Context, ln net.Listener, p *Pattern) (Result, error) {
	size := max(1, l.Workload.Size)
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- fmt.Errorf("accept: %w", err)
			return
		}
		defer c.Close()
		defer closeOnDone(ctx, c)()
		in := p.Stream(1)
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				if errors.Is(err, io.EOF) {
					served <- nil
				} else {
					served <- fmt.Errorf("server: read request %d: %w", in.Offset()/uint64(size), err)
				}
				return
			}
			if err := in.Verify(buf); err != nil {
				served <- fmt.Errorf("server: %w", err)
				return
			}
			if _, err := c.Write(buf); err != nil {
				served <- fmt.Errorf("server: write reply: %w", err)
				return
			}
		}
	}()

	c, err := dial(ctx, l.Connect)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	out, back := p.Stream(1), p.Stream(1)
	buf := make([]byte, size)
	exchange := func() error {
		if _, err := c.Write(out.Next(size)); err != nil {
			return fmt.Errorf("client: write request: %w", err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return fmt.Errorf("client: read reply after byte %d: %w", back.Offset(), err)
		}
		if err := back.Verify(buf); err != nil {
			return fmt.Errorf("client: reply: %w", err)
		}
		return nil
	}
	// A failed exchange is often the client's view of the server's
	// error (it hung up on a corrupted request): report both.
	failed := func(err error) (Result, error) {
		c.Close()
		return Result{}, errors.Join(err, <-served)
	}
	// Warm up: the first exchanges pay for connection setup (and, for the
	// sockc proxy, for the pairing) and are not measured.
	for range 100 {
		if err := exchange(); err != nil {
			return failed(err)
		}
	}
	r, err := timeOps(l.Duration, 2*uint64(size), 1<<16, exchange)
	if err != nil {
		return failed(err)
	}
	c.(*net.TCPConn).CloseWrite()
	if err := <-served; err != nil {
		return Result{}, err
	}
	return r, nil
}

// timeOps calls op until d has passed and measures the window: each
// call's latency (percentiles and stalls), the machine-wide CPU time, and
// bytes as perOp for each call. capacity is a guess at the number of calls.
func timeOps(d time.Duration, perOp uint64, capacity int, op func() error) (Result, error) {
	lat := make([]time.Duration, 0, capacity)
	before, err := ReadCPUTimes()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	deadline := start.Add(d)
	for t := start; t.Before(deadline); {
		if err := op(); err != nil {
			return Result{}, err
		}
		now := time.Now()
		lat = append(lat, now.Sub(t))
		t = now
	}
	end := time.Now()
	after, err := ReadCPUTimes()
	if err != nil {
		return Result{}, err
	}
	r := latencyResult(lat)
	r.Bytes = perOp * uint64(r.Ops)
	r.Seconds, r.CPU = end.Sub(start).Seconds(), after.Since(before)
	return r, nil
}

// latencyResult fills in the operation count, percentiles and stalls.
func latencyResult(lat []time.Duration) Result {
	slices.Sort(lat)
	r := Result{
		Ops:  len(lat),
		P50:  Percentile(lat, 50),
		P99:  Percentile(lat, 99),
		P999: Percentile(lat, 99.9),
	}
	limit := stallFactor * r.P50
	i, _ := slices.BinarySearch(lat, limit+1)
	r.Stalls = len(lat) - i
	return r
}

// connect: the client opens a connection, sends one 64-byte message (an
// 8-byte connection number and the start of that connection's stream),
// reads the echo, verifies it and closes; the server verifies each
// message and echoes it.
func (l Load) connect(ctx context.Context, ln net.Listener, p *Pattern) (Result, error) {
	var (
		mu        sync.Mutex
		serverErr error
		handlers  sync.WaitGroup
	)
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // the listener closed: the client is done
			}
			handlers.Go(func() {
				defer c.Close()
				defer closeOnDone(ctx, c)()
				if err := echoConnect(c, p); err != nil {
					mu.Lock()
					serverErr = cmp.Or(serverErr, err)
					mu.Unlock()
					ln.Close()
				}
			})
		}
	}()
	finish := func() error {
		ln.Close()
		<-accepting
		handlers.Wait()
		return serverErr
	}

	buf := make([]byte, connectMessage)
	id := uint64(0)
	r, err := timeOps(l.Duration, 2*connectMessage, 1<<14, func() error {
		id++
		return connectOnce(ctx, l.Connect, p, id, buf)
	})
	if err := errors.Join(err, finish()); err != nil {
		return Result{}, err
	}
	return r, nil
}

func connectOnce(ctx context.Context, addr string, p *Pattern, id uint64, buf []byte) error {
	c, err := dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("connection %d: %w", id, err)
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	msg := make([]byte, connectMessage)
	binary.LittleEndian.PutUint64(msg, id)
	copy(msg[8:], p.Stream(id).Next(connectMessage-8))
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("connection %d: write: %w", id, err)
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("connection %d: read echo: %w", id, err)
	}
	if binary.LittleEndian.Uint64(buf) != id {
		return fmt.Errorf("connection %d: echo carries connection number %d", id, binary.LittleEndian.Uint64(buf))
	}
	if err := p.Stream(id).Verify(buf[8:]); err != nil {
		return fmt.Errorf("connection %d: echo: %w", id, err)
	}
	return nil
}

// echoConnect serves one Connect connection: verify the message, echo it,
// and expect EOF next.
func echoConnect(c net.Conn, p *Pattern) error {
	buf := make([]byte, connectMessage+1)
	if _, err := io.ReadFull(c, buf[:connectMessage]); err != nil {
		return fmt.Errorf("server: read message: %w", err)
	}
	id := binary.LittleEndian.Uint64(buf)
	if err := p.Stream(id).Verify(buf[8:connectMessage]); err != nil {
		return fmt.Errorf("server: connection %d: %w", id, err)
	}
	if _, err := c.Write(buf[:connectMessage]); err != nil {
		return fmt.Errorf("server: connection %d: write echo: %w", id, err)
	}
	// Anything after the message is an extra byte; a reset is the client
	// closing before our FIN, which is fine.
	n, err := io.ReadFull(c, buf[connectMessage:])
	if n > 0 {
		return fmt.Errorf("server: connection %d: extra bytes after the message", id)
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
		return fmt.Errorf("server: connection %d: %w", id, err)
	}
	return nil
}
