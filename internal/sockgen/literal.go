package sockgen

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/sockc/sockc/lang/hook"
)

func leaf(tok string, t typ) expr { return expr{toks: []string{tok}, t: t, prec: precPrimary} }

func (g *gen) intLit(v uint32) expr {
	e := leaf(g.intText(v), tInt)
	e.konst, e.val = true, v
	return e
}

// intText writes v as one of the literal forms of §2.5.
func (g *gen) intText(v uint32) string {
	switch g.r.IntN(8) {
	case 0:
		return fmt.Sprintf("0x%x", v)
	case 1:
		return fmt.Sprintf("0X%X", v)
	case 2:
		return fmt.Sprintf("0x%08X", v) // leading zeros after 0x are allowed
	}
	return strconv.FormatUint(uint64(v), 10)
}

// u32 picks a value, favouring edges and small numbers.
func (g *gen) u32() uint32 {
	switch g.r.IntN(8) {
	case 0:
		edges := []uint32{0, 1, 2, 31, 32, 255, 256, 1023, 1024, 65535, 65536, math.MaxInt32, math.MaxInt32 + 1, math.MaxUint32}
		return edges[g.r.IntN(len(edges))]
	case 1, 2, 3:
		return uint32(g.r.IntN(17))
	case 4, 5:
		return uint32(g.r.IntN(65536))
	}
	return g.r.Uint32()
}

func (g *gen) ip4Lit(b [4]byte) expr {
	e := leaf(fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]), tIP4)
	e.konst, e.val, e.ip4lit = true, binary.NativeEndian.Uint32(b[:]), true
	return e
}

func (g *gen) ip4Bytes() [4]byte {
	var b [4]byte
	switch g.r.IntN(4) {
	case 0:
		b = [4]byte{10, byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256))}
	case 1:
		b = [4]byte{127, 0, 0, 1}
	default:
		binary.NativeEndian.PutUint32(b[:], g.r.Uint32())
	}
	return b
}

func familyConst(name string, v uint32) expr {
	e := leaf(name, tFamily)
	e.konst, e.val = true, v
	return e
}

// fieldType is the type of a context field in expressions.
func fieldType(t hook.FieldType) typ {
	switch t {
	case hook.Port:
		return tPort
	case hook.IP4:
		return tIP4
	case hook.IP6:
		return tIP6
	case hook.IP:
		return tIP
	case hook.Family:
		return tFamily
	}
	return tInt
}

// fields lists the fields of type t the current hook can read.
func (g *gen) fields(t typ) []string {
	var out []string
	for _, n := range hook.FieldNames() {
		if f, _, ok := g.hook.Lookup(n); ok && fieldType(f.Type) == t {
			out = append(out, n)
		}
	}
	return out
}

func (g *gen) field(t typ) (expr, bool) {
	fs := g.fields(t)
	if len(fs) == 0 {
		return expr{}, false
	}
	return leaf(fs[g.r.IntN(len(fs))], t), true
}
