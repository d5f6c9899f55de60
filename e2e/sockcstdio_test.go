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

// startWithStdio is start with the command's standard input and output
// given (sockc hands them to the command it runs) and env added: it waits
// for "sockc: ready" and stops sockc with SIGTERM when the test ends.
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
	if _, ok := r.stderr.wait(readyRE); !ok {
		t.Fatalf("sockc %v exited before ready:\n%s", args, r.stderr)
	}
	return r
}
