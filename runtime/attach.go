package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/runtime/features"
)

// checkPlan refuses, before anything is created, attachments the kernel
// cannot make, in one sentence that names the release that can.
func checkPlan(plan []Attachment, fs *features.Set) error {
	for _, a := range plan {
		if a.Type != ebpf.AttachSkSKBVerdict {
			continue
		}
		if err := fs.Require(features.SkbVerdictAttach, "on skb verdict", "use on stream verdict"); err != nil {
			return fmt.Errorf("program %s: %w", a.Program, err)
		}
	}
	return nil
}

// attachToMap attaches an sk_msg or sk_skb program of the plan to its map;
// Close detaches it.
func (rt *Runtime) attachToMap(a Attachment) error {
	att, err := attachProgram(rt.coll.Maps[a.Map], rt.coll.Programs[a.Program], a.Type, rt.features.Has(features.SockmapLinks))
	if err != nil {
		return fmt.Errorf("attach %s (%s) to map %s: %w", a.Program, hookOf(a.Type), a.Map, err)
	}
	return rt.push(func() error {
		if err := att.Close(); err != nil {
			return fmt.Errorf("detach %s from %s: %w", a.Program, a.Map, err)
		}
		return nil
	})
}

// attachProgram attaches an sk_msg or sk_skb program to a sockmap or
// sockhash: with a BPF link where the kernel has them for sockmaps (Linux
// 6.10) and links is set, else with BPF_PROG_ATTACH. A link the kernel
// turns down after all is the same fallback. Closing the result detaches
// it, once.
func attachProgram(m *ebpf.Map, prog *ebpf.Program, typ ebpf.AttachType, links bool) (io.Closer, error) {
	if links {
		l, err := link.AttachRawLink(link.RawLinkOptions{Target: m.FD(), Program: prog, Attach: typ})
		if err == nil {
			return l, nil
		}
		if !linkUnsupported(err) {
			return nil, explainAttach(err)
		}
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{Target: m.FD(), Program: prog, Attach: typ}); err != nil {
		return nil, explainAttach(err)
	}
	var once sync.Once
	var derr error
	return detacher(func() error {
		once.Do(func() {
			derr = link.RawDetachProgram(link.RawDetachProgramOptions{Target: m.FD(), Program: prog, Attach: typ})
		})
		return derr
	}), nil
}

// detacher undoes a BPF_PROG_ATTACH; see attachProgram.
type detacher func() error

func (d detacher) Close() error { return d() }

// linkUnsupported reports whether a link create failed because the kernel
// cannot link this kind of attachment (before 6.10 for sockmaps).
func linkUnsupported(err error) bool {
	return errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, os.ErrInvalid) ||
		errors.Is(err, unix.EINVAL)
}

// AttachCgroup attaches the sockops program to the cgroup2 directory at
// path; Close detaches it. The root cgroup is refused: that would be every
// socket of the machine.
func (rt *Runtime) AttachCgroup(path string) error {
	var name string
	for _, a := range rt.plan {
		if a.Type == ebpf.AttachCGroupSockOps {
			name = a.Program
		}
	}
	if name == "" {
		return fmt.Errorf("no sockops program to attach")
	}
	if err := checkCgroup2(path); err != nil {
		return err
	}
	if root, err := Cgroup2Mount(); err == nil && sameFile(root, path) {
		return fmt.Errorf("cgroup %s is the root cgroup: it holds every process of the machine; make a child cgroup, or run a command (sockc run FILE -- COMMAND)", path)
	}
	l, err := link.AttachCgroup(link.CgroupOptions{Path: path, Attach: ebpf.AttachCGroupSockOps, Program: rt.coll.Programs[name]})
	if err != nil {
		return fmt.Errorf("attach %s to cgroup %s: %w", name, path, explainAttach(err))
	}
	return rt.push(func() error {
		if err := l.Close(); err != nil {
			return fmt.Errorf("detach %s from cgroup %s: %w", name, path, err)
		}
		return nil
	})
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
