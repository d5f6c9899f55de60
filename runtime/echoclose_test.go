package runtime_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestEchoClientClosesAtOnce: a client that writes and shuts its side
// down at once (echo hi | socat - TCP:...) may be accepted only after its
// FIN has arrived, when the kernel no longer takes the socket into a
// sockmap. Its bytes must still come back, followed by a FIN.
func TestEchoClientClosesAtOnce(t *testing.T) {
	src, err := os.ReadFile("../examples/echo.sock")
	if err != nil {
		t.Fatal(err)
	}
	rt := load(t, "echo.sock", string(src))
	p, addr := serveProxy(t, rt, "echo_socks", "")
	const rounds = 200
	for i := 0; i < rounds; i++ {
		msg := fmt.Sprintf("hello %d\n", i)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		tc := c.(*net.TCPConn)
		if _, err := tc.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(tc)
		tc.Close()
		if err != nil || string(got) != msg {
			t.Fatalf("round %d: echoed %q (%v), want %q; stats %+v", i, got, err, msg, p.Stats())
		}
	}
	st := p.Stats()
	t.Logf("echo: %d clients closed at once, %d of them relayed in user space", rounds, st.Relayed)
}
