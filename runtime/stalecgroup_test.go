package runtime_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
)

// staleTestPrefix is this test's own prefix, so that no `sockc run` of
// another test, which removes the stale cgroups of runtime.CommandCgroupPrefix,
// ever touches these.
const staleTestPrefix = "sockc-staletest-"

// TestRemoveStaleCgroups: a cgroup is stale only when its owner's pid is
// gone and nobody holds its lock. Then what runs in it is killed and it is
// removed; a locked one, one of a live pid, NewChildCgroup's own and a
// name not of the PREFIX+PID-N form are left alone.
func TestRemoveStaleCgroups(t *testing.T) {
	kerneltest.Require(t)
	root, err := runtime.Cgroup2Mount()
	if err != nil {
		kerneltest.Unavailable(t, err.Error())
	}
	dead := deadPID(t)
	mk := func(name string) string {
		p := filepath.Join(root, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { runtime.RemoveCgroup(p) })
		return p
	}
	stale := mk(fmt.Sprintf("%s%d-1", staleTestPrefix, dead))
	live := mk(fmt.Sprintf("%s%d-2", staleTestPrefix, os.Getpid()))
	odd := mk(staleTestPrefix + "other")
	own, removeOwn, err := runtime.NewChildCgroup(staleTestPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeOwn() })
	// A process left in the stale cgroup, and a pidfd to see it end.
	sleeper := exec.Command("sleep", "60")
	cg, err := os.Open(stale)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	sleeper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	wait := sync.OnceValue(sleeper.Wait)
	t.Cleanup(func() { sleeper.Process.Kill(); wait() })

	// Locked: someone alive owns it, whatever its name says.
	lock, err := os.Open(stale)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	removed, err := runtime.RemoveStaleCgroups(staleTestPrefix)
	lock.Close()
	if err != nil || len(removed) != 0 {
		t.Fatalf("with the lock held: removed %+v (%v), want nothing", removed, err)
	}

	removed, err = runtime.RemoveStaleCgroups(staleTestPrefix)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d (sleep)", sleeper.Process.Pid)
	if len(removed) != 1 || removed[0].Path != stale || removed[0].Owner != dead ||
		len(removed[0].Killed) != 1 || removed[0].Killed[0] != want {
		t.Fatalf("removed %+v, want %s of pid %d with %s killed", removed, stale, dead, want)
	}
	if err := wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the process in the stale cgroup ended with %v, want killed", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale cgroup still there: %v", err)
	}
	for _, p := range []string{live, odd, own} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s, not stale, was removed: %v", p, err)
		}
	}
	t.Logf("reliability: stale cgroups: 1 of 4 removed (dead owner, unlocked), its process killed; locked, live-owner, own and odd-named ones kept")
}

// deadPID returns the pid of a process that has ended and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}
