package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tutorialShell runs the tutorial's commands as a reader's terminal would:
// bash in the reader's clone, stdout and stderr on one stream, each
// command in a process group of its own (the group a terminal sends ^C
// to).
type tutorialShell struct {
	dir string
	env []string
}

func (sh *tutorialShell) command(ctx context.Context, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir, cmd.Env = sh.dir, sh.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A command that outlives the test's patience takes its whole group
	// with it.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs one command to its end and returns its output and exit status.
// An "export" line changes the environment of the commands after it, as
// in the reader's shell.
func (sh *tutorialShell) run(line string, timeout time.Duration) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if strings.HasPrefix(line, "export ") {
		return sh.export(ctx, line)
	}
	cmd := sh.command(ctx, line)
	var out strings.Builder
	w := &lockedWriter{w: &out}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), -1, errors.New("timed out after " + timeout.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode(), nil
	}
	return out.String(), 0, err
}

// export runs an export line and takes the environment it leaves as the
// shell's from then on.
func (sh *tutorialShell) export(ctx context.Context, line string) (string, int, error) {
	cmd := sh.command(ctx, line+" && env -0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stderr.String(), ee.ExitCode(), nil
	} else if err != nil {
		return stderr.String(), -1, err
	}
	var env []string
	for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "_", "SHLVL", "PWD", "OLDPWD": // bash's own, per process
		default:
			env = append(env, kv)
		}
	}
	sh.env = env
	return stderr.String(), 0, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tutorialTerm is a command running in another terminal until the
// tutorial presses ^C.
type tutorialTerm struct {
	name  string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the command has exited
	err   error         // its Wait result, once done
	mu    sync.Mutex
	lines []string
	eof   bool
	wake  chan struct{} // signalled on every new line and at the end
	seen  int           // lines consumed by the block that started it
}

// start runs line in the background, collecting its output by lines.
func (sh *tutorialShell) start(name, line string) (*tutorialTerm, error) {
	cmd := sh.command(context.Background(), line)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	pw.Close()
	t := &tutorialTerm{name: name, cmd: cmd, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.mu.Lock()
			t.lines = append(t.lines, sc.Text())
			t.mu.Unlock()
			t.poke()
		}
		pr.Close()
		t.mu.Lock()
		t.eof = true
		t.mu.Unlock()
		t.poke()
	}()
	go func() {
		t.err = cmd.Wait()
		close(t.done)
	}()
	return t, nil
}

func (t *tutorialTerm) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// await waits until ok accepts the lines printed so far, the output
// ends, or timeout passes, and returns the lines and whether ok accepted
// them. The output itself is the readiness signal: what the tutorial
// shows a server printing when it is up.
func (t *tutorialTerm) await(ok func([]string) bool, timeout time.Duration) ([]string, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		lines, eof := append([]string(nil), t.lines...), t.eof
		t.mu.Unlock()
		if ok(lines) {
			return lines, true
		}
		if eof {
			return lines, false
		}
		select {
		case <-t.wake:
		case <-deadline.C:
			return lines, false
		}
	}
}

// interrupt sends SIGINT to the command's process group, as ^C in its
// terminal does, and waits for it to exit and its output to end.
func (t *tutorialTerm) interrupt(timeout time.Duration) ([]string, int, error) {
	return t.signal(syscall.SIGINT, timeout)
}

// signal sends sig to the command's process group, as ^C (SIGINT) or
// `kill %N` (SIGTERM) does, and waits for it to exit and its output to
// end. It returns the lines printed and the exit status.
func (t *tutorialTerm) signal(sig syscall.Signal, timeout time.Duration) ([]string, int, error) {
	syscall.Kill(-t.cmd.Process.Pid, sig)
	select {
	case <-t.done:
	case <-time.After(timeout):
		t.kill()
		return nil, -1, fmt.Errorf("still running %s after %v", timeout, sig)
	}
	lines, _ := t.await(func([]string) bool { return false }, timeout)
	code := 0
	var ee *exec.ExitError
	if errors.As(t.err, &ee) {
		code = ee.ExitCode()
	} else if t.err != nil {
		return lines, -1, t.err
	}
	return lines, code, nil
}

// kill stops the command and its group for good: SIGTERM, then SIGKILL.
func (t *tutorialTerm) kill() {
	select {
	case <-t.done:
		return
	default:
	}
	syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.done
	}
}
