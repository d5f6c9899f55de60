package bench

import (
	"fmt"
	"strings"
)

// Program is a sockc program with its hand-equivalent C, for comparing the
// two compilers on the same job.
type Program struct {
	Name string
	Sock string // sockc source
	C    string // the same program in C, for clang -O2 -target bpf
	File string // where the source came from, if it is a file
}

// generatedSizes are the rule counts of the generated program families.
var generatedSizes = []int{1, 8, 64}

// GeneratedPrograms are families of programs that grow with a number of
// rules, written out in sockc and in C by the same loop, so that the two
// compilers get exactly the same decisions to make.
func GeneratedPrograms() []Program {
	var ps []Program
	for _, n := range generatedSizes {
		ps = append(ps, msgDispatch(n), verdictDispatch(n))
	}
	return ps
}

// msgDispatch sends what a socket sends to one of n sockets, chosen by the
// remote port (network order in the context: a byte-swapped compare), and
// drops the rest.
func msgDispatch(n int) Program {
	var s, c strings.Builder
	s.WriteString("sockhash backends: key u32, max 1024\non msg to backends:\n")
	c.WriteString(cPrelude)
	c.WriteString(cMap("backends", "BPF_MAP_TYPE_SOCKHASH", 1024, 4))
	c.WriteString("SEC(\"sk_msg\")\nint msg_backends(struct sk_msg_md *msg)\n{\n" +
		"\t// Read once: clang otherwise keeps msg+60 in a register, and the\n" +
		"\t// verifier refuses a load through a modified context pointer.\n" +
		"\t__u32 port = msg->remote_port;\n\t__u32 k;\n")
	for i := range n {
		fmt.Fprintf(&s, "    if remote_port == %d: redirect key(%d) ingress\n", 8000+i, i)
		fmt.Fprintf(&c, "\tif (port == bpf_htonl(%d)) {\n\t\tk = %d;\n"+
			"\t\tif (bpf_msg_redirect_hash(msg, &backends, &k, BPF_F_INGRESS) == SK_PASS)\n\t\t\treturn SK_PASS;\n\t}\n", 8000+i, i)
	}
	s.WriteString("    drop\n")
	c.WriteString("\treturn SK_DROP;\n}\n")
	c.WriteString(cLicense)
	return Program{Name: fmt.Sprintf("msg dispatch %d", n), Sock: s.String(), C: c.String()}
}

// verdictDispatch sends each received buffer out of one of n sockets of a
// sockmap, chosen by the local port (host order), and drops the rest.
func verdictDispatch(n int) Program {
	var s, c strings.Builder
	fmt.Fprintf(&s, "sockmap backends: max %d\non stream verdict to backends:\n", n)
	c.WriteString(cPrelude)
	c.WriteString(cMap("backends", "BPF_MAP_TYPE_SOCKMAP", n, 4))
	c.WriteString("SEC(\"sk_skb/stream_verdict\")\nint stream_verdict_backends(struct __sk_buff *skb)\n{\n" +
		"\t// The empty skb of a FIN must not be redirected or passed.\n\tif (skb->len == 0)\n\t\treturn SK_DROP;\n" +
		"\t__u32 port = skb->local_port; // read once, as in msg dispatch\n")
	for i := range n {
		fmt.Fprintf(&s, "    if local_port == %d: redirect key(%d)\n", 9000+i, i)
		fmt.Fprintf(&c, "\tif (port == %d &&\n\t    bpf_sk_redirect_map(skb, &backends, %d, 0) == SK_PASS)\n\t\treturn SK_PASS;\n", 9000+i, i)
	}
	s.WriteString("    drop\n")
	c.WriteString("\treturn SK_DROP;\n}\n")
	c.WriteString(cLicense)
	return Program{Name: fmt.Sprintf("verdict dispatch %d", n), Sock: s.String(), C: c.String()}
}

const cPrelude = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

`

const cLicense = "\nchar _license[] SEC(\"license\") = \"GPL\";\n"

func cMap(name, typ string, max, keySize int) string {
	return fmt.Sprintf(`struct {
	__uint(type, %s);
	__uint(max_entries, %d);
	__uint(key_size, %d);
	__uint(value_size, 8);
} %s SEC(".maps");

`, typ, max, keySize, name)
}
