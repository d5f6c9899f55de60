package runtime_test

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/runtime"
)

// The scenarios of the kernel's tools/testing/selftests/bpf/test_sockmap.c,
// written as .sock programs in testdata/scenarios. Two loopback
// connections: c1 (the sender, at index 0 of the sockmap) talks to s1, and
// c2 talks to s2 (at index 1, the redirect target). Each test asserts the
// exact bytes each receiver gets.

type scenario struct {
	rt             *runtime.Runtime
	c1, s1, c2, s2 *net.TCPConn
}

func setupScenario(t *testing.T, name string) *scenario {
	t.Helper()
	src, err := os.ReadFile("testdata/scenarios/" + name + ".sock")
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenario{rt: load(t, name+".sock", string(src))}
	ln := listen(t)
	sc.c1, sc.s1 = connPair(t, ln)
	sc.c2, sc.s2 = connPair(t, ln)
	m, err := sc.rt.Map("socks")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Put(sc.c1, 0); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(sc.s2, 1); err != nil {
		t.Fatal(err)
	}
	return sc
}

// readExactly reads n bytes from c within a deadline.
func readExactly(t *testing.T, c *net.TCPConn, n int) string {
	t.Helper()
	buf := make([]byte, n)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// nothingQueued checks that no byte is waiting on c right now (a
// non-blocking receive says EAGAIN). The scenarios' verdicts run inside
// sendmsg, so once the send returned, whatever it delivered is queued.
func nothingQueued(t *testing.T, c *net.TCPConn) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	var n int
	var rerr error
	raw.Control(func(fd uintptr) {
		n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
	})
	if !errors.Is(rerr, unix.EAGAIN) {
		t.Fatalf("expected no data, got %q (%v)", buf[:max(n, 0)], rerr)
	}
}

func TestScenarioPass(t *testing.T) {
	sc := setupScenario(t, "pass")
	sc.c1.Write([]byte("through the stack"))
	if got := readExactly(t, sc.s1, 17); got != "through the stack" {
		t.Errorf("s1 got %q", got)
	}
	nothingQueued(t, sc.c2)
	nothingQueued(t, sc.s2)
}

func TestScenarioDrop(t *testing.T) {
	sc := setupScenario(t, "drop")
	_, err := sc.c1.Write([]byte("dropped"))
	if !errors.Is(err, syscall.EACCES) {
		t.Fatalf("sendmsg: %v, want EACCES", err)
	}
	nothingQueued(t, sc.s1)
	nothingQueued(t, sc.s2)
}

func TestScenarioEgressRedirect(t *testing.T) {
	sc := setupScenario(t, "egress")
	sc.c1.Write([]byte("out of s2"))
	if got := readExactly(t, sc.c2, 9); got != "out of s2" {
		t.Errorf("c2 got %q", got)
	}
	nothingQueued(t, sc.s1)
	nothingQueued(t, sc.s2)
}

func TestScenarioIngressRedirect(t *testing.T) {
	sc := setupScenario(t, "ingress")
	sc.c1.Write([]byte("into s2"))
	if got := readExactly(t, sc.s2, 7); got != "into s2" {
		t.Errorf("s2 got %q", got)
	}
	nothingQueued(t, sc.s1)
	nothingQueued(t, sc.c2)
}

func TestScenarioApply(t *testing.T) {
	sc := setupScenario(t, "apply")
	sc.c1.Write([]byte("aaaabbbbcccc"))
	if got := readExactly(t, sc.s2, 12); got != "aaaabbbbcccc" {
		t.Errorf("s2 got %q", got)
	}
	nothingQueued(t, sc.s1)
	ctr, err := sc.rt.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if ctr["runs"] != 3 {
		t.Errorf("the verdict ran %d times for 12 bytes with apply 4, want 3", ctr["runs"])
	}
}

func TestScenarioCork(t *testing.T) {
	sc := setupScenario(t, "cork")
	sc.c1.Write([]byte("abc"))
	nothingQueued(t, sc.s2)
	nothingQueued(t, sc.s1)
	sc.c1.Write([]byte("defgh"))
	if got := readExactly(t, sc.s2, 8); got != "abcdefgh" {
		t.Errorf("s2 got %q", got)
	}
	nothingQueued(t, sc.s1)
}
