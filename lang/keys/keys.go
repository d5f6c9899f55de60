// Package keys defines the byte layout of sockmap and sockhash keys, the one
// definition shared by the compiler (keys built on the BPF stack) and the
// runtime (keys built in Go for map updates), so both always agree.
//
// One component widens to the map's scalar key type (u32 or u64, host byte
// order). Several components, or a declared tuple, form a packed struct:
// port and u32 take 4 bytes in host order, ip4 4 bytes in network order,
// ip6 16 bytes in network order, ip 16 bytes in network order with an IPv4
// address in its IPv4-mapped form.
package keys

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// Component is the type of one part of a key.
type Component int

// Key components.
const (
	U32  Component = iota // 4 bytes, host order
	U64                   // 8 bytes, host order (scalar keys only)
	Port                  // 4 bytes, host order, 0..65535
	IP4                   // 4 bytes, network order
	IP6                   // 16 bytes, network order
	// IP is 16 bytes in network order: an IPv6 address, or an IPv4
	// address in its IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 2.5.5.2),
	// which is how the kernel shows a dual-stack AF_INET6 socket's IPv4
	// peer; so AF_INET and AF_INET6 sockets of one IPv4 connection get
	// the same key.
	IP
)

// componentInfo is everything the layout rules know about one component.
type componentInfo struct {
	name    string // as written in a declaration
	size    int    // bytes in a key
	inTuple bool   // may be written in a tuple (u64 is a scalar key only)
}

// components holds every component's facts, indexed by Component; String,
// Size and ParseComponent read it. How a Go value fills a component is
// encodeOne's.
var components = [...]componentInfo{
	U32:  {name: "u32", size: 4, inTuple: true},
	U64:  {name: "u64", size: 8},
	Port: {name: "port", size: 4, inTuple: true},
	IP4:  {name: "ip4", size: 4, inTuple: true},
	IP6:  {name: "ip6", size: 16, inTuple: true},
	IP:   {name: "ip", size: 16, inTuple: true},
}

func (c Component) valid() bool { return c >= 0 && int(c) < len(components) }

func (c Component) String() string {
	if !c.valid() {
		return ""
	}
	return components[c].name
}

// Size is the component's size in bytes.
func (c Component) Size() int {
	if !c.valid() {
		return 4
	}
	return components[c].size
}

// ParseComponent looks up a component type name as written in a tuple.
func ParseComponent(s string) (Component, bool) {
	for c, e := range components {
		if e.name == s && e.inTuple {
			return Component(c), true
		}
	}
	return 0, false
}

// MaxComponents bounds the length of a tuple key.
const MaxComponents = 8

// Layout is a map's key type.
type Layout struct {
	// Tuple is false for the scalar keys u32 and u64 (Components has one
	// element), true for a packed struct of Components.
	Tuple      bool
	Components []Component
}

// ScalarU32 returns the scalar key layout u32. Each call returns a new
// Layout, so no caller can change another's.
func ScalarU32() Layout { return Layout{Components: []Component{U32}} }

// ScalarU64 returns the scalar key layout u64, a new Layout each call.
func ScalarU64() Layout { return Layout{Components: []Component{U64}} }

// NewTuple returns the tuple layout of the given components.
func NewTuple(cs ...Component) Layout {
	return Layout{Tuple: true, Components: append([]Component(nil), cs...)}
}

// Size is the key size in bytes.
func (l Layout) Size() int {
	n := 0
	for _, c := range l.Components {
		n += c.Size()
	}
	return n
}

// Offset is the byte offset of component i.
func (l Layout) Offset(i int) int {
	n := 0
	for _, c := range l.Components[:i] {
		n += c.Size()
	}
	return n
}

// Equal reports whether two layouts are the same.
func (l Layout) Equal(m Layout) bool {
	if l.Tuple != m.Tuple || len(l.Components) != len(m.Components) {
		return false
	}
	for i := range l.Components {
		if l.Components[i] != m.Components[i] {
			return false
		}
	}
	return true
}

