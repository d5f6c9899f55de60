package features

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	cfeatures "github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// ProbeOptions configure Probe.
type ProbeOptions struct {
	// Cgroup2 is where cgroup2 is mounted ("" if it is not): cgroup.kill
	// is looked for below it.
	Cgroup2 string
	// Only, if not empty, limits the probes to these features; the others
	// are left to the kernel's version.
	Only []ID
}

// Probe asks the running kernel about every feature of All. Probes that
// need BPF create a throwaway map and program, attach and detach them;
// nothing stays. A probe that cannot decide (no CAP_BPF, say) leaves the
// feature to the kernel's version and says why in the Result's Note.
//
// Probe lifts RLIMIT_MEMLOCK where the kernel charges BPF memory to it
// (before 5.11), as every sockc entry point does: that is how it tells.
func Probe(opts ProbeOptions) (*Set, error) {
	k, err := Running()
	if err != nil {
		return nil, err
	}
	s := &Set{Kernel: k, results: map[ID]Result{}}
	want := func(id ID) bool { return len(opts.Only) == 0 || slices.Contains(opts.Only, id) }
	// First: before 5.11 the other probes' maps count against the limit.
	probes := []struct {
		id    ID
		probe func() Result
	}{
		{MemcgAccounting, probeMemcg},
		{SockmapLinks, func() Result { return probed(probeSockmapLink()) }},
		{SkbVerdictAttach, func() Result { return probed(probeSkbVerdict()) }},
		{CgroupKill, func() Result { return probeCgroupKill(opts.Cgroup2) }},
		{VerdictWithoutParser, func() Result { return Result{Note: "no probe: it takes a connection to see"} }},
		{CookieSkSKB, func() Result { return probed(helperProbe(ebpf.SkSKB, asm.FnGetSocketCookie)) }},
		{CookieSockOps, func() Result { return probed(helperProbe(ebpf.SockOps, asm.FnGetSocketCookie)) }},
		{CookieSkMsg, func() Result { return probed(helperProbe(ebpf.SkMsg, asm.FnGetSocketCookie)) }},
	}
	for _, p := range probes {
		if want(p.id) {
			s.results[p.id] = p.probe()
		}
	}
	return s, nil
}

// probed turns a probe's answer into a Result: (true, nil) present,
// (false, nil) absent, an error unknown.
func probed(have bool, err error) Result {
	switch {
	case err != nil:
		return Result{Note: "probe failed: " + err.Error()}
	case have:
		return Result{Status: Present, Probed: true}
	}
	return Result{Status: Absent, Probed: true}
}

// refused reports whether err is the kernel refusing for want of
// privilege, which says nothing about the feature.
func refused(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

var passInsns = asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()}

// probeTarget makes a one-slot sockmap and a program that passes
// everything, for the attach probes.
func probeTarget(pt ebpf.ProgramType) (*ebpf.Map, *ebpf.Program, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.SockMap, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("create a sockmap: %w", err)
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: pt, License: "GPL", Instructions: passInsns})
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("load a %s program: %w", pt, err)
	}
	return m, p, nil
}

func probeSockmapLink() (bool, error) {
	m, p, err := probeTarget(ebpf.SkMsg)
	if err != nil {
		return false, err
	}
	defer m.Close()
	defer p.Close()
	l, err := link.AttachRawLink(link.RawLinkOptions{Target: m.FD(), Program: p, Attach: ebpf.AttachSkMsgVerdict})
	switch {
	case err == nil:
		return true, l.Close()
	case refused(err):
		return false, err
	case errors.Is(err, unix.EINVAL) || errors.Is(err, ebpf.ErrNotSupported):
		return false, nil
	}
	return false, err
}

func probeSkbVerdict() (bool, error) {
	m, p, err := probeTarget(ebpf.SkSKB)
	if err != nil {
		return false, err
	}
	defer m.Close()
	defer p.Close()
	opts := link.RawAttachProgramOptions{Target: m.FD(), Program: p, Attach: ebpf.AttachSkSKBVerdict}
	err = link.RawAttachProgram(opts)
	switch {
	case err == nil:
		return true, link.RawDetachProgram(link.RawDetachProgramOptions(opts))
	case refused(err):
		return false, err
	case errors.Is(err, unix.EINVAL):
		// The attach type is unknown to the kernel.
		return false, nil
	}
	return false, err
}

func helperProbe(pt ebpf.ProgramType, fn asm.BuiltinFunc) (bool, error) {
	err := cfeatures.HaveProgramHelper(pt, fn)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ebpf.ErrNotSupported):
		return false, nil
	}
	return false, err
}

// probeMemcg tells whether BPF memory is charged to the memory cgroup
// (5.11) or to RLIMIT_MEMLOCK by what cilium/ebpf's RemoveMemlock does:
// it finds out once, at init, by creating a map with the limit at zero,
// and raises the limit only where the kernel charges it.
func probeMemcg() Result {
	if !bpfCapable() {
		// cilium/ebpf's own probe was refused too, and took the refusal
		// for the limit.
		return Result{Note: "no CAP_BPF to probe with"}
	}
	var before, after unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &before); err != nil {
		return Result{Note: fmt.Sprintf("read RLIMIT_MEMLOCK: %v", err)}
	}
	lerr := rlimit.RemoveMemlock()
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &after); err != nil {
		return Result{Note: fmt.Sprintf("read RLIMIT_MEMLOCK: %v", err)}
	}
	switch {
	case lerr != nil && refused(lerr):
		return Result{Status: Absent, Probed: true,
			Note: fmt.Sprintf("RLIMIT_MEMLOCK is %s and raising it takes CAP_SYS_RESOURCE", limitString(before.Cur))}
	case lerr != nil:
		return Result{Note: lerr.Error()}
	case before.Cur != after.Cur:
		return Result{Status: Absent, Probed: true,
			Note: fmt.Sprintf("RLIMIT_MEMLOCK lifted from %s to unlimited", limitString(before.Cur))}
	case before.Cur == unix.RLIM_INFINITY:
		return Result{Note: "RLIMIT_MEMLOCK is unlimited, so no probe can tell, nor does it matter"}
	}
	return Result{Status: Present, Probed: true}
}

func limitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	if v%1024 == 0 {
		return fmt.Sprintf("%d KiB", v/1024)
	}
	return fmt.Sprintf("%d bytes", v)
}

// probeCgroupKill looks for cgroup.kill in this process's cgroup, or, in
// the root cgroup (which has none), in any child of it.
func probeCgroupKill(mount string) Result {
	if mount == "" {
		return Result{Note: "no cgroup2 is mounted"}
	}
	dir := ""
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok && p != "/" {
				dir = filepath.Join(mount, p)
			}
		}
	}
	if dir == "" {
		entries, err := os.ReadDir(mount)
		if err != nil {
			return Result{Note: err.Error()}
		}
		for _, e := range entries {
			if e.IsDir() {
				dir = filepath.Join(mount, e.Name())
				break
			}
		}
	}
	if dir == "" {
		// Only the root cgroup, which has no cgroup.kill either way: a
		// child made and removed at once tells.
		tmp, err := os.MkdirTemp(mount, "sockc.probe-")
		if err != nil {
			return Result{Note: "no cgroup but the root one, and none can be made: " + err.Error()}
		}
		defer unix.Rmdir(tmp)
		dir = tmp
	}
	_, err := os.Stat(filepath.Join(dir, "cgroup.kill"))
	switch {
	case err == nil:
		return Result{Status: Present, Probed: true}
	case errors.Is(err, os.ErrNotExist):
		return Result{Status: Absent, Probed: true}
	}
	return Result{Note: err.Error()}
}
