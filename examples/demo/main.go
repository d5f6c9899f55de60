// Command demo sends data between a client and a server over loopback TCP
// and reports whether the TCP stack carried it. Run it plain, then under
// sockc's same-host bypass, to see the difference. The server listens as
// most servers do by default, dual-stack on every address (Go's ":0"), and
// the client connects to 127.0.0.1 (-host ::1 for IPv6):
//
//	go build -o /tmp/demo ./examples/demo
//	/tmp/demo
//	sudo sockc run examples/bypass.sock -- /tmp/demo
package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	size := flag.Int("mib", 512, "MiB to send")
	host := flag.String("host", "127.0.0.1", "the loopback address the client connects to (127.0.0.1 or ::1)")
	flag.Parse()
	if err := run(*host, *size<<20); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(host string, size int) error {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return err
	}
	defer ln.Close()
	sums := make(chan [32]byte, 1)
	errs := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errs <- err
			return
		}
		defer c.Close()
		h := sha256.New()
		buf := make([]byte, 256<<10)
		for {
			n, err := c.Read(buf)
			h.Write(buf[:n])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs <- err
				return
			}
		}
		var s [32]byte
		copy(s[:], h.Sum(nil))
		sums <- s
	}()

	c, err := net.Dial("tcp", net.JoinHostPort(host, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)))
	if err != nil {
		return err
	}
	defer c.Close()
	chunk := make([]byte, 256<<10)
	for i := range chunk {
		chunk[i] = byte(i * 31)
	}
	h := sha256.New()
	start := time.Now()
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
		h.Write(chunk)
	}
	acked := bytesAcked(c.(*net.TCPConn))
	c.(*net.TCPConn).CloseWrite()
	var got [32]byte
	select {
	case got = <-sums:
	case err := <-errs:
		return err
	}
	took := time.Since(start)
	var want [32]byte
	copy(want[:], h.Sum(nil))
	if got != want {
		return errors.New("the server received different bytes")
	}
	fmt.Printf("sent %d MiB over loopback TCP in %v (%.1f Gbit/s), every byte verified\n",
		size>>20, took.Round(time.Millisecond), float64(size)*8/took.Seconds()/1e9)
	fmt.Printf("TCP acknowledged %d bytes of it: ", acked)
	if acked < uint64(size)/100 {
		fmt.Println("the kernel moved the data socket to socket, bypassing TCP/IP")
	} else {
		fmt.Println("the data went through the TCP/IP stack")
	}
	return nil
}

func bytesAcked(c *net.TCPConn) uint64 {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var n uint64
	raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO); err == nil {
			n = info.Bytes_acked
		}
	})
	return n
}
