package runtime_test

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// waitReadable blocks until the kernel has data queued on c (poll), so a
// test can order "bytes arrived" before its next step without sleeping.
func waitReadable(t *testing.T, c *net.TCPConn) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var perr error
	raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 10000)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				perr = err
			} else if n == 0 {
				perr = unix.ETIMEDOUT
			}
			return
		}
	})
	if perr != nil {
		t.Fatalf("waiting for data: %v", perr)
	}
}
