package runtime

import (
	"fmt"
	"sort"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/hook"
)

// Attachment says where one program goes: to a sockmap or sockhash (with
// an attach type), or to a cgroup (sockops).
type Attachment struct {
	Program string
	Map     string // empty for sockops
	Type    ebpf.AttachType
}

// Plan works out where each program of spec attaches, from the spec
// alone: Load plans so for an object that comes without the compiler's
// manifest (LoadSource has one, and attaches as it says). A program named
// by sockc's convention (abi.ProgramName: hook prefix + map name, e.g.
// msg_socks) attaches to that map; otherwise, when the object has exactly
// one sockmap or sockhash, to that one. The attach type comes from the
// program's section (libbpf's names), or from the name prefix. Sockops
// programs attach to a cgroup. explicit, if not nil, gives program -> map
// for programs that follow neither rule.
func Plan(spec *ebpf.CollectionSpec, explicit map[string]string) ([]Attachment, error) {
	var sockMaps []string
	for name, m := range spec.Maps {
		// A companion of `redirect peer` has no programs.
		if _, companion := abi.PeerOf(name); (m.Type == ebpf.SockMap || m.Type == ebpf.SockHash) && !companion {
			sockMaps = append(sockMaps, name)
		}
	}
	sort.Strings(sockMaps)
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Attachment
	sockops := ""
	for _, name := range names {
		p := spec.Programs[name]
		if p.Type == ebpf.SockOps {
			if sockops != "" {
				return nil, fmt.Errorf("two sockops programs, %s and %s: sockc attaches one per cgroup", sockops, name)
			}
			sockops = name
			out = append(out, Attachment{Program: name, Type: ebpf.AttachCGroupSockOps})
			continue
		}
		if p.Type != ebpf.SkMsg && p.Type != ebpf.SkSKB {
			return nil, fmt.Errorf("program %s: type %s is not a socket-redirect program (sk_msg, sk_skb, sockops)", name, p.Type)
		}
		a := Attachment{Program: name, Type: p.AttachType}
		// sockc's names: the hook's prefix, then the map.
		if k, mapName, ok := abi.ParseProgramName(name); ok && k.ProgramType() == p.Type {
			if a.Type == ebpf.AttachNone {
				a.Type = k.AttachType()
			}
			if _, ok := spec.Maps[mapName]; ok {
				a.Map = mapName
			}
		}
		if m, ok := explicit[name]; ok {
			a.Map = m
		}
		if a.Map == "" && len(sockMaps) == 1 {
			a.Map = sockMaps[0]
		}
		if a.Map == "" {
			return nil, fmt.Errorf("program %s: cannot tell which map it attaches to; name it HOOK_MAP (e.g. msg_%s) or give the map explicitly", name, firstOr(sockMaps, "socks"))
		}
		if a.Type == ebpf.AttachNone {
			if p.Type == ebpf.SkMsg {
				a.Type = ebpf.AttachSkMsgVerdict
			} else {
				return nil, fmt.Errorf("program %s: an sk_skb program needs its attach type: use section sk_skb/stream_parser, sk_skb/stream_verdict or sk_skb/verdict", name)
			}
		}
		if err := checkSockMap(spec, name, a.Map); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// checkSockMap says why program prog cannot attach to map m of spec: no
// such map, or one that holds no sockets.
func checkSockMap(spec *ebpf.CollectionSpec, prog, m string) error {
	ms, ok := spec.Maps[m]
	if !ok {
		return fmt.Errorf("program %s: no map %s in the object", prog, m)
	}
	if ms.Type != ebpf.SockMap && ms.Type != ebpf.SockHash {
		return fmt.Errorf("program %s: map %s is a %s, not a sockmap or sockhash", prog, m, ms.Type)
	}
	return nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// hookOf names the hook of an attach type for messages.
func hookOf(t ebpf.AttachType) string {
	for _, k := range hook.Kinds() {
		if k.AttachType() == t && !k.Sockops() {
			return "on " + k.String()
		}
	}
	return t.String()
}
