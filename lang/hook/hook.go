// Package hook describes the places a sockc handler attaches to: their
// program and attach types, ELF section names, the statements they allow and
// the context fields they can read, with offsets and byte order.
//
// Each hook is one entry of table (a hook's facts) and each field one entry
// of fields (fields.go): adding a hook or a field touches one table.
package hook

import (
	"strings"

	"github.com/cilium/ebpf"
)

// Kind is a handler's hook: an index into table.
type Kind int

// The hooks, in table order. The sockops hooks share one program per file.
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

// info is everything sockc knows about one hook.
type info struct {
	name    string           // as written after `on`
	prog    ebpf.ProgramType // BPF program type
	attach  ebpf.AttachType  // attach type of the program
	section string           // ELF section name libbpf expects
	ctx     Context          // the program's context struct
	sockops bool             // runs in the one cgroup sockops program per file
	toMap   bool             // attaches to a sockmap or sockhash (`on HOOK to MAP`)
	verdict bool             // the program returns SK_PASS or SK_DROP
	ops     []int32          // sockops op codes the hook runs on
	allows  []Stmt           // statements allowed besides if and count
	kernel  KernelVersion    // release needed, when newer than MinSupportedKernel
	feature string           // the kernel feature that came with kernel
}

// table holds every hook's facts, indexed by Kind; table[Invalid] is empty
// but for its context, __sk_buff, the one of no particular program. Kinds,
// String, Parse and every method of Kind read it.
var table = [...]info{
	Invalid: {ctx: SkBuff},
	Msg: {
		name: "msg", prog: ebpf.SkMsg, attach: ebpf.AttachSkMsgVerdict,
		section: "sk_msg", ctx: SkMsgMD, toMap: true, verdict: true,
		allows: []Stmt{StmtRedirect, StmtPass, StmtDrop, StmtApply, StmtCork},
	},
	StreamParser: {
		name: "stream parser", prog: ebpf.SkSKB, attach: ebpf.AttachSkSKBStreamParser,
		section: "sk_skb/stream_parser", ctx: SkBuff, toMap: true,
		allows: []Stmt{StmtLength},
	},
	StreamVerdict: {
		name: "stream verdict", prog: ebpf.SkSKB, attach: ebpf.AttachSkSKBStreamVerdict,
		section: "sk_skb/stream_verdict", ctx: SkBuff, toMap: true, verdict: true,
		// redirect peer: bpf_get_socket_cookie exists for sk_skb, not
		// for sk_msg.
		allows: []Stmt{StmtRedirect, StmtRedirectPeer, StmtPass, StmtDrop},
	},
	SkbVerdict: {
		name: "skb verdict", prog: ebpf.SkSKB, attach: ebpf.AttachSkSKBVerdict,
		// Not "sk_skb/verdict": libbpf before 1.4 (Debian 12's bpftool
		// 7.1) refuses a section it does not know. "sk_skb" is libbpf's
		// generic section of the program type, known to every version;
		// it carries no attach type, which the kernel does not ask for at
		// load time for sk_skb programs (the attach call names it). The
		// program name, skb_verdict_MAP, carries it: see
		// abi.ParseProgramName.
		section: "sk_skb", ctx: SkBuff, toMap: true, verdict: true,
		allows: []Stmt{StmtRedirect, StmtRedirectPeer, StmtPass, StmtDrop},
		kernel: KernelVersion{5, 13}, feature: "BPF_SK_SKB_VERDICT",
	},
	Established: {
		name: "established", prog: ebpf.SockOps, attach: ebpf.AttachCGroupSockOps,
		section: "sockops", ctx: SockOps, sockops: true,
		ops:    []int32{OpActiveEstablished, OpPassiveEstablished},
		allows: []Stmt{StmtUpdate},
	},
	Connect: {
		name: "connect", prog: ebpf.SockOps, attach: ebpf.AttachCGroupSockOps,
		section: "sockops", ctx: SockOps, sockops: true,
		ops:    []int32{OpActiveEstablished},
		allows: []Stmt{StmtUpdate},
	},
	Accept: {
		name: "accept", prog: ebpf.SockOps, attach: ebpf.AttachCGroupSockOps,
		section: "sockops", ctx: SockOps, sockops: true,
		ops:    []int32{OpPassiveEstablished},
		allows: []Stmt{StmtUpdate},
	},
}

// get returns k's entry, table[Invalid] for Invalid and out-of-range kinds.
func (k Kind) get() *info {
	if k <= Invalid || int(k) >= len(table) {
		return &table[Invalid]
	}
	return &table[k]
}

// Kinds returns the valid hooks in a stable order (table order), in a new
// slice the caller may change.
func Kinds() []Kind {
	out := make([]Kind, 0, len(table)-1)
	for k := Invalid + 1; int(k) < len(table); k++ {
		out = append(out, k)
	}
	return out
}

// String returns the hook as written after `on`.
func (k Kind) String() string {
	if n := k.get().name; n != "" {
		return n
	}
	return "invalid hook"
}

// Parse looks up the hook written as words (e.g. "stream", "verdict").
func Parse(words []string) Kind {
	s := strings.Join(words, " ")
	for _, k := range Kinds() {
		if table[k].name == s {
			return k
		}
	}
	return Invalid
}

// Sockops reports whether k runs in the cgroup sockops program.
func (k Kind) Sockops() bool { return k.get().sockops }

// NeedsMap reports whether the hook attaches to a sockmap or sockhash
// (`on HOOK to MAP`).
func (k Kind) NeedsMap() bool { return k.get().toMap }

// ProgramType is the BPF program type of the hook.
func (k Kind) ProgramType() ebpf.ProgramType { return k.get().prog }

// AttachType is the attach type of the hook's program.
func (k Kind) AttachType() ebpf.AttachType { return k.get().attach }

// Section is the ELF section name libbpf expects for the hook's program.
func (k Kind) Section() string { return k.get().section }

// Sockops op codes (enum in include/uapi/linux/bpf.h).
const (
	OpActiveEstablished  = 4
	OpPassiveEstablished = 5
)

// Ops returns the sockops op codes a sockops hook runs on.
func (k Kind) Ops() []int32 { return k.get().ops }

// Verdict reports whether the hook's program returns SK_PASS or SK_DROP.
func (k Kind) Verdict() bool { return k.get().verdict }

// Context returns the context struct of the hook's program.
func (k Kind) Context() Context { return k.get().ctx }

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
	for _, a := range k.get().allows {
		if a == s {
			return true
		}
	}
	return false
}

// HooksAllowing lists, for a message, the hooks where s is allowed. The
// sockops hooks, when all allow s, are named together
// ("on established/connect/accept").
func HooksAllowing(s Stmt) string {
	var out, sockops []string
	allSockops := true
	for _, k := range Kinds() {
		switch {
		case !k.Sockops():
			if k.Allows(s) {
				out = append(out, "on "+k.String())
			}
		case k.Allows(s):
			sockops = append(sockops, k.String())
		default:
			allSockops = false
		}
	}
	if len(sockops) > 0 {
		if allSockops {
			out = append(out, "on "+strings.Join(sockops, "/"))
		} else {
			for _, n := range sockops {
				out = append(out, "on "+n)
			}
		}
	}
	return strings.Join(out, ", ")
}
