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

// HalfCloseEcho checks an echo on c as a client that sends a request and
// shuts down its side does: it writes size random bytes in 64 KiB writes
// and half-closes as soon as it has written, while the echo may still be
// in flight, and reads until EOF, within timeout. It wants every byte
// back, in order, then a clean end; plain reads and writes, never
// splice.
func HalfCloseEcho(c *net.TCPConn, size int, timeout time.Duration) error {
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
		werr <- c.CloseWrite()
	}()
	h := sha256.New()
	c.SetReadDeadline(time.Now().Add(timeout))
	n, err := io.Copy(struct{ io.Writer }{h}, struct{ io.Reader }{c})
	if err != nil {
		return fmt.Errorf("read %d of %d bytes back: %w", n, size, err)
	}
	if n != int64(size) {
		return fmt.Errorf("read %d of %d bytes back, then EOF", n, size)
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), want[:]) {
		return errors.New("the bytes came back different")
	}
	return nil
}
