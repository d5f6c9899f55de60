package e2e

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
)

// stallSays is the start of the line sockc run prints when a map's
// redirects all miss, and stallWithin how long after traffic starts it
// must come: the 3 s window the help states, sampled every second, and a
// second of slack.
var stallSays = regexp.MustCompile(`^sockc: map socks: \d+ redirects in the last 3s found no socket .*Does it run inside the cgroup too`)

const stallWithin = 5 * time.Second

// TestRunSaysWhenBypassMisses: a server started outside sockc run (here,
// in the test process) never enters the map, so the client's messages
// all miss and take TCP; sockc run says so, naming the cause, within its
// stated delay.
func TestRunSaysWhenBypassMisses(t *testing.T) {
	kerneltest.Tool(t, "socat")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	r := start(t, "run", "../examples/bypass.sock", "--", "socat", "-u", "/dev/zero", "TCP:"+ln.Addr().String())
	began := time.Now()
	said := make(chan bool, 1)
	go func() { _, ok := r.stderr.wait(stallSays); said <- ok }()
	select {
	case ok := <-said:
		if !ok {
			t.Fatalf("sockc run ended without saying the bypass misses:\n%s", r.stderr)
		}
		t.Logf("said after %v", time.Since(began).Round(100*time.Millisecond))
	case <-time.After(stallWithin):
		t.Fatalf("sockc run did not say within %v that every redirect misses:\n%s", stallWithin, r.stderr)
	}
	r.stop(t)
}

// TestRunSeveralCgroups: with --cgroup given twice, a server in one
// cgroup and its client in another are both in scope, and the bypass
// carries the client's bytes: every redirect finds the peer, and the file
// arrives intact.
func TestRunSeveralCgroups(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.Tool(t, "socat")
	kerneltest.Tool(t, "ss")
	var cgs [2]string
	for i := range cgs {
		cg, remove, err := runtime.NewChildCgroup("sockc-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { remove() })
		cgs[i] = cg
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	data := make([]byte, 16<<20)
	rand.Read(data)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t, []string{"p"})["p"]
	r := start(t, "run", "../examples/bypass.sock", "--cgroup", cgs[0], "--cgroup", cgs[1], "--stats", "1s")
	server := cmdInCgroup(t, cgs[0], "socat", "-u", "TCP-LISTEN:"+port+",bind=127.0.0.1,reuseaddr", "OPEN:"+out+",creat,trunc")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	awaitListening(t, port)
	client := cmdInCgroup(t, cgs[1], "socat", "-u", "OPEN:"+in, "TCP:127.0.0.1:"+port)
	if b, err := client.CombinedOutput(); err != nil {
		t.Fatalf("client: %v\n%s", err, b)
	}
	if err := server.Wait(); err != nil {
		t.Fatalf("server: %v", err)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the server wrote %d bytes (%v), want the %d sent, intact", len(got), err, len(data))
	}
	// The statistics of the next line cover the whole transfer.
	stats := regexp.MustCompile(`^sockc: stats socks=\d+ socks\.inserted=(\d+) socks\.redirected=(\d+) socks\.missed=(\d+)$`)
	if !r.stderr.waitN(stats, countMatches(r.stderr.String(), stats)+1) {
		t.Fatalf("no stats line after the transfer:\n%s", r.stderr)
	}
	m := lastMatch(r.stderr.String(), stats)
	inserted, _ := strconv.Atoi(m[1])
	redirected, _ := strconv.Atoi(m[2])
	missed, _ := strconv.Atoi(m[3])
	if inserted != 2 || redirected == 0 || missed != 0 {
		t.Fatalf("inserted %d, redirected %d, missed %d: want both sockets in, every redirect finding its peer\n%s", inserted, redirected, missed, r.stderr)
	}
	r.stop(t)
}

// cmdInCgroup returns a command that starts in the cgroup directory cg.
func cmdInCgroup(t *testing.T, cg, name string, args ...string) *exec.Cmd {
	t.Helper()
	dir, err := os.Open(cg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	cmd := timed(t, time.Minute, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	return cmd
}

// awaitListening waits until something listens on port of loopback,
// asking the kernel (ss) rather than connecting: a socat server without
// fork serves the first connection only.
func awaitListening(t *testing.T, port string) {
	t.Helper()
	kerneltest.Await(t, 30*time.Second, func() (bool, string) {
		out, _ := exec.Command("ss", "-Hltn", "sport = :"+port).Output()
		return len(bytes.TrimSpace(out)) > 0, "nothing listens on port " + port
	})
}

// countMatches counts the lines of s that re matches.
func countMatches(s string, re *regexp.Regexp) int {
	n := 0
	for _, l := range splitLines(s) {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// lastMatch is re's submatches in the last line of s it matches.
func lastMatch(s string, re *regexp.Regexp) []string {
	var m []string
	for _, l := range splitLines(s) {
		if sm := re.FindStringSubmatch(l); sm != nil {
			m = sm
		}
	}
	return m
}
