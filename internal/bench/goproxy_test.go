package bench

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// upstreamServer accepts connections on a new loopback listener and runs
// handle on each; it returns the listener's address.
func upstreamServer(t *testing.T, handle func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func dialTCP(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A deadline, not a sleep: a relay that loses the half-close would
	// otherwise hang the test.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

var goProxyModes = []GoProxyMode{ReadWrite, Copy}

// TestGoProxyClientHalfClose: the client sends a request and half-closes;
// the server reads to EOF, then replies and closes; the client reads the
// whole reply, then EOF.
func TestGoProxyClientHalfClose(t *testing.T) {
	for _, mode := range goProxyModes {
		for _, size := range []int{1, 1000, 3 << 20} {
			t.Run(fmt.Sprintf("%s %d bytes", mode, size), func(t *testing.T) {
				request := bytes.Clone(testPattern().Stream(1).Next(min(size, patternLen)))
				for len(request) < size {
					request = append(request, request...)
				}
				request = request[:size]
				got := make(chan []byte, 1)
				upstream := upstreamServer(t, func(c *net.TCPConn) {
					c.SetDeadline(time.Now().Add(10 * time.Second))
					b, err := io.ReadAll(c) // to the client's half-close
					if err != nil {
						t.Errorf("server: read request: %v", err)
					}
					got <- b
					// Still allowed to write after the client's FIN.
					reply := append([]byte("reply to "), b...)
					if _, err := c.Write(reply); err != nil {
						t.Errorf("server: write reply after the client's half-close: %v", err)
					}
				})
				front := startGoProxy(t, upstream, mode)
				c := dialTCP(t, front)
				if _, err := c.Write(request); err != nil {
					t.Fatal(err)
				}
				if err := c.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				reply, err := io.ReadAll(c) // to the server's close
				if err != nil {
					t.Fatalf("client: read reply: %v", err)
				}
				if b := <-got; !bytes.Equal(b, request) {
					t.Errorf("server received %d bytes, want the %d sent", len(b), len(request))
				}
				if want := append([]byte("reply to "), request...); !bytes.Equal(reply, want) {
					t.Errorf("client received %d bytes, want %d", len(reply), len(want))
				}
			})
		}
	}
}

// TestGoProxyServerHalfClose: the server speaks first and half-closes; the
// client reads to EOF and can still send, and the server receives it.
func TestGoProxyServerHalfClose(t *testing.T) {
	for _, mode := range goProxyModes {
		t.Run(string(mode), func(t *testing.T) {
			got := make(chan string, 1)
			upstream := upstreamServer(t, func(c *net.TCPConn) {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write([]byte("banner")); err != nil {
					t.Errorf("server: %v", err)
				}
				if err := c.CloseWrite(); err != nil {
					t.Errorf("server: %v", err)
				}
				b, err := io.ReadAll(c)
				if err != nil {
					t.Errorf("server: read after its half-close: %v", err)
				}
				got <- string(b)
			})
			front := startGoProxy(t, upstream, mode)
			c := dialTCP(t, front)
			banner, err := io.ReadAll(c)
			if err != nil || string(banner) != "banner" {
				t.Fatalf("client read %q, %v; want \"banner\" then EOF", banner, err)
			}
			if _, err := c.Write([]byte("after EOF")); err != nil {
				t.Fatalf("client: write after the server's half-close: %v", err)
			}
			c.CloseWrite()
			if s := <-got; s != "after EOF" {
				t.Errorf("server received %q, want \"after EOF\"", s)
			}
		})
	}
}

// TestGoProxyEcho exchanges many messages both ways on several connections
// at once.
func TestGoProxyEcho(t *testing.T) {
	for _, mode := range goProxyModes {
		t.Run(string(mode), func(t *testing.T) {
			upstream := upstreamServer(t, func(c *net.TCPConn) {
				// Plain reads and writes: the proxy is under test, not
				// this echo.
				io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c})
				c.CloseWrite()
			})
			front := startGoProxy(t, upstream, mode)
			const conns, rounds = 4, 50
			errs := make(chan error, conns)
			for id := range uint64(conns) {
				c := dialTCP(t, front)
				go func() {
					out, in := testPattern().Stream(id+1), testPattern().Stream(id+1)
					buf := make([]byte, 10007)
					for range rounds {
						if _, err := c.Write(out.Next(len(buf))); err != nil {
							errs <- err
							return
						}
						if _, err := io.ReadFull(c, buf); err != nil {
							errs <- err
							return
						}
						if err := in.Verify(buf); err != nil {
							errs <- err
							return
						}
					}
					c.CloseWrite()
					if n, err := c.Read(buf); n != 0 || err != io.EOF {
						errs <- io.ErrUnexpectedEOF
						return
					}
					errs <- nil
				}()
			}
			for range conns {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestGoProxyUpstreamDown: with nothing at the upstream address the proxy
// closes the client's connection rather than leaving it open.
func TestGoProxyUpstreamDown(t *testing.T) {
	for _, mode := range goProxyModes {
		t.Run(string(mode), func(t *testing.T) {
			front := startGoProxy(t, freeAddr(t), mode)
			c := dialTCP(t, front)
			b, err := io.ReadAll(c)
			if len(b) != 0 {
				t.Errorf("client read %q from a proxy with no upstream", b)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("the proxy kept the connection open: %v", err)
			}
		})
	}
}

func TestServeGoProxyUnknownMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, mode := range []GoProxyMode{"", "splice", "RW"} {
		done := make(chan error, 1)
		go func() { done <- ServeGoProxy(ln, "127.0.0.1:1", mode) }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "unknown mode") {
				t.Errorf("ServeGoProxy(mode %q) = %v, want an unknown mode error", mode, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ServeGoProxy(mode %q) served instead of failing", mode)
		}
	}
}

// TestServeGoProxyReturnsOnClose: closing the listener ends ServeGoProxy
// without an error (startGoProxy's cleanup checks it).
func TestServeGoProxyReturnsOnClose(t *testing.T) {
	for _, mode := range goProxyModes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- ServeGoProxy(ln, "127.0.0.1:1", mode) }()
		ln.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: ServeGoProxy after Close = %v, want nil", mode, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ServeGoProxy did not return after its listener closed", mode)
		}
	}
}
