package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Directory locks say "a live sockc owns this": an exclusive flock(2) on an
// open directory, held for as long as the owner runs. The kernel drops it
// when the last descriptor of the open file closes, so a run killed with
// SIGKILL leaves no lock behind, while a run that is alive keeps it, in any
// PID namespace. flock works on bpffs and cgroup2 directories alike.

// errLocked is tryLockDir's answer when another open file holds the lock.
var errLocked = errors.New("locked")

// tryLockDir opens dir and takes an exclusive flock on it without waiting.
// The lock lasts until the returned file is closed. The file is opened
// close-on-exec so that no child process inherits (and prolongs) the lock.
func tryLockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// lockHolder returns the pid of a process holding a flock on path, from
// /proc/locks, or 0 if none is listed (the lock went meanwhile, or the
// holder is in a PID namespace this process cannot see).
func lockHolder(path string) int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	// 1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(fields[4], "%d", &pid); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}
