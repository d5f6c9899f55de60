package runtime_test

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
)

// TestProxySendBuffer: the proxy gives its sockets the send buffer it is
// told (the kernel doubles the value), DefaultSendBuffer by default, even
// beyond net.core.wmem_max (SO_SNDBUFFORCE, as root), and leaves the
// kernel's own when told so.
func TestProxySendBuffer(t *testing.T) {
	kerneltest.Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	raw.Control(func(f uintptr) { fd = int(f) })
	sndbuf := func() int {
		v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := sndbuf()
	if err := (&runtime.Proxy{SendBuffer: -1}).SetSendBuffer(fd); err != nil || sndbuf() != before {
		t.Errorf("SendBuffer -1: %v, send buffer %d, want the kernel's %d", err, sndbuf(), before)
	}
	for _, tc := range []struct{ set, want int }{{0, 2 * runtime.DefaultSendBuffer}, {1 << 20, 2 << 20}, {32 << 20, 64 << 20}} {
		if err := (&runtime.Proxy{SendBuffer: tc.set}).SetSendBuffer(fd); err != nil {
			t.Fatal(err)
		}
		if got := sndbuf(); got != tc.want {
			t.Errorf("SendBuffer %d: send buffer %d, want %d", tc.set, got, tc.want)
		}
	}
}
