package sockc

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/object"
)

// Object encodes a compiled collection as a BPF ELF object that libbpf,
// bpftool and cilium/ebpf load. The output is deterministic.
func Object(spec *ebpf.CollectionSpec) ([]byte, error) {
	b, err := object.Write(spec, abi.License)
	if err != nil {
		return nil, fmt.Errorf("write object: %w", err)
	}
	return b, nil
}
