package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
)

// faultRig is a `sockc run examples/proxy.sock -v` with two proxies: one
// to an upstream that misbehaves, the other to a healthy echo upstream,
// through which the test checks that sockc keeps serving.
type faultRig struct {
	r         *sockcRun
	pid       int
	faulty    string // the listen address of the proxy to the faulty upstream
	healthy   string // the listen address of the proxy to the echo upstream
	listeners int    // sockets sockc holds when it serves nothing
	exchanges int    // healthy exchanges done
}

func startFaultRig(t *testing.T, upstream string, args ...string) *faultRig {
	t.Helper()
	echo := echoUpstream(t)
	r := start(t, append([]string{"run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0=" + upstream, "--proxy", "127.0.0.1:0=" + echo,
		"--stats", "1h", "-v"}, args...)...) // --stats 1h: only the final line, at exit
	f := &faultRig{r: r, pid: r.cmd.Process.Pid,
		faulty:  r.addr(t, `^sockc: proxy (\S+) -> `+regexp.QuoteMeta(upstream)+`$`),
		healthy: r.addr(t, `^sockc: proxy (\S+) -> `+regexp.QuoteMeta(echo)+`$`),
	}
	f.listeners = openFDs(t, f.pid).Sockets // the listeners exist before "ready"
	return f
}

// serves checks that sockc still proxies a healthy connection: 1 MiB to
// the echo upstream and back, every byte checked.
func (f *faultRig) serves(t *testing.T) {
	t.Helper()
	f.alive(t)
	if err := exchange(f.healthy, 1<<20); err != nil {
		t.Errorf("the healthy proxy: %v", err)
	}
	f.exchanges++
}

// alive fails the test if sockc has exited.
func (f *faultRig) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-f.r.done:
		f.r.done <- err
		t.Fatalf("sockc exited (%v):\n%s", err, f.r.stderr)
	default:
	}
}

// released waits until sockc holds no socket but its listeners, and
// returns its descriptors then.
func (f *faultRig) released(t *testing.T) fdCounts {
	t.Helper()
	var fds fdCounts
	kerneltest.Await(t, 10*time.Second, func() (bool, string) {
		fds = openFDs(t, f.pid)
		return fds.Sockets == f.listeners, fmt.Sprintf("sockc holds %d sockets; it listens on %d", fds.Sockets, f.listeners)
	})
	return fds
}

// stop ends sockc, which must exit with status 0, and returns its final
// stats line.
func (f *faultRig) stop(t *testing.T) map[string]int64 {
	t.Helper()
	f.alive(t)
	if err := f.r.stop(t); err != nil {
		t.Fatalf("sockc exit: %v\n%s", err, f.r.stderr)
	}
	return lastStats(t, f.r.stderr)
}

// linesFor returns sockc's log lines about a client's connection, but
// the one of its pairing.
func (f *faultRig) linesFor() map[string][]string {
	by := map[string][]string{}
	f.r.stderr.mu.Lock()
	defer f.r.stderr.mu.Unlock()
	for _, l := range f.r.stderr.lines {
		rest, ok := strings.CutPrefix(l, "sockc: proxy: ")
		if !ok || strings.HasSuffix(l, " paired in the kernel") {
			continue
		}
		c := strings.TrimSuffix(strings.Fields(rest)[0], ":")
		by[c] = append(by[c], l)
	}
	return by
}

// failureLines checks that sockc logged exactly one line about each
// client's failure, besides the line of its pairing, and that the line
// says what want matches; and that it logged no more failures than there
// were clients. A client whose connect failed ("" in clients: the reset
// came first) has no address to find its line by; an address that
// several clients had in turn (a port is free again at once after a
// reset) has as many lines.
func (f *faultRig) failureLines(t *testing.T, clients []string, want *regexp.Regexp) {
	t.Helper()
	by := f.linesFor()
	total := 0
	for _, lines := range by {
		for _, l := range lines {
			if want.MatchString(l) {
				total++
			}
		}
	}
	uses := map[string]int{}
	for _, c := range clients {
		uses[c]++
	}
	bad := 0
	var example string
	for c, n := range uses {
		if c == "" {
			continue
		}
		lines, ok := by[c], true
		for _, l := range lines {
			ok = ok && want.MatchString(l)
		}
		if len(lines) != n || !ok {
			if bad++; bad <= 5 {
				t.Errorf("client %s (%d connections): sockc logged %q; want one line each, matching %s", c, n, lines, want)
			}
			continue
		}
		example = lines[0]
	}
	if bad > 5 {
		t.Errorf("... and %d more clients", bad-5)
	}
	if total != len(clients) {
		t.Errorf("sockc logged %d failures matching %s for %d clients", total, want, len(clients))
	}
	if bad == 0 && example != "" {
		t.Logf("one line per failure, e.g. %q", example)
	}
}

// fakeUpstream serves each connection with behave until the test ends.
func fakeUpstream(t *testing.T, behave func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				behave(c.(*net.TCPConn))
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// connEnd is how a test connection ended, from its own side.
type connEnd struct {
	Local    string
	Read     int64 // bytes read
	ReadErr  error // io.EOF for a clean end
	WriteErr error
	// FIN: a FIN arrived (tcpi_bytes_received counts it as one byte
	// more than were read).
	FIN bool
	// Start, and when the reading and the writing ended: a failure
	// message says how long each took.
	Start, ReadDone, WriteDone time.Time
}

// timing says when the reading and the writing ended.
func (e connEnd) timing() string {
	since := func(at time.Time) string {
		if at.IsZero() || e.Start.IsZero() {
			return "-"
		}
		return at.Sub(e.Start).Round(time.Millisecond).String()
	}
	return fmt.Sprintf("reading ended after %s, writing after %s", since(e.ReadDone), since(e.WriteDone))
}

// reset reports whether the connection ended with a reset: the reader or
// the writer got it (the kernel gives it to whichever comes first), and
// no FIN came before it.
func (e connEnd) reset() bool {
	return !e.FIN && (isReset(e.ReadErr) || isReset(e.WriteErr))
}

// stuck reports whether a deadline ended the connection.
func (e connEnd) stuck() bool {
	return errors.Is(e.ReadErr, os.ErrDeadlineExceeded) || errors.Is(e.WriteErr, os.ErrDeadlineExceeded)
}

// drain reads c to its end, counting, and records how it ended.
func drain(c *net.TCPConn, e *connEnd) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		e.Read += int64(n)
		if err != nil {
			e.ReadErr, e.ReadDone = err, time.Now()
			e.FIN = tcpBytesReceived(c) == e.Read+1
			return
		}
	}
}

// pour writes to c until it fails.
func pour(c *net.TCPConn, e *connEnd) {
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Write(buf); err != nil {
			e.WriteErr, e.WriteDone = err, time.Now()
			return
		}
	}
}
