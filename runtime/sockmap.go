package runtime

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/lang/keys"
)

// Map is a sockmap or sockhash: one of a Runtime (see Runtime.Map), or one
// of its own (see NewMap).
type Map struct {
	name   string
	m      *ebpf.Map
	layout keys.Layout
	owned  bool // made by NewMap, closed by Close
	closed bool
	peers  *ebpf.Map // the companion map of `redirect peer`, if any
	// flow and flowCtl are the flow control maps of the program's
	// metered `redirect peer` (abi.FlowMap, abi.FlowCtlMap), if any.
	flow, flowCtl *ebpf.Map
}

// rawLayout is the layout of a map whose key type is unknown (a map from a
// foreign object): a scalar for 4 and 8 bytes, else raw bytes only.
func rawLayout(m *ebpf.Map) keys.Layout {
	switch m.KeySize() {
	case 4:
		return keys.ScalarU32()
	case 8:
		return keys.ScalarU64()
	}
	return keys.Layout{}
}

// Metered reports whether the program meters the `redirect peer` of
// this map (language reference §7.11), which Proxy.FlowControl needs.
func (m *Map) Metered() bool { return m.flow != nil && m.flowCtl != nil }

// Name returns the map's name.
func (m *Map) Name() string { return m.name }

// Key returns the map's key layout.
func (m *Map) Key() keys.Layout { return m.layout }

// EBPF returns the underlying cilium/ebpf map.
func (m *Map) EBPF() *ebpf.Map { return m.m }

// Encode builds a key from Go values with the layout the compiler uses
// (see package keys).
func (m *Map) Encode(values ...any) ([]byte, error) {
	if len(m.layout.Components) == 0 {
		return nil, fmt.Errorf("map %s: key layout unknown (%d-byte key); use PutKey with raw bytes", m.name, m.m.KeySize())
	}
	return m.layout.Encode(values...)
}

// Put stores the socket of conn (a *net.TCPConn, *net.UnixConn, or any
// syscall.Conn) under the key built from values.
func (m *Map) Put(conn syscall.Conn, values ...any) error {
	key, err := m.Encode(values...)
	if err != nil {
		return fmt.Errorf("map %s: %w", m.name, err)
	}
	return m.PutKey(conn, key)
}

// PutKey stores the socket of conn under a raw key.
func (m *Map) PutKey(conn syscall.Conn, key []byte) error {
	return withFD(conn, func(fd int) error { return m.PutFD(fd, key) })
}

// PutFD stores the socket with file descriptor fd under a raw key.
func (m *Map) PutFD(fd int, key []byte) error {
	if err := m.m.Update(key, uint64(fd), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("put socket in map %s: %w", m.name, explainPut(err))
	}
	kick(fd)
	return nil
}

// kick makes the kernel look at data that reached a TCP socket before it
// joined the map: the verdict program only runs when data arrives, so
// bytes already queued would wait for the next segment (forever, if the
// client sent its request and waits for the answer). Setting SO_RCVLOWAT
// calls the socket's data-ready hook, now the map's, when data is queued
// (tcp_set_rcvlowat); the value 1 is the default, so nothing else changes.
func kick(fd int) {
	if proto, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL); err != nil || proto != unix.IPPROTO_TCP {
		return
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT, 1)
}

// explainPut says why the kernel refused a socket.
func explainPut(err error) error {
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("the kernel refuses this socket: a TCP socket must be established or listening, others must be UDP or unix sockets: %w", err)
	case errors.Is(err, unix.EBADF):
		return fmt.Errorf("not an open socket: %w", err)
	case errors.Is(err, unix.E2BIG):
		return fmt.Errorf("the map is full: %w", err)
	}
	return err
}

// Delete removes the entry with the key built from values. A socket that
// closed is gone from the map already; deleting it is not an error.
func (m *Map) Delete(values ...any) error {
	key, err := m.Encode(values...)
	if err != nil {
		return fmt.Errorf("map %s: %w", m.name, err)
	}
	return m.DeleteKey(key)
}

// DeleteKey removes the entry with a raw key; a missing entry is not an
// error.
func (m *Map) DeleteKey(key []byte) error {
	if err := deleteEntry(m.m, key); err != nil {
		return fmt.Errorf("delete from map %s: %w", m.name, err)
	}
	return nil
}

