package hook

import "slices"

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
func FieldNames() []string { return slices.Clone(fieldNames) }

// fieldNames lists the language's fields in documentation order.
var fieldNames = []string{"local_port", "remote_port", "local_ip", "remote_ip", "local_ip4", "remote_ip4", "local_ip6", "remote_ip6", "family", "size"}

// offsets per context, from include/uapi/linux/bpf.h; -1: not available.
var offsets = map[string][3]int16{
	//              sk_msg_md  __sk_buff  bpf_sock_ops
	"family":      {16, 88, 20},
	"remote_ip4":  {20, 92, 24},
	"local_ip4":   {24, 96, 28},
	"remote_ip6":  {28, 100, 32},
	"local_ip6":   {44, 116, 48},
	"remote_port": {60, 132, 64},
	"local_port":  {64, 136, 68},
	"size":        {68, 0, -1}, // sk_msg_md.size, __sk_buff.len
}

// ipFields are the family-agnostic address fields, each read from the ip4
// or ip6 field of its end (local or remote) by the socket's family.
var ipFields = map[string]string{"local_ip": "local", "remote_ip": "remote"}

// OpOffset is the offset of bpf_sock_ops.op.
const OpOffset = 0

// SkbLenOffset is the offset of __sk_buff.len.
const SkbLenOffset = 0

// Lookup returns the field called name in the hook's context. known reports
// whether the name is a field at all; ok whether this hook has it.
func (k Kind) Lookup(name string) (f Field, known, ok bool) {
	if end, isIP := ipFields[name]; isIP {
		v6, _, ok := k.Lookup(end + "_ip6")
		v4, _, _ := k.Lookup(end + "_ip4")
		fam, _, _ := k.Lookup("family")
		if !ok {
			return Field{}, true, false
		}
		return Field{Name: name, Type: IP, Encoding: NetworkOrder, Offset: v6.Offset, Words: 4,
			V4Offset: v4.Offset, FamilyOffset: fam.Offset}, true, true
	}
	offs, known := offsets[name]
	if !known {
		return Field{}, false, false
	}
	off := offs[k.Context()]
	if off < 0 {
		return Field{}, true, false
	}
	f = Field{Name: name, Offset: off, Words: 1}
	switch name {
	case "local_port":
		f.Type = Port
	case "remote_port":
		f.Type, f.Encoding = Port, PortShifted
	case "local_ip4", "remote_ip4":
		f.Type, f.Encoding = IP4, NetworkOrder
	case "local_ip6", "remote_ip6":
		f.Type, f.Encoding, f.Words = IP6, NetworkOrder, 4
	case "family":
		f.Type = Family
	case "size":
		f.Type = Size
	}
	return f, true, true
}

// Address family values for the family field.
const (
	AFInet  = 2  // AF_INET
	AFInet6 = 10 // AF_INET6
)
