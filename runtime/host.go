package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/runtime/features"
)

// CheckHost refuses big-endian hosts: sockc emits little-endian BPF.
func CheckHost() error {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	if b[0] != 1 {
		return errors.New("sockc supports little-endian machines only")
	}
	return nil
}

// explainLoad turns the common failures of loading maps and programs
// into one clear sentence, keeping the cause. fs, if not nil, says
// whether the kernel charges BPF memory to RLIMIT_MEMLOCK.
func explainLoad(err error, fs *features.Set) error {
	switch {
	case errors.Is(err, unix.EPERM) && fs != nil && !fs.Has(features.MemcgAccounting) && !lacksCapabilities():
		return explainMemlock(err, fs.Kernel)
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) && !isVerifierError(err):
		return explainPrivileges("loading BPF maps and programs", err)
	case errors.Is(err, ebpf.ErrNotSupported):
		return fmt.Errorf("this kernel lacks a feature the programs need (sockmap and sockhash need CONFIG_BPF_SYSCALL and CONFIG_NET_SOCK_MSG; parsers need CONFIG_BPF_STREAM_PARSER): %w", err)
	}
	return fmt.Errorf("load: %w", err)
}

func isVerifierError(err error) bool {
	var ve *ebpf.VerifierError
	return errors.As(err, &ve)
}

func explainAttach(err error) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return explainPrivileges("attaching", err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("another program of that kind is attached already (a map takes one program per attach type, and not both stream verdict and skb verdict): %w", err)
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, ebpf.ErrNotSupported):
		return fmt.Errorf("this kernel cannot attach it (stream parsers need CONFIG_BPF_STREAM_PARSER): %w", err)
	}
	return err
}

// explainMemlock words an EPERM from a kernel that charges BPF memory to
// RLIMIT_MEMLOCK (before 5.11), when the capabilities are there: the
// limit was too low and could not be lifted.
func explainMemlock(err error, k features.Kernel) error {
	var lim unix.Rlimit
	limit := "a limited amount"
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil && lim.Cur != unix.RLIM_INFINITY {
		limit = fmt.Sprintf("%d KiB", lim.Cur/1024)
	}
	return &privilegeError{
		msg: fmt.Sprintf("loading BPF maps and programs was refused: Linux %s charges them to RLIMIT_MEMLOCK "+
			"(the memory cgroup takes over in 5.11), this process may lock %s, and raising the limit takes "+
			"CAP_SYS_RESOURCE: raise it before starting sockc (ulimit -l unlimited; LimitMEMLOCK=infinity "+
			"in a systemd unit) or grant CAP_SYS_RESOURCE", k.Version.Short(), limit),
		err: err,
	}
}

// lacksCapabilities reports whether this thread lacks CAP_BPF or
// CAP_NET_ADMIN (and CAP_SYS_ADMIN).
func lacksCapabilities() bool {
	lacks, err := LackingCapabilities()
	return err == nil && len(lacks) > 0
}

// explainPrivileges words a refusal (EPERM, EACCES) of what: which
// capabilities it takes and which of them this process lacks, so that a
// root shell whose capabilities were dropped (a container, systemd's
// CapabilityBoundingSet) is told more than "needs root".
func explainPrivileges(what string, err error) error {
	// Unreadable capabilities count as none missing: the kernel's
	// answer is then all there is to say.
	lacks, _ := LackingCapabilities()
	if len(lacks) == 0 {
		return fmt.Errorf("%s was refused although this process has CAP_BPF and CAP_NET_ADMIN (kernel lockdown, a security module or seccomp may forbid BPF): %w", what, err)
	}
	return &privilegeError{
		msg: fmt.Sprintf("%s needs root, or CAP_BPF with CAP_NET_ADMIN, and this process lacks %s", what, strings.Join(lacks, " and ")),
		err: err,
	}
}

// memlockHint is what cilium/ebpf appends to every EPERM from map or
// program creation. It misleads once a missing capability is the known
// cause (and sockc lifts the limit itself), so privilegeError leaves it out.
const memlockHint = " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)"

// privilegeError is a refusal for want of capabilities: msg says what is
// missing, err is the kernel's answer, kept for errors.Is.
type privilegeError struct {
	msg string
	err error
}

func (e *privilegeError) Error() string {
	return e.msg + ": " + strings.Replace(e.err.Error(), memlockHint, "", 1)
}

func (e *privilegeError) Unwrap() error { return e.err }

// LackingCapabilities names the capabilities this thread's effective set
// lacks for loading and attaching sockc's programs: CAP_BPF for any BPF
// object, CAP_NET_ADMIN for sockmaps, sk_msg, sk_skb and sockops.
// CAP_SYS_ADMIN stands in for CAP_BPF, and, from Linux 6.5 on, for
// CAP_NET_ADMIN too: before, creating a sockmap or sockhash takes
// CAP_NET_ADMIN itself (sock_map_alloc's own check, which 6.5 replaced
// with map_create's bpf_net_capable). Empty when nothing is missing; an
// error when the set cannot be read.
func LackingCapabilities() ([]string, error) {
	caps, err := features.Capabilities()
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, c := range caps {
		has[c.Name] = c.Effective
	}
	if has["CAP_SYS_ADMIN"] {
		has["CAP_BPF"] = true
		if k, err := features.Running(); err != nil || !k.Version.Before(features.SysAdminForNetAdmin()) {
			has["CAP_NET_ADMIN"] = true
		}
	}
	var lacks []string
	for _, c := range []string{"CAP_BPF", "CAP_NET_ADMIN"} {
		if !has[c] {
			lacks = append(lacks, c)
		}
	}
	return lacks, nil
}

// BPFFSRoot is where bpffs is mounted by convention, and where
// EnsureBPFFS mounts one.
const BPFFSRoot = "/sys/fs/bpf"

// BPFFSMounted reports whether dir is on a bpffs.
func BPFFSMounted(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}

// EnsureBPFFS makes sure dir is on a bpffs, mounting one at BPFFSRoot
// if dir is below it and nothing is mounted there. The mount stays.
func EnsureBPFFS(dir string) error {
	const root = BPFFSRoot
	probe := dir
	for {
		if _, err := os.Stat(probe); err == nil {
			break
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	if BPFFSMounted(probe) {
		return nil
	}
	abs, _ := filepath.Abs(dir)
	if abs != root && !strings.HasPrefix(abs, root+"/") {
		return fmt.Errorf("pin directory %s is not on a bpffs (mount one, or use a directory under %s)", dir, root)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", root, err)
	}
	if err := unix.Mount("bpf", root, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs on %s: %w", root, err)
	}
	return nil
}
