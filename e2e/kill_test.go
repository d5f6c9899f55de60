package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
)

// These tests kill `sockc run` with SIGKILL, which no program can catch:
// no teardown runs. What the kernel does not remove by itself (pins, the
// command's cgroup and what still runs there) the next run must.

// killHard sends SIGKILL and waits until the process is reaped.
func (r *sockcRun) killHard(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case err := <-r.done:
		r.done <- err // for start's cleanup
		if code := exitCode(err); code != -1 {
			t.Fatalf("sockc after SIGKILL: %v, want killed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sockc still runs 10s after SIGKILL")
	}
}

// holdConn dials addr and makes one round trip, so that the connection is
// paired in the maps; it stays open until the test ends.
func holdConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	return c
}

// connectScript is a command for `sockc run ... --`: it connects to addr
// over loopback (its socket enters the map), says "connected" on stderr
// and waits, as the same process, with the socket open.
func connectScript(t *testing.T, addr string) []string {
	t.Helper()
	bash := kerneltest.Tool(t, "bash")
	host, port, _ := net.SplitHostPort(addr)
	return []string{bash, "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%s && echo connected >&2 && exec sleep 600", host, port)}
}

// socketsIn counts the entries of the map called name among the
// baseline's new objects.
func socketsIn(t *testing.T, base kerneltest.Baseline, name string) int {
	t.Helper()
	for _, o := range base.New(t) {
		var id uint32
		if n, _ := fmt.Sscanf(o, "map "+name+" #%d", &id); n != 1 {
			continue
		}
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		n := 0
		var k, next = make([]byte, m.KeySize()), make([]byte, m.KeySize())
		var cur any
		for ; ; n++ {
			if err := m.NextKey(cur, &next); err != nil {
				return n
			}
			copy(k, next)
			cur = k
		}
	}
	t.Fatalf("no map %s among %v", name, base.New(t))
	return 0
}

// commandCgroup returns the cgroup sockc (pid) made for its command.
func commandCgroup(t *testing.T, pid int) string {
	t.Helper()
	found, _ := filepath.Glob(filepath.Join(cgroup2Root(t), fmt.Sprintf("%s%d-*", runtime.CommandCgroupPrefix, pid)))
	if len(found) != 1 {
		t.Fatalf("cgroups of sockc pid %d: %v, want one", pid, found)
	}
	return found[0]
}

// cgroupPids lists the processes in a cgroup.
func cgroupPids(t *testing.T, cg string) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		pid, _ := strconv.Atoi(f)
		pids = append(pids, pid)
	}
	return pids
}

// exitWatch holds pidfds of processes, to wait for their end: a pidfd
// turns readable when its process exits.
type exitWatch map[int]int

func watchExits(t *testing.T, pids ...int) exitWatch {
	t.Helper()
	w := exitWatch{}
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("pidfd of %d: %v", pid, err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		w[pid] = fd
	}
	return w
}

// await fails the test unless pid exits within 10s.
func (w exitWatch) await(t *testing.T, pid int) {
	t.Helper()
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(w[pid]), Events: unix.POLLIN}}, 10000)
	if n != 1 {
		t.Fatalf("process %d still runs after 10s (%v)", pid, err)
	}
}

