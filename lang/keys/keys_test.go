package keys

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
)

func TestComponents(t *testing.T) {
	tests := []struct {
		c      Component
		name   string
		size   int
		parsed bool // ParseComponent accepts the name
	}{
		{U32, "u32", 4, true},
		{U64, "u64", 8, false}, // scalar keys only
		{Port, "port", 4, true},
		{IP4, "ip4", 4, true},
		{IP6, "ip6", 16, true},
		{IP, "ip", 16, true},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.name {
			t.Errorf("String() = %q, want %q", got, tt.name)
		}
		if got := tt.c.Size(); got != tt.size {
			t.Errorf("%s.Size() = %d, want %d", tt.name, got, tt.size)
		}
		c, ok := ParseComponent(tt.name)
		if ok != tt.parsed || (ok && c != tt.c) {
			t.Errorf("ParseComponent(%q) = %v, %v; want %v, %v", tt.name, c, ok, tt.c, tt.parsed)
		}
	}
	for _, bad := range []string{"", "U32", "IP", "ipv4", "u16", "port "} {
		if _, ok := ParseComponent(bad); ok {
			t.Errorf("ParseComponent(%q) accepted", bad)
		}
	}
}

func TestLayouts(t *testing.T) {
	tests := []struct {
		name    string
		l       Layout
		str     string
		size    int
		offsets []int
	}{
		{"u32", ScalarU32(), "u32", 4, []int{0}},
		{"u64", ScalarU64(), "u64", 8, []int{0}},
		{"one ip4", NewTuple(IP4), "(ip4)", 4, []int{0}},
		{"one ip6", NewTuple(IP6), "(ip6)", 16, []int{0}},
		{"ip4 port", NewTuple(IP4, Port), "(ip4, port)", 8, []int{0, 4}},
		{"4-tuple", NewTuple(IP4, Port, IP4, Port), "(ip4, port, ip4, port)", 16, []int{0, 4, 8, 12}},
		{"ip6 4-tuple", NewTuple(IP6, Port, IP6, Port), "(ip6, port, ip6, port)", 40, []int{0, 16, 20, 36}},
		{"mixed", NewTuple(U32, IP6, IP4, Port), "(u32, ip6, ip4, port)", 28, []int{0, 4, 20, 24}},
		{"ip 4-tuple", NewTuple(IP, Port, IP, Port), "(ip, port, ip, port)", 40, []int{0, 16, 20, 36}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := tt.l.Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
			for i, want := range tt.offsets {
				if got := tt.l.Offset(i); got != want {
					t.Errorf("Offset(%d) = %d, want %d", i, got, want)
				}
			}
			if got := tt.l.Offset(len(tt.l.Components)); got != tt.size {
				t.Errorf("Offset(len) = %d, want the size %d", got, tt.size)
			}
		})
	}
}