// String writes the layout as declared: u32, u64 or (ip4, port).
func (l Layout) String() string {
	if !l.Tuple && len(l.Components) == 1 {
		return l.Components[0].String()
	}
	parts := make([]string, len(l.Components))
	for i, c := range l.Components {
		parts[i] = c.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Encode builds a key from Go values, one per component: an integer type
// for u32, u64 and port; a netip.Addr (or [4]byte/[16]byte) for ip4 and ip6.
// For scalar layouts a netip.Addr of IPv4 is stored as its 4 network-order
// bytes, zero-extended to the key size, as the compiler stores ip4 fields.
func (l Layout) Encode(values ...any) ([]byte, error) {
	if len(values) != len(l.Components) {
		want := fmt.Sprintf("%d values", len(l.Components))
		if len(l.Components) == 1 {
			want = "1 value"
		}
		return nil, fmt.Errorf("key %s needs %s, got %d", l, want, len(values))
	}
	buf := make([]byte, l.Size())
	for i, c := range l.Components {
		if err := encodeOne(buf[l.Offset(i):l.Offset(i)+c.Size()], c, !l.Tuple, values[i]); err != nil {
			return nil, fmt.Errorf("key %s component %d: %w", l, i+1, err)
		}
	}
	return buf, nil
}

// encodeOne encodes one component. An address fills an ip4 or ip6
// component, or a scalar key (where the compiler stores an ip4 field's
// network-order bytes); in a tuple's port or u32 component it is an error,
// as in the language.
func encodeOne(dst []byte, c Component, scalar bool, v any) error {
	if isAddr(v) && !scalar && c != IP4 && c != IP6 && c != IP {
		return fmt.Errorf("%s needs an integer, got the address %v", c, v)
	}
	if c == IP4 || c == IP6 || c == IP || isAddr(v) {
		b, err := addrBytes(v)
		if err != nil {
			return err
		}
		if c == IP && len(b) == 4 {
			b = mapped(b)
		}
		switch {
		case c == IP6 && len(b) != 16:
			return fmt.Errorf("ip6 needs an IPv6 address, got %v", v)
		case c == IP4 && len(b) != 4:
			return fmt.Errorf("ip4 needs an IPv4 address, got %v", v)
		case c != IP6 && c != IP && len(b) != 4:
			return fmt.Errorf("%s cannot hold an IPv6 address", c)
		}
		copy(dst, b)
		return nil
	}
	n, err := toUint(v)
	if err != nil {
		return err
	}
	switch c {
	case Port:
		if n > 0xffff {
			return fmt.Errorf("port %d out of range 0..65535", n)
		}
		binary.NativeEndian.PutUint32(dst, uint32(n))
	case U32:
		if n > 0xffffffff {
			return fmt.Errorf("%d does not fit in u32", n)
		}
		binary.NativeEndian.PutUint32(dst, uint32(n))
	case U64:
		binary.NativeEndian.PutUint64(dst, n)
	}
	return nil
}

// mapped returns the IPv4-mapped IPv6 form of a 4-byte IPv4 address.
func mapped(ip4 []byte) []byte {
	m := netip.AddrFrom4([4]byte(ip4)).As16()
	return m[:]
}

func isAddr(v any) bool {
	switch v.(type) {
	case netip.Addr, [4]byte, [16]byte:
		return true
	}
	return false
}

func addrBytes(v any) ([]byte, error) {
	switch a := v.(type) {
	case netip.Addr:
		if !a.IsValid() {
			return nil, fmt.Errorf("invalid address")
		}
		if a.Is4() {
			b := a.As4()
			return b[:], nil
		}
		b := a.As16()
		return b[:], nil
	case [4]byte:
		return a[:], nil
	case [16]byte:
		return a[:], nil
	}
	return nil, fmt.Errorf("want an address, got %T", v)
}

func toUint(v any) (uint64, error) {
	switch n := v.(type) {
	case int8:
		if n < 0 {
			return 0, fmt.Errorf("negative value %d", n)
		}
		return uint64(n), nil
	case int16:
		if n < 0 {
			return 0, fmt.Errorf("negative value %d", n)
		}
		return uint64(n), nil
	case uintptr:
		return uint64(n), nil
	case uint8:
		return uint64(n), nil
	case uint16:
		return uint64(n), nil
	case uint32:
		return uint64(n), nil
	case uint64:
		return n, nil
	case uint:
		return uint64(n), nil
	case int:
		if n < 0 {
			return 0, fmt.Errorf("negative value %d", n)
		}
		return uint64(n), nil
	case int32:
		if n < 0 {
			return 0, fmt.Errorf("negative value %d", n)
		}
		return uint64(n), nil
	case int64:
		if n < 0 {
			return 0, fmt.Errorf("negative value %d", n)
		}
		return uint64(n), nil
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}
