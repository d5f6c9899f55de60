package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/internal/probe"
	"github.com/sockc/sockc/runtime"
)

// echoUpstream serves an echo for the proxy to dial until the test ends.
func echoUpstream(t *testing.T) string {
	t.Helper()
	return echoUpstreamAt(t, "127.0.0.1:0")
}

// echoUpstreamAt serves an echo on addr until the test ends, and returns
// the address it listens on.
func echoUpstreamAt(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(probe.EchoServer(ln))
	return ln.Addr().String()
}

// exchange checks an echo through addr with probe.HalfCloseEcho: size
// random bytes, a half-close as soon as they are written, every byte
// back and then EOF. Under load, with the kernel's autotuned send
// buffers, this is how issue 14 found the half-close race
// (TestRunProxyHalfCloseAutotuned).
func exchange(addr string, size int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return probe.HalfCloseEcho(c.(*net.TCPConn), size, 2*time.Minute)
}

func TestRunEcho(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "echo_socks")
	r := start(t, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0")
	addr := r.addr(t, `^sockc: accepting on (\S+)$`)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- exchange(addr, 2<<20) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("sockc exit: %v\n%s", err, r.stderr)
	}
	base.AwaitGone(t)
}

// TestRunProxy: 64 clients send 8 MiB each through the in-kernel proxy to
// an echo upstream and half-close, and read it back, every byte checked,
// then EOF; the sockc process's own read and write counts show it never
// copied the payload.
func TestRunProxy(t *testing.T) { runProxyLoad(t) }

// TestRunProxyHalfCloseAutotuned is TestRunProxy with the kernel's
// autotuned send buffers (--send-buffer 0), issue 14's half-close race
// as it was found: the kernel's backlog for an upstream sometimes sat
// idle for over a second with bytes in it and the upstream's send queue
// empty, and sockc took the bytes for lost and reset both sides (before
// that, it forwarded the FIN: clients read a cut echo, then EOF). It
// failed 1 run in 4 here; runtime's TestProxyHalfCloseLateBytes forces it.
func TestRunProxyHalfCloseAutotuned(t *testing.T) { runProxyLoad(t, "--send-buffer", "0") }

// runProxyLoad runs TestRunProxy's load through `sockc run
// examples/proxy.sock --proxy` with extra flags.
func runProxyLoad(t *testing.T, flags ...string) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "conns", "sockc_counters")
	up := echoUpstream(t)
	r := start(t, append([]string{"run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0=" + up, "--stats", "1s"}, flags...)...)
	addr := r.addr(t, `^sockc: proxy (\S+) -> `)
	pid := r.cmd.Process.Pid
	rBefore, wBefore := procIO(t, pid)

	const clients, size = 64, 8 << 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- exchange(addr, size) }()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			t.Error(err)
		}
	}
	rAfter, wAfter := procIO(t, pid)
	moved := int64(clients) * size * 2 // each byte crosses the proxy twice
	t.Logf("proxied %d MiB; sockc read %d and wrote %d bytes meanwhile", moved>>20, rAfter-rBefore, wAfter-wBefore)
	if rAfter-rBefore > 1<<20 || wAfter-wBefore > 1<<20 {
		t.Errorf("sockc read %d and wrote %d bytes while proxying %d: it copied payload", rAfter-rBefore, wAfter-wBefore, moved)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("sockc exit: %v\n%s", err, r.stderr)
	}
	if failed == 0 && !strings.Contains(r.stderr.String(), "sockc: stats ") {
		t.Errorf("no stats line in:\n%s", r.stderr)
	}
	base.AwaitGone(t)
}

