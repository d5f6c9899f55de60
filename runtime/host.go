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
)

// checkHost refuses big-endian hosts: sockc emits little-endian BPF.
func checkHost() error {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	if b[0] != 1 {
		return errors.New("sockc supports little-endian machines only")
	}
	return nil
}

// explainLoad turns the common failures of loading maps and programs
// into one clear sentence, keeping the cause.
func explainLoad(err error) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) && !isVerifierError(err):
		return fmt.Errorf("loading BPF maps and programs needs root, or CAP_BPF with CAP_NET_ADMIN: %w", err)
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
		return fmt.Errorf("attaching needs root, or CAP_BPF with CAP_NET_ADMIN: %w", err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("another program of that kind is attached already (a map takes one program per attach type, and not both stream verdict and skb verdict): %w", err)
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, ebpf.ErrNotSupported):
		return fmt.Errorf("this kernel cannot attach it (stream parsers need CONFIG_BPF_STREAM_PARSER): %w", err)
	}
	return err
}

// EnsureBPFFS makes sure dir is on a bpffs, mounting one at /sys/fs/bpf
// if dir is below it and nothing is mounted there. The mount stays.
func EnsureBPFFS(dir string) error {
	const root = "/sys/fs/bpf"
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
	var st unix.Statfs_t
	if err := unix.Statfs(probe, &st); err == nil && st.Type == unix.BPF_FS_MAGIC {
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
