package e2e

import (
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
)

// pipe is an os.Pipe closed when the test ends.
type pipe struct{ r, w *os.File }

func newPipe(t *testing.T) pipe {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return pipe{r, w}
}

// startWithStdio runs sockc with args, env added and the standard input
// and output given (sockc hands them to the command it runs), and waits
// for "sockc: ready"; sockc is stopped with SIGTERM when the test ends.
func startWithStdio(t *testing.T, env []string, stdin io.Reader, stdout io.Writer, args ...string) *sockcRun {
	t.Helper()
	kerneltest.Require(t)
	cmd := exec.Command(sockcBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &sockcRun{cmd: cmd, stderr: newLineLog(pr), done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		pw.Close()
		// Wait returns once the scanner has taken the last bytes, not
		// once it has made them lines: a test that read the log on
		// exit could miss its last lines (the final stats line, in a
		// matrix run of TestProxyFaultRefusingUpstream).
		r.stderr.waitEOF()
		r.done <- err
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	ready := make(chan bool, 1)
	go func() { _, ok := r.stderr.wait(readyRE); ready <- ok }()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("sockc %v exited before ready:\n%s", args, r.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("sockc %v not ready after 60s:\n%s", args, r.stderr)
	}
	return r
}