// TestRunProxyStaysAsleep: once a pair is in the kernel, forwarding it
// must not wake the sockc process. Go's network poller would, on every
// acknowledgement (it watches its sockets for EPOLLOUT), so the proxy takes
// paired sockets out of it; before that, this transfer cost about 3,300
// context switches.
func TestRunProxyStaysAsleep(t *testing.T) {
	kerneltest.Require(t)
	up := echoUpstream(t)
	r := start(t, "run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0="+up)
	addr := r.addr(t, `^sockc: proxy (\S+) -> `)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One round trip first: the pair is made and in the maps.
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	before := contextSwitches(t, r.cmd.Process.Pid)
	const size = 256 << 20
	go func() {
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if n, err := io.CopyN(io.Discard, c, size); err != nil {
		t.Fatalf("read %d of %d bytes back: %v", n, size, err)
	}
	switches := contextSwitches(t, r.cmd.Process.Pid) - before
	t.Logf("sockc was switched in %d times while 512 MiB went through the proxy", switches)
	if switches > 300 {
		t.Errorf("sockc was woken %d times while the kernel forwarded 512 MiB: something in user space watches the paired sockets", switches)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("sockc exit: %v\n%s", err, r.stderr)
	}
}

// contextSwitches sums the voluntary and involuntary context switches of
// every thread of a process.
func contextSwitches(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	total := 0
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			var n int
			if _, err := fmt.Sscanf(line, "voluntary_ctxt_switches: %d", &n); err == nil {
				total += n
			} else if _, err := fmt.Sscanf(line, "nonvoluntary_ctxt_switches: %d", &n); err == nil {
				total += n
			}
		}
	}
	return total
}

// TestRunProxyDeadUpstream: a failed upstream dial closes the client.
func TestRunProxyDeadUpstream(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	r := start(t, "run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0="+dead)
	addr := r.addr(t, `^sockc: proxy (\S+) -> `)
	if err := kerneltest.DialExpectingReset(addr); err != nil {
		t.Fatal(err)
	}
}

// TestRunBypass runs a probe (control plus bulk connections on one port,
// half-close, close with data in flight) inside `sockc run bypass.sock --`.
func TestRunBypass(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "socks")
	var out bytes.Buffer
	cmd := timed(t, 2*time.Minute, sockcBin, "run", "../examples/bypass.sock", "--", os.Args[0])
	cmd.Env = append(os.Environ(), probe.Env+"=1")
	cmd.Stdout = &out
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("sockc run: %v\n%s", err, errb.String())
	}
	var rep probe.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("probe report %q: %v\n%s", out.String(), err, errb.String())
	}
	t.Logf("probe: %+v", rep)
	if rep.BytesAcked > uint64(rep.BulkBytes)/100 {
		t.Errorf("bytes_acked %d of %d: TCP carried the data, no bypass", rep.BytesAcked, rep.BulkBytes)
	}
	if !strings.Contains(errb.String(), "sockc: ready") {
		t.Errorf("no ready line:\n%s", errb.String())
	}
	base.AwaitGone(t)
}

// TestRunCommandStatus: sockc exits with the command's status.
func TestRunCommandStatus(t *testing.T) {
	kerneltest.Require(t)
	err := timed(t, time.Minute, sockcBin, "run", "../examples/bypass.sock", "--", "sh", "-c", "exit 7").Run()
	if code := exitCode(err); code != 7 {
		t.Fatalf("exit status %d (%v), want 7", code, err)
	}
}

// TestRunTeardownAfterSIGTERM pins the maps, attaches to a cgroup of the
// test's own, stops sockc with SIGTERM, and checks the kernel's listings,
// the pin directory and the cgroup.
func TestRunTeardownAfterSIGTERM(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "socks")
	pins := filepath.Join(kerneltest.PinDir(t), "maps")
	cg, err := os.MkdirTemp(cgroup2Root(t), "sockc-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(cg) })
	r := start(t, "run", "../examples/bypass.sock", "--cgroup", cg, "--pin", pins, "-v")
	if entries, err := os.ReadDir(pins); err != nil || len(entries) != 2 {
		t.Fatalf("pins %v (%v), want the socks map and its statistics, sockc_mapstats", entries, err)
	}
	if len(base.New(t)) == 0 {
		t.Fatal("the kernel lists no socks map or program while sockc runs")
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("sockc exit after SIGTERM: %v, want status 0\n%s", err, r.stderr)
	}
	if _, err := os.Stat(pins); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin directory %s remains (%v)", pins, err)
	}
	base.AwaitGone(t)
	if err := os.Remove(cg); err != nil {
		t.Errorf("the test's cgroup cannot be removed after sockc exited: %v", err)
	}
}

