package runtime

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/keys"
)

// NewMap creates a sockmap or sockhash on its own, for Go programs that
// bring their own BPF programs: the building block the language sits on.
// A sockmap's key is a u32 index; a sockhash takes the layout given (its
// size is the key size). Close the Map to remove it.
func NewMap(name string, typ ebpf.MapType, key keys.Layout, maxEntries uint32) (*Map, error) {
	if err := CheckHost(); err != nil {
		return nil, err
	}
	_ = rlimit.RemoveMemlock() // see Load
	switch {
	case typ == ebpf.SockMap && !key.Equal(keys.ScalarU32()):
		return nil, fmt.Errorf("map %s: a sockmap is indexed by u32", name)
	case typ != ebpf.SockMap && typ != ebpf.SockHash:
		return nil, fmt.Errorf("map %s: want a sockmap or sockhash, not %s", name, typ)
	case len(key.Components) == 0:
		return nil, fmt.Errorf("map %s: no key layout", name)
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: name, Type: typ, KeySize: uint32(key.Size()), ValueSize: abi.SockValueSize, MaxEntries: maxEntries,
	})
	if err != nil {
		return nil, fmt.Errorf("create map %s: %w", name, explainLoad(err, nil))
	}
	return &Map{name: name, m: m, layout: key, owned: true}, nil
}

// Close removes a map made by NewMap, with every socket in it. Maps of a
// Runtime are removed by the Runtime's Close; for them this does nothing.
func (m *Map) Close() error {
	if !m.owned || m.closed {
		return nil
	}
	m.closed = true
	return errors.Join(clearMap(m.m), m.m.Close())
}
