package probe

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Echo checks an echo on c: it writes size random bytes in 64 KiB writes
// while it reads them back, within timeout, and wants every byte back, in
// order. Plain reads and writes, never splice (which hangs on sockets in
// a sockmap).
func Echo(c net.Conn, size int, timeout time.Duration) error {
	return echo(c, size, timeout, nil)
}

// HalfCloseEcho is Echo as a client that sends a request and shuts down
// its side checks it: it half-closes as soon as it has written, while the
// echo may still be in flight, and wants every byte back and then a clean
// end of stream.
func HalfCloseEcho(c *net.TCPConn, size int, timeout time.Duration) error {
	return echo(c, size, timeout, c.CloseWrite)
}

// echo is Echo, and HalfCloseEcho when closeWrite is not nil.
func echo(c net.Conn, size int, timeout time.Duration, closeWrite func() error) error {
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	want := sha256.Sum256(data)
	werr := make(chan error, 1)
	go func() {
		for off := 0; off < size; off += 64 << 10 {
			if _, err := c.Write(data[off:min(off+64<<10, size)]); err != nil {
				werr <- fmt.Errorf("write: %w", err)
				return
			}
		}
		if closeWrite != nil {
			werr <- closeWrite()
			return
		}
		werr <- nil
	}()
	sum := sha256.New()
	h := struct{ io.Writer }{sum} // no ReaderFrom: plain reads of c
	c.SetReadDeadline(time.Now().Add(timeout))
	var n int64
	var err error
	if closeWrite != nil {
		n, err = io.Copy(h, struct{ io.Reader }{c})
	} else {
		n, err = io.CopyN(h, struct{ io.Reader }{c}, int64(size))
	}
	if err != nil {
		return fmt.Errorf("read %d of %d bytes back: %w", n, size, err)
	}
	if n != int64(size) {
		return fmt.Errorf("read %d of %d bytes back, then EOF", n, size)
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(sum.Sum(nil), want[:]) {
		return errors.New("the bytes came back different")
	}
	return nil
}
