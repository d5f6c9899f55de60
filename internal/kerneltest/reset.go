package kerneltest

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// DialExpectingReset connects to addr, a proxy whose upstream is dead,
// and returns nil if the connection is reset: before the connect returns
// (the reset can win the race) or at the first read. A FIN would say the
// upstream answered nothing; the reset says the request went nowhere.
func DialExpectingReset(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err == nil {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var n int
		n, err = c.Read(make([]byte, 1))
		if n != 0 {
			return fmt.Errorf("read %d bytes from a dead upstream", n)
		}
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("client: %v; want a reset", err)
	}
	return nil
}
