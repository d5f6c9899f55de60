package e2e

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
)

// pinnedMaps opens the maps that `sockc run --pin DIR` pinned, from
// outside the sockc process, the way bpftool would.
type pinnedMaps struct {
	dir string
}

func (p pinnedMaps) open(t *testing.T, name string) *ebpf.Map {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(filepath.Join(p.dir, name), &ebpf.LoadPinOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("open pinned map %s: %v", name, err)
	}
	return m
}

// entries counts the keys of a pinned sockmap or sockhash.
func (p pinnedMaps) entries(t *testing.T, name string) int {
	t.Helper()
	m := p.open(t, name)
	defer m.Close()
	key, next := make([]byte, m.KeySize()), make([]byte, m.KeySize())
	var cur any // nil: the first key
	n := 0
	for ; ; n++ {
		err := m.NextKey(cur, &next)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return n
		}
		if err != nil {
			t.Fatalf("iterate map %s: %v", name, err)
		}
		copy(key, next)
		cur = key
	}
}

// counter reads the one counter of a file that counts one thing: the
// sockc_counters map, a per-CPU array of one u64, summed over the CPUs.
func (p pinnedMaps) counter(t *testing.T) uint64 {
	t.Helper()
	m := p.open(t, "sockc_counters")
	defer m.Close()
	if m.ValueSize() != 8 {
		t.Fatalf("sockc_counters holds %d bytes: more than the one counter this test reads", m.ValueSize())
	}
	var perCPU []uint64
	if err := m.Lookup(uint32(0), &perCPU); err != nil {
		t.Fatalf("read sockc_counters: %v", err)
	}
	var sum uint64
	for _, v := range perCPU {
		sum += v
	}
	return sum
}
