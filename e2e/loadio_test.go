package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/internal/bench"
)

// writeChunk is the most one write(2) of the load hands the kernel. The
// sk_msg program of the bypass runs once per write of up to 68 KiB (its
// scatterlist holds 17 pages); below that, one write is one run, which
// lets TestIntegrityBypass compare the program's counter with the writes.
const writeChunk = 32 << 10

// writeCounts counts the write(2) calls of a load: those that took bytes
// and those that failed (EAGAIN, which Go waits out, excluded).
type writeCounts struct {
	OK, Failed atomic.Int64
}

// writeAll writes b with plain write(2) calls (never splice or sendfile,
// which hang on sockets in a sockmap) and counts them.
func writeAll(c *net.TCPConn, b []byte, wc *writeCounts) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	for len(b) > 0 {
		var n int
		var werr error
		err := raw.Write(func(fd uintptr) bool {
			n, werr = unix.Write(int(fd), b)
			return !errors.Is(werr, unix.EAGAIN)
		})
		if err != nil {
			return err // deadline or closed
		}
		if errors.Is(werr, unix.EINTR) {
			wc.Failed.Add(1)
			continue
		}
		if werr != nil {
			wc.Failed.Add(1)
			return os.NewSyscallError("write", werr)
		}
		wc.OK.Add(1)
		b = b[n:]
	}
	return nil
}

// sendStream writes n bytes of stream s and returns how many it wrote.
func sendStream(c *net.TCPConn, s *bench.Stream, n int64, wc *writeCounts) (int64, error) {
	var sent int64
	for sent < n {
		chunk := s.Next(int(min(n-sent, writeChunk)))
		err := writeAll(c, chunk, wc)
		if err != nil {
			return sent, err
		}
		sent += int64(len(chunk))
	}
	return sent, nil
}

// readStream reads c until it ends, verifying every byte against stream
// s, of which at most limit bytes are due. It records in r the bytes
// verified, what ended the reading (io.EOF for a clean end) and any
// corruption.
func readStream(c *net.TCPConn, s *bench.Stream, limit int64, r *sideResult) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if due := limit - int64(s.Offset()); int64(n) > due {
			r.Corrupt = fmt.Errorf("%d bytes more than the %d sent", int64(n)-due, limit)
		} else if verr := s.Verify(buf[:n]); verr != nil {
			r.Corrupt = verr
		}
		r.Received = int64(s.Offset())
		if err != nil || r.Corrupt != nil {
			r.ReadEnd = err
			r.TCPReceived = tcpBytesReceived(c)
			return
		}
	}
}

// finReceived reports whether a FIN arrived: TCP counted one byte more
// than the side read (after a header of hdr bytes).
func (r sideResult) finReceived(hdr int64) bool {
	return r.TCPReceived == hdr+r.Received+1
}

// tcpBytesReceived reads tcpi_bytes_received of c, or -1.
func tcpBytesReceived(c *net.TCPConn) int64 {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	n := int64(-1)
	raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO); err == nil {
			n = int64(info.Bytes_received)
		}
	})
	return n
}
