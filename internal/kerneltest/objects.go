package kerneltest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// Objects lists the BPF maps and programs in the kernel whose names
// contain one of names, as "map NAME #ID" and "prog NAME #ID", from the
// kernel's own listing.
func Objects(t testing.TB, names ...string) []string {
	t.Helper()
	match := func(n string) bool {
		for _, x := range names {
			if strings.Contains(n, x) {
				return true
			}
		}
		return false
	}
	var found []string
	for id := ebpf.MapID(0); ; {
		next, err := ebpf.MapGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			t.Fatalf("list maps: %v", err)
		}
		id = next
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue // gone meanwhile
		}
		if info, err := m.Info(); err == nil && match(info.Name) {
			found = append(found, fmt.Sprintf("map %s #%d", info.Name, id))
		}
		m.Close()
	}
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			t.Fatalf("list programs: %v", err)
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil && match(info.Name) {
			found = append(found, fmt.Sprintf("prog %s #%d", info.Name, id))
		}
		p.Close()
	}
	return found
}

// Baseline is the kernel's objects with some names before a test creates
// its own (another program of the machine may use the same names).
type Baseline struct {
	names []string
	old   map[string]bool
}

// Snapshot records the objects with the given names that exist now.
func Snapshot(t testing.TB, names ...string) Baseline {
	t.Helper()
	b := Baseline{names: names, old: map[string]bool{}}
	for _, o := range Objects(t, names...) {
		b.old[o] = true
	}
	return b
}

// New lists the objects with the baseline's names that were not there
// when it was taken.
func (b Baseline) New(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, o := range Objects(t, b.names...) {
		if !b.old[o] {
			out = append(out, o)
		}
	}
	return out
}

// AwaitGone polls the kernel's listing until no object newer than the
// baseline remains, and fails the test if some still do after 10s. The
// kernel frees a socket's hold on programs in deferred work (after an RCU
// grace period) and gives no event for it, so this is a bounded poll of
// the condition itself.
func (b Baseline) AwaitGone(t testing.TB) {
	t.Helper()
	Await(t, 10*time.Second, func() (bool, string) {
		left := b.New(t)
		return len(left) == 0, fmt.Sprintf("still in the kernel: %v", left)
	})
}

// Await polls cond every 20 ms until it holds, and fails the test after
// limit with what cond last said. It is for kernel state that changes
// without an event to wait on (a socket freed, a cgroup removed, memory
// uncharged): a bounded poll of the condition itself.
func Await(t testing.TB, limit time.Duration, cond func() (ok bool, what string)) {
	t.Helper()
	end := time.Now().Add(limit)
	for {
		ok, what := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