// Pair makes a and b each other's peer for `redirect peer`; pairing a
// socket with itself makes an echo. On error no entry remains.
//
// With a companion map (see abi.PeerMapName), the companion gets b under
// a's cookie and a under b's first, and only then the map gets a and b
// under their own cookies, which starts their programs: a byte that
// arrives on either socket always finds its peer. Without one (a foreign
// object), the map itself holds b under a's cookie and a under b's.
func (m *Map) Pair(a, b syscall.Conn) error {
	if m.m.Type() != ebpf.SockHash || m.m.KeySize() != 8 {
		return fmt.Errorf("map %s: redirect peer needs a sockhash keyed by u64 cookies", m.name)
	}
	ca, err := Cookie(a)
	if err != nil {
		return err
	}
	cb, err := Cookie(b)
	if err != nil {
		return err
	}
	type entry struct {
		m    *ebpf.Map
		key  uint64
		sock syscall.Conn
	}
	var entries []entry
	if m.peers != nil {
		entries = append(entries, entry{m.peers, ca, b}, entry{m.peers, cb, a}, entry{m.m, ca, a}, entry{m.m, cb, b})
	} else {
		entries = append(entries, entry{m.m, ca, b}, entry{m.m, cb, a})
	}
	done := map[[2]uint64]bool{}
	var added []entry
	for _, e := range entries {
		id := [2]uint64{uint64(e.m.FD()), e.key}
		if done[id] {
			continue // a socket paired with itself: one entry per map
		}
		done[id] = true
		err := withFD(e.sock, func(fd int) error {
			if err := e.m.Update(keyU64(e.key), uint64(fd), ebpf.UpdateAny); err != nil {
				return fmt.Errorf("pair sockets in map %s: %w", m.name, explainPut(err))
			}
			return nil
		})
		if err != nil {
			for _, u := range added {
				u.m.Delete(keyU64(u.key))
			}
			return err
		}
		added = append(added, e)
	}
	for _, c := range []syscall.Conn{a, b} {
		withFD(c, func(fd int) error { kick(fd); return nil })
	}
	return nil
}

func keyU64(v uint64) []byte {
	k, _ := keys.ScalarU64().Encode(v)
	return k
}

// Len counts the sockets in the map. In a sockmap (an array, where every
// index is a key) it counts the occupied slots.
func (m *Map) Len() (int, error) {
	if m.m.Type() == ebpf.SockMap {
		n := 0
		var cookie uint64
		for i := uint32(0); i < m.m.MaxEntries(); i++ {
			err := m.m.Lookup(i, &cookie)
			switch {
			case err == nil:
				n++
			case errors.Is(err, ebpf.ErrKeyNotExist):
			default:
				return n, fmt.Errorf("count sockets in map %s: %w", m.name, err)
			}
		}
		return n, nil
	}
	keys, err := hashKeys(m.m)
	if err != nil {
		return len(keys), fmt.Errorf("count sockets in map %s: %w", m.name, err)
	}
	return len(keys), nil
}

// Cookie returns the socket cookie of conn: the kernel's unique, never
// reused id of the socket (SO_COOKIE).
func Cookie(conn syscall.Conn) (uint64, error) {
	var c uint64
	err := withFD(conn, func(fd int) error {
		v, err := unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE)
		c = v
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("socket cookie: %w", err)
	}
	return c, nil
}

// withFD runs f with the file descriptor of conn.
func withFD(conn syscall.Conn, f func(fd int) error) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// Attach attaches an sk_msg or sk_skb program to the map with the given
// attach type, with a BPF link where the kernel has them for sockmaps
// (Linux 6.10) and BPF_PROG_ATTACH before. Closing the result detaches it.
func (m *Map) Attach(prog *ebpf.Program, typ ebpf.AttachType) (io.Closer, error) {
	// No feature set here: try a link, fall back if the kernel has none.
	att, err := attachProgram(m.m, prog, typ, true)
	if err != nil {
		return nil, fmt.Errorf("attach to map %s: %w", m.name, err)
	}
	return att, nil
}

// PutRaw stores the socket behind a syscall.RawConn (from a net.Conn,
// an os.File, or a socket of another library) under the key built from
// values.
func (m *Map) PutRaw(rc syscall.RawConn, values ...any) error {
	key, err := m.Encode(values...)
	if err != nil {
		return fmt.Errorf("map %s: %w", m.name, err)
	}
	var perr error
	if err := rc.Control(func(fd uintptr) { perr = m.PutFD(int(fd), key) }); err != nil {
		return err
	}
	return perr
}
