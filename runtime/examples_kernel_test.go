package runtime_test

import (
	"io"
	"os"
	"testing"

	"github.com/sockc/sockc/internal/kerneltest"
)

// TestKernelExamples runs the examples that need the kernel (they have no
// "Output:" comment, so `go test` would only compile them) and checks what
// they print.
func TestKernelExamples(t *testing.T) {
	kerneltest.Require(t)
	examples := []struct {
		name string
		run  func()
		want string
	}{
		{"LoadSource", ExampleLoadSource, "hello, kernel\n"},
		{"Map_Put", ExampleMap_Put, "for the target\n"},
		{"Proxy", ExampleProxy, "pong\n"},
		{"Runtime_StartCommand", ExampleRuntime_StartCommand, "in a cgroup of its own\ncgroup removed\n"},
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			if got := captureStdout(t, ex.run); got != ex.want {
				t.Errorf("Example%s printed %q, want %q", ex.name, got, ex.want)
			}
		})
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	defer func() { os.Stdout = saved }()
	f()
	os.Stdout = saved
	w.Close()
	return <-out
}
