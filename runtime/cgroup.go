package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// checkCgroup2 verifies that path is a cgroup2 directory.
func checkCgroup2(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("cgroup %s: %w", path, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%s is not a cgroup2 directory (sockops programs attach to cgroup v2)", path)
	}
	return nil
}

// Cgroup2Mount returns where the cgroup2 hierarchy is mounted, from
// /proc/self/mountinfo (often /sys/fs/cgroup, or /sys/fs/cgroup/unified on
// hybrid systems).
func Cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPER
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				return fields[4], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no cgroup2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup)")
}

// CommandCgroupPrefix begins the names of the cgroups StartCommand makes;
// RemoveStaleCgroups(CommandCgroupPrefix) finds those of killed runs.
const CommandCgroupPrefix = "sockc-"

// NewChildCgroup creates a fresh cgroup2 directory for sockc under the
// cgroup2 mount, named PREFIX + PID + "-" + random digits (the PID is this
// process's), and holds an exclusive flock(2) on it until remove: together
// they tell RemoveStaleCgroups that its owner lives. remove kills the
// processes still in it (killCgroup), waits for them to be gone, deletes
// it and drops the lock.
func NewChildCgroup(prefix string) (path string, remove func() error, err error) {
	root, err := Cgroup2Mount()
	if err != nil {
		return "", nil, err
	}
	path, err = os.MkdirTemp(root, fmt.Sprintf("%s%d-", prefix, os.Getpid()))
	if errors.Is(err, os.ErrPermission) {
		return "", nil, fmt.Errorf("a cgroup of its own for the command needs write access to %s (root), or attach to a cgroup you may write with --cgroup: %w", root, err)
	}
	if err != nil {
		return "", nil, fmt.Errorf("create cgroup under %s: %w", root, err)
	}
	lock, err := tryLockDir(path)
	if err != nil {
		unix.Rmdir(path)
		return "", nil, fmt.Errorf("lock cgroup %s: %w", path, err)
	}
	var once sync.Once
	var rerr error
	remove = func() error {
		once.Do(func() {
			rerr = RemoveCgroup(path)
			lock.Close()
		})
		return rerr
	}
	return path, remove, nil
}

// RemoveCgroup kills what runs in a cgroup2 directory (killCgroup), waits
// until it is empty and deletes it, its child cgroups first. A cgroup that
// is not there is not an error.
func RemoveCgroup(path string) error {
	// Kill stragglers so the cgroup can go (cgroup.kill covers the
	// descendants too).
	_ = killCgroup(path)
	if entries, err := os.ReadDir(path); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				if err := RemoveCgroup(filepath.Join(path, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	var err error
	for i := 0; i < 100; i++ {
		if err = unix.Rmdir(path); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		waitCgroupEmpty(path)
	}
	return fmt.Errorf("remove cgroup %s: %w", path, err)
}

// killCgroup kills every process in a cgroup and its descendants: at
// once with cgroup.kill (Linux 5.14), else one by one (killEach).
func killCgroup(path string) error {
	// Opened without O_CREAT: where the kernel has no cgroup.kill (before
	// 5.14), creating it in cgroupfs is refused with EACCES, not ENOENT.
	f, err := os.OpenFile(filepath.Join(path, "cgroup.kill"), os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(path); serr == nil {
			return killEach(path)
		}
	}
	if err == nil {
		_, err = f.Write([]byte("1"))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("kill cgroup %s: %w", path, err)
	}
	return nil
}

// killEach is cgroup.kill for kernels without it (before 5.14): it sends
// SIGKILL to every process listed in cgroup.procs of the cgroup and its
// descendants, waits for them to end, and repeats until none is listed:
// what a killed process forked before it died is found in the next
// round. (Freezing the cgroup first would stop forks, but Linux 5.10 loses
// a SIGKILL sent to a frozen process.)
func killEach(path string) error {
	for round := 0; round < 100; round++ {
		pids := cgroupPids(path)
		if len(pids) == 0 {
			return nil
		}
		var fds []int
		for _, pid := range pids {
			// A pidfd first, so that the wait is for this process even
			// if its pid is reused.
			fd, ferr := unix.PidfdOpen(pid, 0)
			if ferr == nil {
				fds = append(fds, fd)
			}
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				closeAll(fds)
				return fmt.Errorf("kill process %d of cgroup %s: %w", pid, path, err)
			}
		}
		awaitExits(fds, time.Second)
		closeAll(fds)
	}
	return fmt.Errorf("kill cgroup %s: processes keep appearing", path)
}

// awaitExits waits until every pidfd is readable (its process ended), or
// for at most limit.
func awaitExits(pidfds []int, limit time.Duration) {
	polls := make([]unix.PollFd, len(pidfds))
	for i, fd := range pidfds {
		polls[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	}
	end := time.Now().Add(limit)
	for waiting := len(polls); waiting > 0; {
		left := time.Until(end)
		if left <= 0 {
			return
		}
		if _, err := unix.Poll(polls, int(left.Milliseconds())+1); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		for i := range polls {
			if polls[i].Fd >= 0 && polls[i].Revents != 0 {
				polls[i].Fd = -1 // poll ignores it from now on
				waiting--
			}
		}
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// cgroupPids lists the processes of a cgroup and its descendants.
func cgroupPids(path string) []int {
	var pids []int
	filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// waitCgroupEmpty waits until cgroup.events says populated 0, using the
// kernel's notification (a modify event on the file) rather than sleeping.
func waitCgroupEmpty(path string) {
	events := filepath.Join(path, "cgroup.events")
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, events, unix.IN_MODIFY); err != nil {
		return
	}
	for i := 0; i < 50; i++ {
		data, err := os.ReadFile(events)
		if err != nil || strings.Contains(string(data), "populated 0") {
			return
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(pfd, 100); n > 0 {
			buf := make([]byte, 4096)
			unix.Read(fd, buf)
		}
	}
}
