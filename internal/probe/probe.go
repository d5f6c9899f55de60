// Package probe is a client and server that talk over loopback TCP the way
// unmodified programs do, and check that every byte arrives. Tests run it
// inside a cgroup with examples/bypass.sock attached, to show that the
// bypass keeps ordinary programs working and skips the TCP stack.
package probe

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Report is what Run found, printed as one JSON line.
type Report struct {
	// BulkBytes went over the data connection while the control
	// connection waited in epoll on the same server port.
	BulkBytes int64
	// BytesAcked is the TCP_INFO bytes_acked of the bulk sender: close to
	// BulkBytes through TCP, near zero when the bypass carried the data.
	BytesAcked uint64
	HalfClose  bool // the half-close exchange completed
	CloseEarly bool // bytes written just before close all arrived
}

// Env is the variable that makes a test binary run Run instead of tests.
const Env = "SOCKC_PROBE"

// Run runs every exchange and writes the report as JSON to w.
func Run(w io.Writer, bulk int) error {
	var r Report
	if err := controlAndBulk(&r, bulk); err != nil {
		return fmt.Errorf("control and data connections: %w", err)
	}
	if err := halfClose(); err != nil {
		return fmt.Errorf("half-close: %w", err)
	}
	r.HalfClose = true
	if err := closeWhileInFlight(); err != nil {
		return fmt.Errorf("close with data in flight: %w", err)
	}
	r.CloseEarly = true
	return json.NewEncoder(w).Encode(r)
}

func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// controlAndBulk opens a control connection and a data connection to one
// server port, like FTP or iperf3. The control side waits (in Go's epoll
// netpoller) while bulk data flows; then it gets the data's checksum and
// answers "ok".
func controlAndBulk(r *Report, size int) error {
	ln, err := listen()
	if err != nil {
		return err
	}
	defer ln.Close()
	serverErr := make(chan error, 1)
	go func() {
		ctl, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer ctl.Close()
		data, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer data.Close()
		data.SetReadDeadline(time.Now().Add(2 * time.Minute))
		h := sha256.New()
		buf := make([]byte, 64<<10)
		for {
			n, err := data.Read(buf)
			h.Write(buf[:n])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				serverErr <- err
				return
			}
		}
		// Report the checksum on the control connection, which has been
		// idle all along.
		if _, err := ctl.Write(h.Sum(nil)); err != nil {
			serverErr <- err
			return
		}
		ack := make([]byte, 2)
		if _, err := io.ReadFull(ctl, ack); err != nil || string(ack) != "ok" {
			serverErr <- fmt.Errorf("control ack %q: %v", ack, err)
			return
		}
		serverErr <- nil
	}()

	ctl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer ctl.Close()
	data, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer data.Close()

	sum := make(chan []byte, 1)
	go func() {
		b := make([]byte, sha256.Size)
		ctl.SetReadDeadline(time.Now().Add(2 * time.Minute))
		if _, err := io.ReadFull(ctl, b); err != nil {
			sum <- nil
			return
		}
		sum <- b
	}()

	h := sha256.New()
	chunk := make([]byte, 256<<10)
	for sent := 0; sent < size; {
		n := min(len(chunk), size-sent)
		rand.Read(chunk[:n])
		h.Write(chunk[:n])
		if _, err := data.Write(chunk[:n]); err != nil {
			return fmt.Errorf("write after %d bytes: %w", sent, err)
		}
		sent += n
	}
	r.BulkBytes = int64(size)
	info, err := tcpInfo(data.(*net.TCPConn))
	if err != nil {
		return err
	}
	r.BytesAcked = info.Bytes_acked
	data.(*net.TCPConn).CloseWrite()
	got := <-sum
	if !bytes.Equal(got, h.Sum(nil)) {
		return errors.New("the server's checksum of the bulk data differs")
	}
	if _, err := ctl.Write([]byte("ok")); err != nil {
		return err
	}
	return <-serverErr
}

// halfClose: the client sends a request and shuts down its writing side;
// the server reads to EOF, answers and closes; the client reads the answer
// and EOF.
func halfClose() error {
	ln, err := listen()
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		req, _ := io.ReadAll(c)
		c.Write(append([]byte("echo:"), req...))
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.Write([]byte("request"))
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(resp) != "echo:request" {
		return fmt.Errorf("response %q", resp)
	}
	return nil
}

// closeWhileInFlight: the client writes and closes at once; the server
// still reads every byte, then EOF.
func closeWhileInFlight() error {
	ln, err := listen()
	if err != nil {
		return err
	}
	defer ln.Close()
	payload := make([]byte, 4<<20)
	rand.Read(payload)
	want := sha256.Sum256(payload)
	var wg sync.WaitGroup
	var got [32]byte
	var n int64
	var rerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			rerr = err
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		h := sha256.New()
		buf := make([]byte, 64<<10)
		for {
			k, err := c.Read(buf)
			h.Write(buf[:k])
			n += int64(k)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rerr = err
				return
			}
		}
		copy(got[:], h.Sum(nil))
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	if _, err := c.Write(payload); err != nil {
		return err
	}
	c.Close()
	wg.Wait()
	if rerr != nil {
		return rerr
	}
	if got != want {
		return fmt.Errorf("server read %d of %d bytes, or different ones", n, len(payload))
	}
	return nil
}

func tcpInfo(c *net.TCPConn) (*unix.TCPInfo, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var info *unix.TCPInfo
	var ierr error
	raw.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO) })
	return info, ierr
}