// TestKillLeavesNothing SIGKILLs a run of each example while a connection
// is in its map, and checks with the kernel's listing that every map,
// program and link goes away: they are held by sockc's file descriptors,
// and the sockets by sockc's (echo, proxy) or by the command's, which gets
// SIGKILL with sockc (bypass). Of the bypass run, the command's cgroup
// stays, empty, for the next run to remove.
func TestKillLeavesNothing(t *testing.T) {
	kerneltest.Require(t)
	killed, sockets := 0, 0
	t.Run("echo", func(t *testing.T) {
		base := kerneltest.Snapshot(t, "echo_socks")
		r := start(t, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0")
		holdConn(t, r.addr(t, `^sockc: accepting on (\S+)$`))
		sockets += socketsIn(t, base, "echo_socks")
		r.killHard(t)
		killed++
		base.AwaitGone(t)
	})
	t.Run("proxy", func(t *testing.T) {
		base := kerneltest.Snapshot(t, "conns", "sockc_counters", "sockc_peers")
		r := start(t, "run", "../examples/proxy.sock", "--proxy", "127.0.0.1:0="+echoUpstream(t))
		holdConn(t, r.addr(t, `^sockc: proxy (\S+) -> `))
		sockets += socketsIn(t, base, "conns")
		r.killHard(t)
		killed++
		base.AwaitGone(t)
	})
	t.Run("bypass", func(t *testing.T) {
		base := kerneltest.Snapshot(t, "socks")
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := start(t, append([]string{"run", "../examples/bypass.sock", "--"}, connectScript(t, ln.Addr().String())...)...)
		r.addr(t, `^(connected)$`)
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		cg := commandCgroup(t, r.cmd.Process.Pid)
		t.Cleanup(func() { runtime.RemoveCgroup(cg) })
		pids := cgroupPids(t, cg)
		if len(pids) != 1 {
			t.Fatalf("processes in the command's cgroup: %v, want the command alone", pids)
		}
		exits := watchExits(t, pids[0])
		n := socketsIn(t, base, "socks")
		if n != 1 {
			t.Fatalf("%d sockets in socks, want the command's one", n)
		}
		sockets += n
		r.killHard(t)
		killed++
		exits.await(t, pids[0]) // the command got SIGKILL with sockc
		// The command held the socket; only its death lets the map go.
		base.AwaitGone(t)
	})
	if !t.Failed() {
		t.Logf("reliability: kill: %d runs SIGKILLed (echo, proxy, bypass) with %d sockets in their maps, 0 objects left", killed, sockets)
	}
}

// TestKillStaleCgroup: what the command started itself survives the
// command's SIGKILL, in the cgroup sockc made. The next sockc run, of any
// kind, kills it and removes the cgroup, in one line; the cgroup of a live
// run is not touched.
func TestKillStaleCgroup(t *testing.T) {
	kerneltest.Require(t)
	bash := kerneltest.Tool(t, "bash")
	live := start(t, "run", "../examples/bypass.sock", "--", "sleep", "600")
	liveCg := commandCgroup(t, live.cmd.Process.Pid)

	// The child lets go of sockc's stderr: the harness reads that pipe to
	// its end before it reaps sockc.
	r := start(t, "run", "../examples/bypass.sock", "--", bash, "-c", `sleep 600 >/dev/null 2>&1 & echo "started $!" >&2; wait`)
	child, _ := strconv.Atoi(r.addr(t, `^started (\d+)$`))
	cg := commandCgroup(t, r.cmd.Process.Pid)
	t.Cleanup(func() { runtime.RemoveCgroup(cg) })
	pids := cgroupPids(t, cg)
	if len(pids) != 2 {
		t.Fatalf("processes in the command's cgroup: %v, want the command and its child %d", pids, child)
	}
	exits := watchExits(t, pids...)
	r.killHard(t)
	for _, pid := range pids {
		if pid != child {
			exits.await(t, pid) // the command got SIGKILL with sockc
		}
	}
	if left := cgroupPids(t, cg); len(left) != 1 || left[0] != child {
		t.Fatalf("after SIGKILL, %s holds %v, want the command's child %d", cg, left, child)
	}

	next := start(t, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0")
	// Stale cgroups go before "sockc: ready", which start waited for.
	line := fmt.Sprintf("sockc: removed stale cgroup %s of sockc pid %d, which was killed; killed what still ran in it: %d (sleep)\n",
		cg, r.cmd.Process.Pid, child)
	if !strings.Contains(next.stderr.String()+"\n", line) {
		t.Fatalf("no line %q in:\n%s", line, next.stderr)
	}
	exits.await(t, child)
	if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale cgroup %s remains: %v", cg, err)
	}
	if procs, err := os.ReadFile(filepath.Join(liveCg, "cgroup.procs")); err != nil || len(strings.TrimSpace(string(procs))) == 0 {
		t.Errorf("the cgroup of a live run was touched: %q, %v", procs, err)
	}
	if err := next.stop(t); err != nil {
		t.Errorf("the next run: %v\n%s", err, next.stderr)
	}
	live.stop(t)
	t.Logf("reliability: kill: stale cgroup of a SIGKILLed run removed by the next run, 1 leftover process killed, live run's cgroup kept")
}

// TestKillStalePins: a run with --pin and --cgroup is killed while a
// process of the cgroup has a socket in the pinned map. The map stays (the
// pin holds it), and so does the msg program (the socket holds it). The
// next run on the same directory takes the socket out, replaces the pin
// in one line, and after its own exit nothing of either run remains,
// though the socket is still open.
func TestKillStalePins(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "socks")
	pins := filepath.Join(kerneltest.PinDir(t), "maps")
	cg, removeCg, err := runtime.NewChildCgroup("sockc-e2e-kill-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeCg() })
	r := start(t, "run", "../examples/bypass.sock", "--cgroup", cg, "--pin", pins)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client := inCgroup(t, cg, connectScript(t, ln.Addr().String()))
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if n := socketsIn(t, base, "socks"); n != 1 {
		t.Fatalf("%d sockets in socks, want the client's one", n)
	}
	r.killHard(t)
	left := strings.Join(base.New(t), " ")
	if !strings.Contains(left, "map socks") {
		t.Fatalf("after SIGKILL: %s; want the pinned map socks", left)
	}
	t.Logf("after SIGKILL, left in the kernel: %s", left)

	next := start(t, "run", "../examples/bypass.sock", "--cgroup", cg, "--pin", pins)
	line := "sockc: removed stale pin " + filepath.Join(pins, "socks") + " (a sockhash left by a run that did not tear down; 1 socket taken out of it)"
	if !strings.Contains(next.stderr.String(), line) {
		t.Errorf("no line %q in:\n%s", line, next.stderr)
	}
	if err := next.stop(t); err != nil {
		t.Fatalf("the next run: %v\n%s", err, next.stderr)
	}
	base.AwaitGone(t)
	if client.ProcessState != nil {
		t.Fatal("the client ended: the test proves nothing about its socket")
	}
	t.Logf("reliability: kill: stale pin of a SIGKILLed run replaced, 1 socket taken out, 0 objects left while the socket lives")
}

// inCgroup starts command in the cgroup and waits for its "connected";
// it is killed when the test ends.
func inCgroup(t *testing.T, cg string, command []string) *exec.Cmd {
	t.Helper()
	dir, err := os.Open(cg)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	cmd := exec.Command(command[0], command[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); pw.Close() })
	if _, ok := newLineLog(pr).wait(regexp.MustCompile(`^connected$`)); !ok {
		t.Fatal("the client did not connect")
	}
	return cmd
}

