package object

import (
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// types collects the BTF of an object: map definitions, the .maps
// datasec and one FUNC per program.
type types struct {
	b        *btf.Builder
	intType  *btf.Int
	sizeType *btf.Int
	ctxs     map[ebpf.ProgramType]*btf.Pointer
}

func newTypes() *types {
	b, _ := btf.NewBuilder(nil, nil) // cannot fail without types
	return &types{
		b:        b,
		intType:  &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed},
		sizeType: &btf.Int{Name: "__ARRAY_SIZE_TYPE__", Size: 4},
		ctxs:     map[ebpf.ProgramType]*btf.Pointer{},
	}
}

func (t *types) add(typ btf.Type) error {
	_, err := t.b.Add(typ)
	return err
}

// uint is libbpf's __uint(name, n): a pointer to an int array of n
// elements, so the value lives in the type.
func (t *types) uint(name string, n uint32, bitOff uint32) btf.Member {
	arr := &btf.Array{Type: t.intType, Index: t.sizeType, Nelems: n}
	return btf.Member{Name: name, Type: &btf.Pointer{Target: arr}, Offset: btf.Bits(bitOff)}
}

// mapDef is the anonymous struct of a BTF-defined map. Sockmaps and
// sockhashes give key_size and value_size (libbpf ignores BTF key and
// value types for them); a map with BTF key and value types gives those,
// so that readers keep them (the counters' names).
func (t *types) mapDef(m *ebpf.MapSpec) (*btf.Struct, error) {
	members := []btf.Member{
		t.uint("type", uint32(m.Type), 0),
		t.uint("max_entries", m.MaxEntries, 64),
	}
	switch {
	case m.Key != nil && m.Value != nil:
		members = append(members,
			btf.Member{Name: "key", Type: &btf.Pointer{Target: m.Key}, Offset: 128},
			btf.Member{Name: "value", Type: &btf.Pointer{Target: m.Value}, Offset: 192})
	case m.Key == nil && m.Value == nil:
		members = append(members, t.uint("key_size", m.KeySize, 128), t.uint("value_size", m.ValueSize, 192))
	default:
		return nil, fmt.Errorf("key and value types must both be given or both be absent")
	}
	if m.Flags != 0 || m.Pinning != ebpf.PinNone || m.InnerMap != nil || len(m.Contents) > 0 {
		return nil, fmt.Errorf("flags, pinning, inner maps and contents are not supported in objects")
	}
	return &btf.Struct{Size: mapDefSize, Members: members}, nil
}

// ctxNames are the context structs, as clang names the first parameter's
// type.
var ctxNames = map[ebpf.ProgramType]string{
	ebpf.SkMsg:   "sk_msg_md",
	ebpf.SkSKB:   "__sk_buff",
	ebpf.SockOps: "bpf_sock_ops",
}

// function adds the FUNC of a program: int NAME(struct CTX *ctx), global.
func (t *types) function(p *ebpf.ProgramSpec) (btf.TypeID, error) {
	ctx, ok := t.ctxs[p.Type]
	if !ok {
		name, known := ctxNames[p.Type]
		if !known {
			return 0, fmt.Errorf("program type %s is not supported in objects", p.Type)
		}
		ctx = &btf.Pointer{Target: &btf.Fwd{Name: name, Kind: btf.FwdStruct}}
		t.ctxs[p.Type] = ctx
	}
	fn := &btf.Func{
		Name:    p.Name,
		Linkage: btf.GlobalFunc,
		Type: &btf.FuncProto{
			Return: t.intType,
			Params: []btf.FuncParam{{Name: "ctx", Type: ctx}},
		},
	}
	return t.b.Add(fn)
}

// marshal encodes the BTF little-endian (never probing the running
// kernel) and appends extra strings for .BTF.ext; it returns their
// offsets in the string section.
func (t *types) marshal(extra []string) ([]byte, map[string]uint32, error) {
	raw, err := t.b.Marshal(nil, &btf.MarshalOptions{Order: binary.LittleEndian})
	if err != nil {
		return nil, nil, err
	}
	return appendStrings(raw, extra)
}

// appendStrings adds strings to the string section of a raw BTF blob. BTF
// is a header, the type section and the string section (see the kernel's
// Documentation/bpf/btf.rst); cilium/ebpf's Builder adds strings only for
// type names, and .BTF.ext needs file names and source lines too.
func appendStrings(raw []byte, extra []string) ([]byte, map[string]uint32, error) {
	const hdrMin = 24
	le := binary.LittleEndian
	if len(raw) < hdrMin || le.Uint16(raw) != 0xeB9F {
		return nil, nil, fmt.Errorf("not little-endian BTF")
	}
	hdrLen := le.Uint32(raw[4:])
	strOff, strLen := le.Uint32(raw[16:]), le.Uint32(raw[20:])
	strStart := int(hdrLen + strOff)
	if strStart+int(strLen) != len(raw) {
		return nil, nil, fmt.Errorf("BTF string section is not last")
	}
	offs := map[string]uint32{}
	// Reuse strings that are already there (type names).
	table := raw[strStart:]
	for i := 0; i < len(table); {
		j := i
		for j < len(table) && table[j] != 0 {
			j++
		}
		if _, dup := offs[string(table[i:j])]; !dup {
			offs[string(table[i:j])] = uint32(i)
		}
		i = j + 1
	}
	out := append([]byte(nil), raw...)
	for _, s := range extra {
		if _, ok := offs[s]; ok {
			continue
		}
		offs[s] = uint32(len(out) - strStart)
		out = append(out, s...)
		out = append(out, 0)
	}
	le.PutUint32(out[20:], uint32(len(out)-strStart))
	return out, offs, nil
}
