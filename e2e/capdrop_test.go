package e2e

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a launcher that drops capabilities: started
// with capsEnv set, it removes them from its own thread and execs its
// arguments in place, so the command starts without them and cannot get
// them back. TestMain runs it before anything else, like the probe;
// nothing but the kernel and golang.org/x/sys is involved.
const (
	// capsEnv lists the capability numbers to drop, comma separated, or
	// "all".
	capsEnv = "SOCKC_E2E_DROP_CAPS"
	// uidEnv, if set, is the user and group the command runs as.
	uidEnv = "SOCKC_E2E_UID"
	// memlockEnv, if set, is the RLIMIT_MEMLOCK (soft and hard, bytes)
	// the command gets: the default of a kernel before 5.11 is 64 KiB.
	memlockEnv = "SOCKC_E2E_MEMLOCK"
)

// runCapDropLauncher acts as the launcher when capsEnv is set; TestMain
// calls it first. It returns only when the variable is unset.
func runCapDropLauncher() {
	if os.Getenv(capsEnv) == "" {
		return
	}
	err := dropCapsAndExec(os.Getenv(capsEnv), os.Getenv(uidEnv), os.Getenv(memlockEnv), os.Args[1:])
	fmt.Fprintln(os.Stderr, "capdrop:", err)
	os.Exit(127)
}

// dropCapsAndExec sets RLIMIT_MEMLOCK to memlock bytes (if not empty),
// removes the capabilities in spec from the bounding, inheritable,
// ambient, permitted and effective sets, sets no_new_privs, switches to
// uid (if not empty) and execs argv. It returns only on error.
func dropCapsAndExec(spec, uid, memlock string, argv []string) error {
	// Capabilities belong to a thread, and exec keeps the caller's: drop
	// them and exec on one and the same thread.
	goruntime.LockOSThread()
	os.Unsetenv(capsEnv)
	os.Unsetenv(uidEnv)
	os.Unsetenv(memlockEnv)
	if len(argv) == 0 {
		return fmt.Errorf("no command")
	}
	if memlock != "" {
		n, err := strconv.ParseUint(memlock, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", memlockEnv, memlock, err)
		}
		// Lowering the hard limit takes no capability; raising it back
		// would take CAP_SYS_RESOURCE, which the command may not get.
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: n, Max: n}); err != nil {
			return fmt.Errorf("set RLIMIT_MEMLOCK: %w", err)
		}
	}
	drop, err := parseCaps(spec)
	if err != nil {
		return err
	}
	for _, c := range drop {
		// Out of the bounding set, no exec can give it back, not even
		// root's: exec grants root the bounding set.
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		data[i].Inheritable = 0
	}
	if uid == "" {
		// With a new uid, setuid clears these itself, after using
		// CAP_SETUID.
		for _, c := range drop {
			data[c/32].Effective &^= 1 << (c % 32)
			data[c/32].Permitted &^= 1 << (c % 32)
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if uid != "" {
		id, err := strconv.Atoi(uid)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", uidEnv, uid, err)
		}
		if err := unix.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := unix.Setresgid(id, id, id); err != nil {
			return fmt.Errorf("setresgid %d: %w", id, err)
		}
		if err := unix.Setresuid(id, id, id); err != nil {
			return fmt.Errorf("setresuid %d: %w", id, err)
		}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return unix.Exec(path, argv, os.Environ())
}

// parseCaps reads a capsEnv value; "all" is every capability the kernel
// knows (/proc/sys/kernel/cap_last_cap).
func parseCaps(spec string) ([]uint, error) {
	if spec == "all" {
		b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
		if err != nil {
			return nil, err
		}
		last, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("cap_last_cap: %w", err)
		}
		var all []uint
		for c := 0; c <= last; c++ {
			all = append(all, uint(c))
		}
		return all, nil
	}
	var caps []uint
	for _, f := range strings.Split(spec, ",") {
		c, err := strconv.ParseUint(f, 10, 8)
		if err != nil || c > 63 {
			return nil, fmt.Errorf("%s=%q: not a capability number", capsEnv, spec)
		}
		caps = append(caps, uint(c))
	}
	return caps, nil
}

// capNames are the capabilities the privilege tests talk about.
var capNames = map[uint]string{
	unix.CAP_BPF:       "CAP_BPF",
	unix.CAP_NET_ADMIN: "CAP_NET_ADMIN",
	unix.CAP_SYS_ADMIN: "CAP_SYS_ADMIN",
	unix.CAP_PERFMON:   "CAP_PERFMON",
}

// capProfile is a reduced set of privileges to run a command with.
type capProfile struct {
	name string
	uid  int    // 0 stays root
	drop []uint // removed from every set; nil: all of them
	// ambient, for a non-root uid: the only capabilities it gets, through
	// the ambient set (how a service is given CAP_BPF without root).
	ambient []uint
	// keep must still be effective in the command (so that the profile is
	// what its name says).
	keep []uint
	// memlock, if not 0, is the command's RLIMIT_MEMLOCK, soft and hard.
	memlock uint64
}