// TestKillPinDirLocked: a second run on the pin directory of a live one is
// refused in one sentence, status 1; the first keeps passing traffic and
// tears down as usual.
func TestKillPinDirLocked(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "echo_socks")
	pins := filepath.Join(kerneltest.PinDir(t), "maps")
	first := start(t, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0", "--pin", pins)
	addr := first.addr(t, `^sockc: accepting on (\S+)$`)

	out, err := timed(t, time.Minute, sockcBin, "run", "../examples/echo.sock", "--accept", "127.0.0.1:0", "--pin", pins).CombinedOutput()
	want := fmt.Sprintf("sockc: pin directory %s is in use by another sockc run (pid %d): stop that run first, or pin elsewhere\n", pins, first.cmd.Process.Pid)
	if code := exitCode(err); code != 1 || string(out) != want {
		t.Fatalf("second run: status %d, output:\n%s\nwant status 1 and:\n%s", code, out, want)
	}
	if _, err := os.Stat(filepath.Join(pins, "echo_socks")); err != nil {
		t.Fatalf("the first run's pin after the refusal: %v", err)
	}
	if err := exchange(addr, 1<<20); err != nil {
		t.Fatalf("the first run after the refusal: %v", err)
	}
	if err := first.stop(t); err != nil {
		t.Fatalf("the first run's exit: %v\n%s", err, first.stderr)
	}
	if _, err := os.Stat(pins); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin directory remains after the first run: %v", err)
	}
	base.AwaitGone(t)
	t.Logf("reliability: kill: second run on a locked pin directory refused (status 1, one line); the first passed 1 MiB after it and tore down clean")
}
