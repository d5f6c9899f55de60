package runtime_test

import (
	"io"
	"os"
	"testing"
	"time"
)

func TestEchoExample(t *testing.T) {
	src, err := os.ReadFile("../examples/echo.sock")
	if err != nil {
		t.Fatal(err)
	}
	rt := load(t, "echo.sock", string(src))
	m, err := rt.Map("echo_socks")
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)

	// A client whose first bytes arrive before its socket joins the map:
	// they must come back too, without more data to push them.
	early, srv := connPair(t, ln)
	if _, err := early.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	waitReadable(t, srv)
	if err := m.Pair(srv, srv); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	early.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(early, buf); err != nil || string(buf) != "first" {
		t.Fatalf("early bytes: got %q, %v", buf, err)
	}

	// Several clients at once, 1 MiB each.
	const clients = 8
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		c, s := connPair(t, ln)
		if err := m.Pair(s, s); err != nil {
			t.Fatal(err)
		}
		go func() { errs <- roundTrip(c, 1<<20) }()
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n, err := m.Len(); err != nil || n != clients+1 {
		t.Errorf("map holds %d sockets (%v), want %d", n, err, clients+1)
	}
}
