package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// StaleCgroup is a child cgroup whose owner died without removing it,
// as RemoveStaleCgroups found and removed it.
type StaleCgroup struct {
	// Path is the cgroup2 directory that was removed.
	Path string
	// Owner is the pid of the process that created it (now gone).
	Owner int
	// Killed names the processes that still ran in it and were killed,
	// one "PID (COMM)" each.
	Killed []string
}

// RemoveStaleCgroups removes the child cgroups made by NewChildCgroup with
// this prefix whose owner is dead: a process killed with SIGKILL runs no
// teardown, and its cgroup stays, with whatever still runs in it. Those
// processes are killed first, as the owner's own teardown would have done:
// the owner's contract is that a command lives no longer than the run that
// started it.
//
// A cgroup is stale only if both signs of life are absent: no process has
// the pid in its name, and nobody holds its flock. The lock protects the
// cgroups of owners this process cannot see (another PID namespace); the
// pid protects a cgroup in the instant between its creation and its lock.
// A reused pid keeps a stale cgroup until that process is gone too: the
// error is on the safe side. Directories that do not have the
// PREFIX+PID-DIGITS form are never touched.
//
// It returns what it removed (nothing where no cgroup2 is mounted), and
// the errors of the stale cgroups it could
// not remove.
func RemoveStaleCgroups(prefix string) ([]StaleCgroup, error) {
	root, err := Cgroup2Mount()
	if err != nil {
		return nil, nil // no cgroup2, no cgroups of sockc
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list cgroups in %s: %w", root, err)
	}
	name := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `([0-9]+)-[0-9]+$`)
	var removed []StaleCgroup
	var errs []error
	for _, e := range entries {
		m := name.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		owner, err := strconv.Atoi(m[1])
		if err != nil || owner <= 0 || processExists(owner) {
			continue
		}
		path := filepath.Join(root, e.Name())
		lock, err := tryLockDir(path)
		if errors.Is(err, errLocked) || errors.Is(err, os.ErrNotExist) {
			continue // alive after all, or removed by another run meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		killed := cgroupProcesses(path)
		err = RemoveCgroup(path)
		lock.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("stale cgroup of dead pid %d: %w", owner, err))
			continue
		}
		removed = append(removed, StaleCgroup{Path: path, Owner: owner, Killed: killed})
	}
	return removed, errors.Join(errs...)
}

// processExists reports whether a process with this pid runs in this PID
// namespace. A zombie does not: it has released its files, locks included,
// and only waits for its parent to read its status.
func processExists(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// PID (COMM) STATE ...; COMM may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return true
	}
	state := data[i+2]
	return state != 'Z' && state != 'X'
}

// cgroupProcesses lists the processes of a cgroup and its descendants as
// "PID (COMM)".
func cgroupProcesses(path string) []string {
	var out []string
	for _, pid := range cgroupPids(path) {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		out = append(out, fmt.Sprintf("%d (%s)", pid, bytes.TrimSpace(comm)))
	}
	return out
}