// allCapsBut lists every capability the kernel knows but keep, for a
// profile that keeps exactly those.
func allCapsBut(t *testing.T, keep ...uint) []uint {
	t.Helper()
	all, err := parseCaps("all")
	if err != nil {
		t.Fatal(err)
	}
	var out []uint
	for _, c := range all {
		if !slices.Contains(keep, c) {
			out = append(out, c)
		}
	}
	return out
}

// command builds the command line name args under p; it is stopped
// (SIGTERM, then SIGKILL) if the test runs longer than d.
func (p capProfile) command(t *testing.T, d time.Duration, name string, args ...string) *exec.Cmd {
	t.Helper()
	if p.ambient != nil {
		cmd := timed(t, d, name, args...)
		caps := make([]uintptr, len(p.ambient))
		for i, c := range p.ambient {
			caps[i] = uintptr(c)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: uint32(p.uid), Gid: uint32(p.uid)},
			AmbientCaps: caps,
		}
		return cmd
	}
	cmd := timed(t, d, os.Args[0], append([]string{name}, args...)...)
	spec := "all"
	if p.drop != nil {
		s := make([]string, len(p.drop))
		for i, c := range p.drop {
			s[i] = strconv.Itoa(int(c))
		}
		spec = strings.Join(s, ",")
	}
	cmd.Env = append(os.Environ(), capsEnv+"="+spec)
	if p.uid != 0 {
		cmd.Env = append(cmd.Env, uidEnv+"="+strconv.Itoa(p.uid))
	}
	if p.memlock != 0 {
		cmd.Env = append(cmd.Env, memlockEnv+"="+strconv.FormatUint(p.memlock, 10))
	}
	return cmd
}

// procCaps is the credentials part of /proc/PID/status.
type procCaps struct {
	uid                     int
	inh, prm, eff, bnd, amb uint64
}

func readProcCaps(path string) (procCaps, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return procCaps{}, err
	}
	return parseProcCaps(string(b))
}

func parseProcCaps(status string) (procCaps, error) {
	var pc procCaps
	fields := map[string]*uint64{"CapInh": &pc.inh, "CapPrm": &pc.prm, "CapEff": &pc.eff, "CapBnd": &pc.bnd, "CapAmb": &pc.amb}
	seen := 0
	for _, line := range strings.Split(status, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		if p, ok := fields[key]; ok {
			v, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				return pc, fmt.Errorf("%s: %w", key, err)
			}
			*p = v
			seen++
		}
		if key == "Uid" {
			// real, effective, saved, filesystem: all must agree.
			ids := strings.Fields(val)
			for _, s := range ids {
				if s != ids[0] {
					return pc, fmt.Errorf("uids differ: %s", val)
				}
			}
			pc.uid, _ = strconv.Atoi(ids[0])
			seen++
		}
	}
	if seen != len(fields)+1 {
		return pc, fmt.Errorf("incomplete status:\n%s", status)
	}
	return pc, nil
}

// check reports how pc differs from what p promises: the dropped
// capabilities in no set, the kept ones effective, the uid.
func (p capProfile) check(pc procCaps) error {
	var errs []string
	if pc.uid != p.uid {
		errs = append(errs, fmt.Sprintf("uid %d, want %d", pc.uid, p.uid))
	}
	sets := []struct {
		name string
		v    uint64
	}{{"effective", pc.eff}, {"permitted", pc.prm}, {"inheritable", pc.inh}, {"ambient", pc.amb}, {"bounding", pc.bnd}}
	switch {
	case p.ambient != nil:
		var want uint64
		for _, c := range p.ambient {
			want |= 1 << c
		}
		if pc.eff != want || pc.prm != want {
			errs = append(errs, fmt.Sprintf("effective %#x, permitted %#x: want exactly %#x", pc.eff, pc.prm, want))
		}
	case p.drop == nil:
		for _, s := range sets {
			if s.v != 0 {
				errs = append(errs, fmt.Sprintf("%s set %#x, want empty", s.name, s.v))
			}
		}
	default:
		for _, c := range p.drop {
			for _, s := range sets {
				if s.v&(1<<c) != 0 {
					errs = append(errs, fmt.Sprintf("capability %d in the %s set", c, s.name))
				}
			}
		}
	}
	for _, c := range p.keep {
		if pc.eff&(1<<c) == 0 {
			errs = append(errs, fmt.Sprintf("%s not effective", capNames[c]))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %s", p.name, strings.Join(errs, "; "))
	}
	return nil
}

// verifyProfile runs cat /proc/self/status under p, the way sockc is run,
// and fails the test if the child has a capability it should not: a drop
// that silently did not happen would make every check below meaningless.
func verifyProfile(t *testing.T, p capProfile) {
	t.Helper()
	out, err := p.command(t, 10*time.Second, "cat", "/proc/self/status").Output()
	if err != nil {
		t.Fatalf("%s: cat /proc/self/status: %v", p.name, err)
	}
	pc, err := parseProcCaps(string(out))
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	if err := p.check(pc); err != nil {
		t.Fatal(err)
	}
}
