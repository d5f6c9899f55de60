package runtime

import (
	"net"

	"golang.org/x/sys/unix"
)

// What the proxy reads of a TCP socket: its send queue and its state.

// sendQueue reads the sending side of a TCP socket: every byte written to
// it (acknowledged plus still queued: tcpi_bytes_acked + SIOCOUTQ), the
// queued part alone, and its TCP state.
func sendQueue(fd int) (sent uint64, queued int, state uint8, err error) {
	info, err := unix.GetsockoptTCPInfo(fd, unix.SOL_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, 0, 0, err
	}
	queued, err = unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	if err != nil {
		return 0, 0, 0, err
	}
	return info.Bytes_acked + uint64(queued), queued, info.State, nil
}

// TCP_ESTABLISHED and TCP_CLOSE in tcpi_state.
const (
	tcpEstablished = 1
	tcpClose       = 7
)

// tcpState returns the tcpi_state of a socket; TCP_CLOSE if it cannot
// be read.
func tcpState(fd int) uint8 {
	info, err := unix.GetsockoptTCPInfo(fd, unix.SOL_TCP, unix.TCP_INFO)
	if err != nil {
		return tcpClose
	}
	return info.State
}

// connState is tcpState of a connection.
func connState(c *net.TCPConn) uint8 {
	state := uint8(tcpClose)
	withFD(c, func(fd int) error { state = tcpState(fd); return nil })
	return state
}
