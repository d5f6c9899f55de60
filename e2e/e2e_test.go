// Package e2e runs the sockc binary end to end on loopback, as a user
// would: sockc run with each example, real clients and servers, and the
// kernel's own listings to check that nothing remains afterwards.
package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/internal/probe"
)

// sockcBin is the sockc binary, built once by TestMain (or copied from
// $SOCKC_E2E_BIN).
var sockcBin string

// SockcBinEnv names a prebuilt sockc binary for the tests to run instead
// of building one: the kernel matrix's guests have no Go toolchain.
const SockcBinEnv = "SOCKC_E2E_BIN"

// copyExecutable copies the binary at src to dst, mode 0755: the tests
// chmod the binary's directory, so it is never used in place.
func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

// sharedGoHome holds the Go caches of the reader tests that share them
// (sharedGoCaches), created by TestMain.
var sharedGoHome string

func TestMain(m *testing.M) {
	runCapDropLauncher()
	if os.Getenv(probe.Env) == probe.KindsMode {
		// Run inside `sockc run ... --` by TestBypassGoServers.
		if err := probe.RunKinds(os.Stdout, os.Stdin, 64<<20); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(probe.Env) != "" {
		// Run by a test inside `sockc run ... --`: act as the probe.
		if err := probe.Run(os.Stdout, 64<<20); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "sockc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by anyone: the privilege tests run the binary, and read
	// files beside it, as uid 65534.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sockcBin = filepath.Join(dir, "sockc")
	sharedGoHome = filepath.Join(dir, "go")
	if prebuilt := os.Getenv(SockcBinEnv); prebuilt != "" {
		// The kernel matrix runs this test binary in a guest that has
		// no Go toolchain, with the sockc binary built beside it.
		if err := copyExecutable(prebuilt, sockcBin); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", SockcBinEnv, err)
			os.Exit(1)
		}
	} else {
		build := exec.Command("go", "build", "-o", sockcBin, "../cmd/sockc")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build sockc:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sockcRun is a running `sockc run`.
type sockcRun struct {
	cmd    *exec.Cmd
	stderr *lineLog
	done   chan error
}

// lineLog collects stderr lines and lets a test wait for one.
type lineLog struct {
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
	eof   bool
}

func newLineLog(r io.Reader) *lineLog {
	l := &lineLog{}
	l.cond = sync.NewCond(&l.mu)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.cond.Broadcast()
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.eof = true
		l.cond.Broadcast()
		l.mu.Unlock()
	}()
	return l
}

// waitEOF blocks until every line of the stream is in l.lines.
func (l *lineLog) waitEOF() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.eof {
		l.cond.Wait()
	}
}

// wait blocks until a line matches re (the process's own readiness
// signal) or the stream ends.
func (l *lineLog) wait(re *regexp.Regexp) ([]string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; ; i++ {
		for ; i < len(l.lines); i++ {
			if m := re.FindStringSubmatch(l.lines[i]); m != nil {
				return m, true
			}
		}
		if l.eof {
			return nil, false
		}
		l.cond.Wait()
		i--
	}
}

// waitN blocks until n lines match re or the stream ends, and reports
// whether n did.
func (l *lineLog) waitN(re *regexp.Regexp, n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		found := 0
		for _, line := range l.lines {
			if re.MatchString(line) {
				found++
			}
		}
		if found >= n {
			return true
		}
		if l.eof {
			return false
		}
		l.cond.Wait()
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

var readyRE = regexp.MustCompile(`^sockc: ready$`)

// start runs sockc with args and waits for "sockc: ready". The process is
// stopped with SIGTERM when the test ends, if still running.
func start(t *testing.T, args ...string) *sockcRun {
	t.Helper()
	return startWithStdio(t, nil, nil, os.Stdout, args...)
}

// addr returns the address printed on a line matching re.
func (r *sockcRun) addr(t *testing.T, re string) string {
	t.Helper()
	m, ok := r.stderr.wait(regexp.MustCompile(re))
	if !ok || len(m) < 2 {
		t.Fatalf("no line matching %s:\n%s", re, r.stderr)
	}
	return m[1]
}

// stop sends SIGTERM and returns the exit error.
func (r *sockcRun) stop(t *testing.T) error {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("sockc did not exit 30s after SIGTERM:\n%s", r.stderr)
		return nil
	}
}

// procIO reads rchar and wchar of a process: bytes it moved through
// read/write-like system calls.
func procIO(t *testing.T, pid int) (rchar, wchar int64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var v int64
		if n, _ := fmt.Sscanf(line, "rchar: %d", &v); n == 1 {
			rchar = v
		}
		if n, _ := fmt.Sscanf(line, "wchar: %d", &v); n == 1 {
			wchar = v
		}
	}
	return rchar, wchar
}

// timed builds a command that gets SIGTERM after d (sockc then stops the
// command it runs and removes its cgroup) and SIGKILL 10s later, so that a
// hung run fails the test instead of blocking the suite.
func timed(t *testing.T, d time.Duration, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
