package runtime

import (
	"encoding/binary"
	"fmt"

	"github.com/sockc/sockc/lang/abi"
)

// rawValue receives one CPU's value of a per-CPU map.
type rawValue []byte

// UnmarshalBinary copies the bytes.
func (v *rawValue) UnmarshalBinary(b []byte) error {
	*v = append((*v)[:0], b...)
	return nil
}

// Counters returns the `count` counters, summed over all CPUs, by name.
func (rt *Runtime) Counters() (map[string]uint64, error) {
	out := map[string]uint64{}
	if len(rt.counters) == 0 {
		return out, nil
	}
	m := rt.coll.Maps[abi.CountersMap]
	var perCPU []rawValue
	if err := m.Lookup(uint32(0), &perCPU); err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	for _, v := range perCPU {
		for i, name := range rt.counters {
			if off := abi.SlotOffset(i); len(v) >= off+abi.SlotSize {
				out[name] += binary.NativeEndian.Uint64(v[off:])
			}
		}
	}
	return out, nil
}

// CounterNames lists the counters in declaration order.
func (rt *Runtime) CounterNames() []string { return append([]string(nil), rt.counters...) }
