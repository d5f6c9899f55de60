package probe

import (
	"net"
	"sync"
)

// EchoServer serves an echo on ln with a plain read/write loop, never
// io.Copy: splice(2), which io.Copy uses between TCP sockets, hangs on
// sockets in a sockmap. It half-closes after the client does. The function
// it returns stops it: it closes the listener and every connection, and
// waits for them.
func EchoServer(ln net.Listener) (stop func()) {
	var (
		mu     sync.Mutex
		conns  = map[net.Conn]bool{}
		wg     sync.WaitGroup
		closed bool
	)
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = true
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
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
	return func() {
		ln.Close()
		<-accepted
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}
