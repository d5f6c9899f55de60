// Package hook describes the places a sockc handler attaches to: their
// program and attach types, ELF section names, the statements they allow and
// the context fields they can read, with offsets and byte order.
package hook

import (
	"slices"
	"strings"

	"github.com/cilium/ebpf"
)

// Kind is a handler's hook.
type Kind int

// The hooks. The sockops hooks share one program per file.
const (
	Invalid Kind = iota
	Msg
	StreamParser
	StreamVerdict
	SkbVerdict
	Established
	Connect
	Accept
)

// kinds lists the valid hooks in a stable order.
var kinds = []Kind{Msg, StreamParser, StreamVerdict, SkbVerdict, Established, Connect, Accept}

// Kinds returns the valid hooks in a stable order, in a new slice the
// caller may change.
func Kinds() []Kind { return slices.Clone(kinds) }

var names = map[Kind]string{
	Msg:           "msg",
	StreamParser:  "stream parser",
	StreamVerdict: "stream verdict",
	SkbVerdict:    "skb verdict",
	Established:   "established",
	Connect:       "connect",
	Accept:        "accept",
}

// String returns the hook as written after `on`.
func (k Kind) String() string {
	if s, ok := names[k]; ok {
		return s
	}
	return "invalid hook"
}

// Parse looks up the hook written as words (e.g. "stream", "verdict").
func Parse(words []string) Kind {
	s := strings.Join(words, " ")
	for k, n := range names {
		if n == s {
			return k
		}
	}
	return Invalid
}

// Sockops reports whether k runs in the cgroup sockops program.
func (k Kind) Sockops() bool { return k == Established || k == Connect || k == Accept }

// NeedsMap reports whether the hook attaches to a sockmap or sockhash
// (`on HOOK to MAP`).
func (k Kind) NeedsMap() bool { return k >= Msg && k <= SkbVerdict }

// ProgramType is the BPF program type of the hook.
func (k Kind) ProgramType() ebpf.ProgramType {
	switch k {
	case Msg:
		return ebpf.SkMsg
	case StreamParser, StreamVerdict, SkbVerdict:
		return ebpf.SkSKB
	case Established, Connect, Accept:
		return ebpf.SockOps
	}
	return ebpf.UnspecifiedProgram
}

// AttachType is the attach type of the hook's program.
func (k Kind) AttachType() ebpf.AttachType {
	switch k {
	case Msg:
		return ebpf.AttachSkMsgVerdict
	case StreamParser:
		return ebpf.AttachSkSKBStreamParser
	case StreamVerdict:
		return ebpf.AttachSkSKBStreamVerdict
	case SkbVerdict:
		return ebpf.AttachSkSKBVerdict
	case Established, Connect, Accept:
		return ebpf.AttachCGroupSockOps
	}
	return ebpf.AttachNone
}

// Section is the ELF section name libbpf expects for the hook's program.
func (k Kind) Section() string {
	switch k {
	case Msg:
		return "sk_msg"
	case StreamParser:
		return "sk_skb/stream_parser"
	case StreamVerdict:
		return "sk_skb/stream_verdict"
	case SkbVerdict:
		// Not "sk_skb/verdict": libbpf before 1.4 (Debian 12's bpftool
		// 7.1) refuses a section it does not know. "sk_skb" is libbpf's
		// generic section of the program type, known to every version;
		// it carries no attach type, which the kernel does not ask for at
		// load time for sk_skb programs (the attach call names it). The
		// program name, skb_verdict_MAP, carries it: see
		// abi.ParseProgramName.
		return "sk_skb"
	case Established, Connect, Accept:
		return "sockops"
	}
	return ""
}

// Sockops op codes (enum in include/uapi/linux/bpf.h).
const (
	OpActiveEstablished  = 4
	OpPassiveEstablished = 5
)

// Ops returns the sockops op codes a sockops hook runs on.
func (k Kind) Ops() []int32 {
	switch k {
	case Established:
		return []int32{OpActiveEstablished, OpPassiveEstablished}
	case Connect:
		return []int32{OpActiveEstablished}
	case Accept:
		return []int32{OpPassiveEstablished}
	}
	return nil
}

// Verdict reports whether the hook's program returns SK_PASS or SK_DROP.
func (k Kind) Verdict() bool { return k == Msg || k == StreamVerdict || k == SkbVerdict }

// Stmt names a statement kind for the Allows table.
type Stmt int

// Statement kinds whose availability depends on the hook. if and count are
// allowed everywhere.
const (
	StmtRedirect Stmt = iota
	StmtRedirectPeer
	StmtPass
	StmtDrop
	StmtApply
	StmtCork
	StmtLength
	StmtUpdate
)

// Allows reports whether statement s may appear in a handler of hook k.
func (k Kind) Allows(s Stmt) bool {
	switch s {
	case StmtRedirect, StmtPass, StmtDrop:
		return k.Verdict()
	case StmtRedirectPeer:
		// bpf_get_socket_cookie exists for sk_skb, not for sk_msg.
		return k == StreamVerdict || k == SkbVerdict
	case StmtApply, StmtCork:
		return k == Msg
	case StmtLength:
		return k == StreamParser
	case StmtUpdate:
		return k.Sockops()
	}
	return false
}

// HooksAllowing lists, for a message, the hooks where s is allowed.
func HooksAllowing(s Stmt) string {
	var out []string
	for _, k := range []Kind{Msg, StreamParser, StreamVerdict, SkbVerdict} {
		if k.Allows(s) {
			out = append(out, "on "+k.String())
		}
	}
	if Established.Allows(s) {
		out = append(out, "on established/connect/accept")
	}
	return strings.Join(out, ", ")
}
