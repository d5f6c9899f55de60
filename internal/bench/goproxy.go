package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// GoProxyMode is how the userspace proxy moves bytes.
type GoProxyMode string

// The userspace proxies sockc is compared with.
const (
	// ReadWrite is a plain read/write loop through a 64 KiB buffer in user
	// space: what most hand-written proxies do.
	ReadWrite GoProxyMode = "rw"
	// Copy is io.Copy between the two TCP connections, which Go turns into
	// splice(2) through a pipe, so the payload stays in the kernel.
	Copy GoProxyMode = "copy"
)

// proxyBuffer is the read/write loop's buffer.
const proxyBuffer = 64 << 10

// ServeGoProxy accepts connections on ln and relays each to upstream until
// ln is closed. A half-close is passed on as a half-close; the pair is
// closed when both directions are done.
func ServeGoProxy(ln net.Listener, upstream string, mode GoProxyMode) error {
	if mode != ReadWrite && mode != Copy {
		return fmt.Errorf("go proxy: unknown mode %q (want rw or copy)", mode)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("go proxy: accept: %w", err)
		}
		go relayPair(c.(*net.TCPConn), upstream, mode)
	}
}

func relayPair(client *net.TCPConn, upstream string, mode GoProxyMode) {
	defer client.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	up := u.(*net.TCPConn)
	defer up.Close()
	var wg sync.WaitGroup
	wg.Go(func() { relayOneWay(up, client, mode) })
	relayOneWay(client, up, mode)
	wg.Wait()
}

// relayOneWay copies src to dst until EOF, then half-closes dst. On an
// error both connections are closed so that the other direction ends too.
func relayOneWay(dst, src *net.TCPConn, mode GoProxyMode) {
	var err error
	if mode == Copy {
		_, err = io.Copy(dst, src)
	} else {
		buf := make([]byte, proxyBuffer)
		for {
			n, rerr := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					err = werr
					break
				}
			}
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					err = rerr
				}
				break
			}
		}
	}
	if err != nil {
		dst.Close()
		src.Close()
		return
	}
	dst.CloseWrite()
}