// TestRunSetupFailure: a directory that is not a cgroup2 one fails after
// the maps and programs exist; nothing may remain.
func TestRunSetupFailure(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "socks")
	notCgroup := t.TempDir()
	out, err := timed(t, time.Minute, sockcBin, "run", "../examples/bypass.sock", "--cgroup", notCgroup).CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit status %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(string(out), notCgroup+" is not a cgroup2 directory") {
		t.Errorf("error does not name the cgroup:\n%s", out)
	}
	base.AwaitGone(t)
}

// TestRunUnknownMap: --map naming a map the program lacks is known only
// once the program is loaded; it is still a usage error (status 2, one
// line listing the maps), and nothing may remain.
func TestRunUnknownMap(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "echo_socks")
	out, err := timed(t, time.Minute, sockcBin, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0", "--map", "nosuch").CombinedOutput()
	if code := exitCode(err); code != 2 {
		t.Fatalf("exit status %d, want 2:\n%s", code, out)
	}
	if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n != 0 || !strings.HasPrefix(string(out), "sockc: run: --map: no map nosuch (maps: ") {
		t.Errorf("want one line naming the maps, got:\n%s", out)
	}
	base.AwaitGone(t)
}

func cgroup2Root(t *testing.T) string {
	t.Helper()
	root, err := runtime.Cgroup2Mount()
	if err != nil {
		kerneltest.Unavailable(t, err.Error())
	}
	return root
}

// TestRunWithoutPrivileges runs sockc as an unprivileged user: one clear
// sentence, exit status 1, no Go trace.
func TestRunWithoutPrivileges(t *testing.T) {
	kerneltest.Require(t)
	src, err := os.ReadFile("../examples/echo.sock")
	if err != nil {
		t.Fatal(err)
	}
	// Beside the binary: a directory the unprivileged user can read.
	file := filepath.Join(filepath.Dir(sockcBin), "echo.sock")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := timed(t, time.Minute, sockcBin, "run", file, "--accept", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit status %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(string(out), "needs root, or CAP_BPF with CAP_NET_ADMIN") || strings.Contains(string(out), "goroutine") {
		t.Errorf("output:\n%s", out)
	}
	if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n != 0 {
		t.Errorf("want one line, got %d:\n%s", n+1, out)
	}
}

// TestRunAcceptWithCommand: serving and running a command at once; sockc
// exits with the command's status when it ends, without a signal.
func TestRunAcceptWithCommand(t *testing.T) {
	kerneltest.Require(t)
	err := timed(t, time.Minute, sockcBin, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0", "--", "sh", "-c", "exit 3").Run()
	if code := exitCode(err); code != 3 {
		t.Fatalf("exit status %d (%v), want 3", code, err)
	}
}

// TestRunSecondSignalKills: a command that ignores SIGTERM is killed, with
// its whole cgroup, at the second signal.
func TestRunSecondSignalKills(t *testing.T) {
	r := start(t, "run", "../examples/bypass.sock", "--", "sh", "-c", `trap "" TERM INT; echo trapped >&2; while :; do sleep 1; done`)
	r.addr(t, `^(trapped)$`) // the command's own readiness: its trap is set
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		t.Fatalf("sockc exited (%v) although the command ignores SIGTERM", err)
	case <-time.After(300 * time.Millisecond):
		// Still running, as it should: the command ignored the signal.
	}
	err := r.stop(t) // the second signal
	if code := exitCode(err); code != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit status %d (%v), want %d (the command was killed)", code, err, 128+int(syscall.SIGKILL))
	}
	if out, _ := exec.Command("sh", "-c", "ls -d "+cgroup2Root(t)+"/sockc-* 2>/dev/null").Output(); len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("cgroups left: %s", out)
	}
}

// TestRunAcceptReleasesConnections: connections that end are closed by
// sockc; its file descriptors do not grow with each client.
func TestRunAcceptReleasesConnections(t *testing.T) {
	r := start(t, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0")
	addr := r.addr(t, `^sockc: accepting on (\S+)$`)
	fds := func() int {
		entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", r.cmd.Process.Pid))
		return len(entries)
	}
	before := fds()
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.Read(make([]byte, 1))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("connection %d: after the client's FIN, read %v, want EOF", i, err)
		}
		c.Close()
	}
	if after := fds(); after > before+5 {
		t.Errorf("sockc holds %d file descriptors after 100 finished connections, %d before", after, before)
	}
}
