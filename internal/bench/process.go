package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// process is a peer program started for the length of a benchmark run.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
	tail *tailBuffer   // the end of its output, for error messages
}

// startProcess runs argv with stdout and stderr captured. If ready is not
// nil it is called with each output line until it returns true; the
// process counts as started only then.
func startProcess(ctx context.Context, name string, argv []string, ready func(line string) bool) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// Its own process group, so that stopping it stops what it forks
	// (socat forks a child per connection).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	pw.Close()
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), tail: &tailBuffer{max: 4096}}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.tail.add(sc.Text())
			select {
			case lines <- sc.Text():
			default: // nobody is waiting for lines any more
			}
		}
		io.Copy(io.Discard, pr)
		pr.Close()
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if ready == nil {
		return p, nil
	}
	timeout := time.NewTimer(15 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				<-p.done
				return nil, fmt.Errorf("%s exited before it was ready: %v\n%s", name, p.err, p.tail)
			}
			if ready(line) {
				return p, nil
			}
		case <-timeout.C:
			p.stop()
			return nil, fmt.Errorf("%s was not ready after 15s:\n%s", name, p.tail)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		}
	}
}

// alive reports an error if the process has exited.
func (p *process) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited during the benchmark: %v\n%s", p.name, p.err, p.tail)
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group, unless it has exited, and
// waits; after 10 s it kills the group. It returns an error if the process
// failed.
func (p *process) stop() error {
	select {
	case <-p.done:
	default:
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			return fmt.Errorf("%s did not stop on SIGTERM; killed", p.name)
		}
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // forked children, if any
	if p.err == nil {
		return nil
	}
	// haproxy and Go programs die of SIGTERM; socat exits with 128+15.
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok &&
			(ws.Signaled() && ws.Signal() == syscall.SIGTERM || ws.Exited() && ws.ExitStatus() == 128+int(syscall.SIGTERM)) {
			return nil
		}
	}
	return fmt.Errorf("%s: %v\n%s", p.name, p.err, p.tail)
}

// tailBuffer keeps the last lines of a process's output.
type tailBuffer struct {
	max   int
	lines []string
	size  int
}

func (t *tailBuffer) add(line string) {
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for t.size > t.max && len(t.lines) > 1 {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

func (t *tailBuffer) String() string { return strings.Join(t.lines, "\n") }

// waitListening waits until a TCP socket listens on host:port (IPv4), for
// peers that do not announce readiness. It reads the kernel's socket table
// rather than connecting, which would open a connection through the peer:
// the table of the peer's own network namespace, /proc/PID/net/tcp.
func waitListening(ctx context.Context, p *process, host string, port int) error {
	want, err := listenLine(host, port)
	if err != nil {
		return fmt.Errorf("wait for %s: %w", p.name, err)
	}
	table := fmt.Sprintf("/proc/%d/net/tcp", p.cmd.Process.Pid)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(15 * time.Second)
	for {
		if err := p.alive(); err != nil {
			return err
		}
		b, err := os.ReadFile(table)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", p.name, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if want.MatchString(line) {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-timeout:
			p.stop()
			return fmt.Errorf("%s did not listen on port %d after 15s:\n%s", p.name, port, p.tail)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// listenLine matches the line of /proc/net/tcp of a socket listening on
// host:port, an IPv4 address: the kernel prints the address as the
// 32-bit word it stores, in network order, read in the machine's.
func listenLine(host string, port int) (*regexp.Regexp, error) {
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IPv4 address", host)
	}
	return regexp.MustCompile(fmt.Sprintf(`^\s*\d+: %08X:%04X 00000000:0000 0A `, binary.NativeEndian.Uint32(ip), port)), nil
}

// freePort returns a loopback port that is free now, for peers that cannot
// be told to pick their own. Nothing else on a benchmark host binds
// loopback ports at random, so the gap until the peer binds it is safe.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
