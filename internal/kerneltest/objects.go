package kerneltest

import (
	"context"
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		left := b.New(t)
		if len(left) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("still in the kernel: %v", left)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
