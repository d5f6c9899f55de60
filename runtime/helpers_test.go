package runtime_test

import (
	"net"
	"testing"
	"time"

	_ "github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/internal/probe"
	"github.com/sockc/sockc/runtime"
)

// load compiles a .sock source into a Runtime that is closed when the test
// ends.
func load(t *testing.T, name, src string) *runtime.Runtime {
	t.Helper()
	kerneltest.Require(t)
	rt, err := runtime.LoadSource(name, []byte(src), runtime.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return rt
}

// listen returns a loopback listener closed when the test ends.
func listen(t *testing.T) *net.TCPListener {
	t.Helper()
	return listenAt(t, "127.0.0.1:0")
}

// listenAt returns a listener on addr closed when the test ends.
func listenAt(t *testing.T, addr string) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

// serveEach runs handle, in a goroutine of its own, for every connection
// ln accepts, until ln is closed. Each connection is closed when handle
// returns.
func serveEach(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// connPair returns both ends of a loopback TCP connection.
func connPair(t *testing.T, ln *net.TCPListener) (client, server *net.TCPConn) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s
}

// echoServer serves an echo upstream on loopback until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	return echoServerAt(t, "127.0.0.1:0")
}

// echoServerAt serves an echo upstream on addr until the test ends, and
// returns the address it listens on.
func echoServerAt(t *testing.T, addr string) string {
	t.Helper()
	ln := listenAt(t, addr)
	stop := probe.EchoServer(ln)
	t.Cleanup(stop)
	return ln.Addr().String()
}

// roundTrip checks an echo on c with probe.Echo: size random bytes,
// every one back, within a minute.
func roundTrip(c net.Conn, size int) error { return probe.Echo(c, size, time.Minute) }
