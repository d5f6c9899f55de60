package runtime

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// attachToMap attaches an sk_msg or sk_skb program to its map: with a BPF
// link where the kernel has them for sockmaps (Linux 6.10), else with
// BPF_PROG_ATTACH. Either way Close detaches it.
func (rt *Runtime) attachToMap(a Attachment) error {
	prog := rt.coll.Programs[a.Program]
	m := rt.coll.Maps[a.Map]
	l, err := link.AttachRawLink(link.RawLinkOptions{Target: m.FD(), Program: prog, Attach: a.Type})
	if err == nil {
		return rt.push(func() error {
			if err := l.Close(); err != nil {
				return fmt.Errorf("detach %s from %s: %w", a.Program, a.Map, err)
			}
			return nil
		})
	}
	if !linkUnsupported(err) {
		return fmt.Errorf("attach %s (%s) to map %s: %w", a.Program, hookOf(a.Type), a.Map, explainAttach(err))
	}
	opts := link.RawAttachProgramOptions{Target: m.FD(), Program: prog, Attach: a.Type}
	if err := link.RawAttachProgram(opts); err != nil {
		return fmt.Errorf("attach %s (%s) to map %s: %w", a.Program, hookOf(a.Type), a.Map, explainAttach(err))
	}
	return rt.push(func() error {
		err := link.RawDetachProgram(link.RawDetachProgramOptions{Target: m.FD(), Program: prog, Attach: a.Type})
		if err != nil {
			return fmt.Errorf("detach %s from %s: %w", a.Program, a.Map, err)
		}
		return nil
	})
}

// linkUnsupported reports whether a link create failed because the kernel
// cannot link this kind of attachment (before 6.10 for sockmaps).
func linkUnsupported(err error) bool {
	return errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, os.ErrInvalid) ||
		errors.Is(err, errEINVAL)
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
