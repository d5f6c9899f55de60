package probe

import (
	"net"
	"sync"
)

// EchoServer serves an echo on ln with a plain read/write loop, never
// io.Copy: splice(2), which io.Copy uses between TCP sockets, hangs on
// sockets in a sockmap. It half-closes after the client does, and returns
// a function that stops it and waits for its connections to end.
func EchoServer(ln net.Listener) (stop func()) {
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						if tc, ok := c.(*net.TCPConn); ok {
							tc.CloseWrite()
						}
						return
					}
				}
			}()
		}
	}()
	return func() { ln.Close(); wg.Wait() }
}
