package probe

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// KindsMode is the value of Env that makes a test binary run RunKinds.
const KindsMode = "kinds"

// Kind is one kind of TCP socket pair a same-host bypass meets: how the
// server listens and where the client connects.
type Kind struct {
	Name    string
	Network string // of the listener
	Listen  string
	Dial    string // host the client connects to
}

// Kinds are AF_INET on both ends; a dual-stack AF_INET6 server (Go's
// ":port", iperf3's default) with an AF_INET client, whose accepted socket
// holds IPv4-mapped addresses; native IPv6 on ::1; and the dual-stack
// server with an IPv6 client.
func Kinds() []Kind {
	return []Kind{
		{Name: "ipv4", Network: "tcp4", Listen: "127.0.0.1:0", Dial: "127.0.0.1"},
		{Name: "ipv4-mapped", Network: "tcp", Listen: ":0", Dial: "127.0.0.1"},
		{Name: "ipv6", Network: "tcp6", Listen: "[::1]:0", Dial: "::1"},
		{Name: "ipv6-dual-stack", Network: "tcp", Listen: ":0", Dial: "::1"},
	}
}

// End is one socket of a connection as the kernel names it.
type End struct {
	Family        int // SO_DOMAIN: unix.AF_INET or unix.AF_INET6
	Local, Remote netip.AddrPort
}

// KindReport is what RunKinds saw of one kind.
type KindReport struct {
	Kind           string
	Client, Server End
	Bytes          int
	// BytesAcked is the client's TCP_INFO bytes_acked after it sent
	// Bytes and read as many back: near zero when a bypass moved them.
	BytesAcked uint64
}

// RunKinds opens one connection of each kind, sends size bytes each way
// and checks them, writes one JSON line of []KindReport to w, and keeps
// the connections open until hold reaches EOF, so that the caller can
// look at the sockets in its maps.
func RunKinds(w io.Writer, hold io.Reader, size int) error {
	var reports []KindReport
	var open []io.Closer
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for _, k := range Kinds() {
		client, server, err := DialKind(k)
		if err != nil {
			return fmt.Errorf("%s: %w", k.Name, err)
		}
		open = append(open, client, server)
		r := KindReport{Kind: k.Name, Bytes: size}
		if r.Client, err = SocketEnd(client); err == nil {
			r.Server, err = SocketEnd(server)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k.Name, err)
		}
		if err := exchange(client, server, size); err != nil {
			return fmt.Errorf("%s: %w", k.Name, err)
		}
		info, err := tcpInfo(client)
		if err != nil {
			return fmt.Errorf("%s: TCP_INFO: %w", k.Name, err)
		}
		r.BytesAcked = info.Bytes_acked
		reports = append(reports, r)
	}
	if err := json.NewEncoder(w).Encode(reports); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, hold)
	return err
}

// DialKind opens a loopback connection of kind k and returns both ends.
func DialKind(k Kind) (client, server *net.TCPConn, err error) {
	ln, err := net.Listen(k.Network, k.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s %s: %w", k.Network, k.Listen, err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c, err := net.DialTimeout("tcp", net.JoinHostPort(k.Dial, port), 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c.(*net.TCPConn), s.(*net.TCPConn), nil
}

// SocketEnd reads a socket's family and addresses from the kernel (getsockname,
// getpeername), not from what Go makes of them.
func SocketEnd(c *net.TCPConn) (End, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return End{}, err
	}
	var e End
	var serr error
	raw.Control(func(fd uintptr) {
		if e.Family, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); serr != nil {
			return
		}
		var sa unix.Sockaddr
		if sa, serr = unix.Getsockname(int(fd)); serr != nil {
			return
		}
		e.Local = addrPort(sa)
		if sa, serr = unix.Getpeername(int(fd)); serr != nil {
			return
		}
		e.Remote = addrPort(sa)
	})
	return e, serr
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// exchange sends size random bytes from client to server and back, and
// checks both directions.
func exchange(client, server *net.TCPConn, size int) error {
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	for _, dir := range []struct{ from, to *net.TCPConn }{{client, server}, {server, client}} {
		errc := make(chan error, 1)
		go func() {
			_, err := dir.from.Write(data)
			errc <- err
		}()
		got := make([]byte, size)
		if _, err := io.ReadFull(dir.to, got); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := <-errc; err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("bytes differ from the bytes sent")
		}
	}
	return nil
}
