package hook

// FieldType is what a context field holds, as the language sees it.
type FieldType int

// Field types.
const (
	Port   FieldType = iota // a port number, 0..65535
	IP4                     // an IPv4 address
	IP6                     // an IPv6 address
	Family                  // an address family: inet or inet6
	Size                    // a byte count
	// IP is an address of either family: the socket's IPv6 address, or
	// its IPv4 address in IPv4-mapped IPv6 form (::ffff:a.b.c.d), so that
	// one key serves AF_INET sockets, dual-stack AF_INET6 sockets talking
	// IPv4, and native IPv6 alike.
	IP
)

func (t FieldType) String() string {
	switch t {
	case Port:
		return "port"
	case IP4:
		return "ip4"
	case IP6:
		return "ip6"
	case Family:
		return "family"
	case IP:
		return "ip"
	}
	return "u32"
}

// Encoding is how the kernel stores a field's 32-bit words.
type Encoding int

// Field encodings.
const (
	// HostOrder words are numbers as they are (local_port, family, size).
	HostOrder Encoding = iota
	// NetworkOrder words hold address bytes in wire order (ip4, ip6).
	NetworkOrder
	// PortShifted is remote_port: the network-order port in the upper 16
	// bits of a 32-bit load on little-endian, so the number is ntohl(word).
	PortShifted
)

// Field is a readable context field.
type Field struct {
	Name     string
	Type     FieldType
	Encoding Encoding
	Offset   int16 // byte offset of the field in the context struct (for ip: of the ip6 field)
	Words    int   // 32-bit words: 4 for ip6 and ip, else 1
	// V4Offset and FamilyOffset are, for an ip field, the offsets of the
	// same end's ip4 field and of family: an AF_INET socket's address is
	// read from the ip4 field, an AF_INET6 socket's from the ip6 one.
	V4Offset, FamilyOffset int16
}

// Context is a program's context struct.
type Context int

// The context structs.
const (
	SkMsgMD Context = iota // struct sk_msg_md
	SkBuff                 // struct __sk_buff
	SockOps                // struct bpf_sock_ops
)

func (c Context) String() string {
	switch c {
	case SkMsgMD:
		return "sk_msg_md"
	case SockOps:
		return "bpf_sock_ops"
	}
	return "__sk_buff"
}

// FieldNames returns the language's fields in documentation order, in a
// new slice the caller may change.
func FieldNames() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// fieldInfo is everything sockc knows about one context field.
type fieldInfo struct {
	name  string
	typ   FieldType
	enc   Encoding
	words int
	// offs is the byte offset per context struct (indexed by Context),
	// from include/uapi/linux/bpf.h; -1: not available.
	offs [3]int16
	// v4, v6 name, for an ip field, the same end's ip4 and ip6 fields:
	// it is read from one or the other by the socket's family, and
	// available where v6 is.
	v4, v6 string
}

// fields lists the language's fields in documentation order. Lookup and
// FieldNames read it; adding a field is adding one entry.
var fields = []fieldInfo{
	//                                                            sk_msg_md  __sk_buff  bpf_sock_ops
	{name: "local_port", typ: Port, enc: HostOrder, words: 1, offs: [3]int16{64, 136, 68}},
	{name: "remote_port", typ: Port, enc: PortShifted, words: 1, offs: [3]int16{60, 132, 64}},
	{name: "local_ip", typ: IP, enc: NetworkOrder, words: 4, v4: "local_ip4", v6: "local_ip6"},
	{name: "remote_ip", typ: IP, enc: NetworkOrder, words: 4, v4: "remote_ip4", v6: "remote_ip6"},
	{name: "local_ip4", typ: IP4, enc: NetworkOrder, words: 1, offs: [3]int16{24, 96, 28}},
	{name: "remote_ip4", typ: IP4, enc: NetworkOrder, words: 1, offs: [3]int16{20, 92, 24}},
	{name: "local_ip6", typ: IP6, enc: NetworkOrder, words: 4, offs: [3]int16{44, 116, 48}},
	{name: "remote_ip6", typ: IP6, enc: NetworkOrder, words: 4, offs: [3]int16{28, 100, 32}},
	{name: "family", typ: Family, enc: HostOrder, words: 1, offs: [3]int16{16, 88, 20}},
	// sk_msg_md.size, __sk_buff.len (SkbLenOffset); bpf_sock_ops has none.
	{name: "size", typ: Size, enc: HostOrder, words: 1, offs: [3]int16{68, SkbLenOffset, -1}},
}

// field returns the entry called name.
func field(name string) (*fieldInfo, bool) {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i], true
		}
	}
	return nil, false
}

// OpOffset is the offset of bpf_sock_ops.op.
const OpOffset = 0

// SkbLenOffset is the offset of __sk_buff.len.
const SkbLenOffset = 0

// Lookup returns the field called name in the hook's context. known reports
// whether the name is a field at all; ok whether this hook has it.
func (k Kind) Lookup(name string) (f Field, known, ok bool) {
	e, known := field(name)
	if !known {
		return Field{}, false, false
	}
	if e.typ == IP {
		v6, _, ok := k.Lookup(e.v6)
		if !ok {
			return Field{}, true, false
		}
		v4, _, _ := k.Lookup(e.v4)
		fam, _, _ := k.Lookup("family")
		return Field{Name: name, Type: IP, Encoding: e.enc, Offset: v6.Offset, Words: e.words,
			V4Offset: v4.Offset, FamilyOffset: fam.Offset}, true, true
	}
	c := k.Context()
	if c < 0 || int(c) >= len(e.offs) || e.offs[c] < 0 {
		return Field{}, true, false
	}
	return Field{Name: name, Type: e.typ, Encoding: e.enc, Offset: e.offs[c], Words: e.words}, true, true
}

// Address family values for the family field.
const (
	AFInet  = 2  // AF_INET
	AFInet6 = 10 // AF_INET6
)