func TestLayoutEqual(t *testing.T) {
	tests := []struct {
		a, b Layout
		want bool
	}{
		{ScalarU32(), ScalarU32(), true},
		{ScalarU32(), Layout{Components: []Component{U32}}, true},
		{ScalarU32(), ScalarU64(), false},
		{ScalarU32(), NewTuple(U32), false}, // scalar u32 and tuple (u32) differ
		{NewTuple(IP4, Port), NewTuple(IP4, Port), true},
		{NewTuple(IP4, Port), NewTuple(Port, IP4), false},
		{NewTuple(IP4, Port), NewTuple(IP4, Port, IP4), false},
		{NewTuple(), NewTuple(), true},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%v.Equal(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Equal(tt.a); got != tt.want {
			t.Errorf("%v.Equal(%v) = %v, want %v (symmetry)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestNewTupleCopies(t *testing.T) {
	cs := []Component{IP4, Port}
	l := NewTuple(cs...)
	cs[0] = IP6
	if l.Components[0] != IP4 {
		t.Error("NewTuple keeps the caller's slice")
	}
}

func TestScalarsAreFresh(t *testing.T) {
	ScalarU32().Components[0] = IP6
	ScalarU64().Components[0] = IP6
	if ScalarU32().String() != "u32" || ScalarU64().String() != "u64" {
		t.Errorf("a caller changed the scalar layouts: %v, %v", ScalarU32(), ScalarU64())
	}
}

// ne32 and ne64 are host-order bytes, as the kernel reads map keys.
func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func ne64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestEncode(t *testing.T) {
	ip4 := netip.MustParseAddr("10.1.2.3")
	ip4b := netip.MustParseAddr("192.168.0.9")
	ip6 := netip.MustParseAddr("2001:db8::1")
	ip6Bytes := ip6.As16()
	tests := []struct {
		name   string
		l      Layout
		values []any
		want   []byte
	}{
		{
			name:   "4-tuple with netip addresses",
			l:      NewTuple(IP4, Port, IP4, Port),
			values: []any{ip4, 8080, ip4b, uint16(443)},
			want:   cat([]byte{10, 1, 2, 3}, ne32(8080), []byte{192, 168, 0, 9}, ne32(443)),
		},
		{
			name:   "ip4 as [4]byte",
			l:      NewTuple(IP4, Port),
			values: []any{[4]byte{127, 0, 0, 1}, 0},
			want:   cat([]byte{127, 0, 0, 1}, ne32(0)),
		},
		{
			name:   "u32 from int",
			l:      ScalarU32(),
			values: []any{7},
			want:   ne32(7),
		},
		{
			name:   "u32 max",
			l:      ScalarU32(),
			values: []any{uint32(0xffffffff)},
			want:   []byte{0xff, 0xff, 0xff, 0xff},
		},
		{
			name:   "u32 from int64",
			l:      ScalarU32(),
			values: []any{int64(0x01020304)},
			want:   ne32(0x01020304),
		},
		{
			name:   "u64 from int",
			l:      ScalarU64(),
			values: []any{0x0102030405060708},
			want:   ne64(0x0102030405060708),
		},
		{
			name:   "u64 max",
			l:      ScalarU64(),
			values: []any{uint64(1<<64 - 1)},
			want:   bytes.Repeat([]byte{0xff}, 8),
		},
		{
			name:   "u64 from uint8",
			l:      ScalarU64(),
			values: []any{uint8(200)},
			want:   ne64(200),
		},
		{
			name:   "ip4 in a u32 scalar is in network order",
			l:      ScalarU32(),
			values: []any{ip4},
			want:   []byte{10, 1, 2, 3},
		},
		{
			name:   "ip4 in a u64 scalar is zero-extended",
			l:      ScalarU64(),
			values: []any{ip4},
			want:   []byte{10, 1, 2, 3, 0, 0, 0, 0},
		},
		{
			name:   "ip6 component",
			l:      NewTuple(IP6),
			values: []any{ip6},
			want:   ip6Bytes[:],
		},
		{
			name:   "ip6 as [16]byte with a port",
			l:      NewTuple(IP6, Port),
			values: []any{ip6Bytes, uint(22)},
			want:   cat(ip6Bytes[:], ne32(22)),
		},
		{
			name:   "ip component holds IPv4 in IPv4-mapped form",
			l:      NewTuple(IP, Port),
			values: []any{ip4, 80},
			want:   cat([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3}, ne32(80)),
		},
		{
			name:   "ip component: a mapped address and [4]byte give the same key",
			l:      NewTuple(IP),
			values: []any{netip.MustParseAddr("::ffff:10.1.2.3")},
			want:   []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3},
		},
		{
			name:   "ip component from [4]byte",
			l:      NewTuple(IP),
			values: []any{[4]byte{10, 1, 2, 3}},
			want:   []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3},
		},
		{
			name:   "ip component holds IPv6 as it is",
			l:      NewTuple(IP),
			values: []any{ip6},
			want:   ip6Bytes[:],
		},
		{
			name:   "port bounds",
			l:      NewTuple(Port, Port),
			values: []any{0, 65535},
			want:   cat(ne32(0), ne32(65535)),
		},
		{
			name:   "u32 component in a tuple",
			l:      NewTuple(U32, IP4),
			values: []any{int32(5), ip4},
			want:   cat(ne32(5), []byte{10, 1, 2, 3}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.l.Encode(tt.values...)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Encode = % x, want % x", got, tt.want)
			}
			if len(got) != tt.l.Size() {
				t.Errorf("len = %d, want Size() %d", len(got), tt.l.Size())
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	ip4 := netip.MustParseAddr("10.0.0.1")
	ip6 := netip.MustParseAddr("2001:db8::1")
	mapped := netip.MustParseAddr("::ffff:10.0.0.1")
	tests := []struct {
		name   string
		l      Layout
		values []any
		err    string
	}{
		{"too few values", NewTuple(IP4, Port), []any{ip4}, "key (ip4, port) needs 2 values, got 1"},
		{"too many values", ScalarU32(), []any{1, 2}, "key u32 needs 1 value, got 2"},
		{"no values", ScalarU64(), nil, "key u64 needs 1 value, got 0"},
		{"port over 65535", NewTuple(IP4, Port), []any{ip4, 65536}, "key (ip4, port) component 2: port 65536 out of range 0..65535"},
		{"u32 over 32 bits", ScalarU32(), []any{uint64(1 << 32)}, "key u32 component 1: 4294967296 does not fit in u32"},
		{"negative int", ScalarU32(), []any{-1}, "key u32 component 1: negative value -1"},
		{"negative int32", NewTuple(Port), []any{int32(-5)}, "key (port) component 1: negative value -5"},
		{"negative int64", ScalarU64(), []any{int64(-9)}, "key u64 component 1: negative value -9"},
		{"ip6 into ip4 slot", NewTuple(IP4, Port), []any{ip6, 1}, "key (ip4, port) component 1: ip4 needs an IPv4 address, got 2001:db8::1"},
		{"v4-mapped ip6 into ip4 slot", NewTuple(IP4), []any{mapped}, "key (ip4) component 1: ip4 needs an IPv4 address, got ::ffff:10.0.0.1"},
		{"ip4 into ip6 slot", NewTuple(IP6), []any{ip4}, "key (ip6) component 1: ip6 needs an IPv6 address, got 10.0.0.1"},
		{"[4]byte into ip6 slot", NewTuple(IP6), []any{[4]byte{1, 2, 3, 4}}, "key (ip6) component 1: ip6 needs an IPv6 address, got [1 2 3 4]"},
		{"int for ip", NewTuple(IP), []any{1}, "key (ip) component 1: want an address, got int"},
		{"address into a port after ip", NewTuple(IP, Port), []any{ip4, ip4}, "key (ip, port) component 2: port needs an integer, got the address 10.0.0.1"},
		{"ip6 into a u32 scalar", ScalarU32(), []any{ip6}, "key u32 component 1: u32 cannot hold an IPv6 address"},
		{"ip6 into a u64 scalar", ScalarU64(), []any{ip6}, "key u64 component 1: u64 cannot hold an IPv6 address"},
		{"invalid address", NewTuple(IP4), []any{netip.Addr{}}, "key (ip4) component 1: invalid address"},
		{"string for ip4", NewTuple(IP4), []any{"10.0.0.1"}, "key (ip4) component 1: want an address, got string"},
		{"int for ip4", NewTuple(IP4, Port), []any{1, 2}, "key (ip4, port) component 1: want an address, got int"},
		{"string for u32", ScalarU32(), []any{"7"}, "key u32 component 1: want an integer, got string"},
		{"float for port", NewTuple(Port), []any{80.0}, "key (port) component 1: want an integer, got float64"},
		{"nil", ScalarU32(), []any{nil}, "key u32 component 1: want an integer, got <nil>"},
		{"bool", ScalarU64(), []any{true}, "key u64 component 1: want an integer, got bool"},
		{"byte slice", NewTuple(IP4), []any{[]byte{1, 2, 3, 4}}, "key (ip4) component 1: want an address, got []uint8"},
		{"second component", NewTuple(Port, Port), []any{1, -1}, "key (port, port) component 2: negative value -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.l.Encode(tt.values...)
			if err == nil {
				t.Fatalf("Encode = % x, want error %q", got, tt.err)
			}
			if got != nil {
				t.Errorf("Encode returned % x with the error", got)
			}
			if err.Error() != tt.err {
				t.Errorf("error = %q, want %q", err, tt.err)
			}
		})
	}
}

// TestEncodeAddressIntoNumber checks that an address is refused where the
// checker refuses one: in a port or in a u32 component of a tuple.
func TestEncodeAddressIntoNumber(t *testing.T) {
	ip4 := netip.MustParseAddr("10.0.0.1")
	for _, l := range []Layout{NewTuple(IP4, Port), NewTuple(IP4, U32)} {
		if got, err := l.Encode(ip4, ip4); err == nil {
			t.Errorf("%v.Encode(ip4, ip4) = % x, want an error", l, got)
		}
	}
}

// TestEncodeSmallSignedInts checks every Go integer type, as the doc
// comment promises ("an integer type for u32, u64 and port").
func TestEncodeSmallSignedInts(t *testing.T) {
	for _, v := range []any{int8(80), int16(80), uintptr(80)} {
		got, err := NewTuple(Port).Encode(v)
		if err != nil || !bytes.Equal(got, ne32(80)) {
			t.Errorf("Encode(%T(80)) = % x, %v", v, got, err)
		}
	}
}

func TestEncodeErrorNamesLayout(t *testing.T) {
	_, err := NewTuple(IP4, Port, IP4, Port).Encode(netip.MustParseAddr("1.2.3.4"), 1, netip.MustParseAddr("1.2.3.4"), 70000)
	if err == nil || !strings.HasPrefix(err.Error(), "key (ip4, port, ip4, port) component 4:") {
		t.Errorf("err = %v", err)
	}
}

// TestComponentTable holds the component table to itself: every component
// up to IP has an entry with a unique name and a size of 4, 8 or 16.
func TestComponentTable(t *testing.T) {
	if len(components) != int(IP)+1 {
		t.Fatalf("components has %d entries, want %d", len(components), IP+1)
	}
	seen := map[string]bool{}
	for c, e := range components {
		if e.name == "" || seen[e.name] {
			t.Errorf("component %d: name %q empty or repeated", c, e.name)
		}
		seen[e.name] = true
		if e.size != 4 && e.size != 8 && e.size != 16 {
			t.Errorf("%s: size %d", e.name, e.size)
		}
	}
	if got := Component(len(components)).String(); got != "" {
		t.Errorf("String of an unknown component = %q, want empty", got)
	}
}
