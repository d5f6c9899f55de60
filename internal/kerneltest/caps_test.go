package kerneltest_test

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/internal/kerneltest"
)

// TestWithBPFCapabilitiesOnly: a program the verifier takes from root but
// not from a caller without CAP_PERFMON (a pointer compared with a
// non-zero constant) loads outside and is refused inside, so the tests
// that load through it really run with the two capabilities.
func TestWithBPFCapabilitiesOnly(t *testing.T) {
	kerneltest.Require(t)
	spec := &ebpf.ProgramSpec{Type: ebpf.SkMsg, License: "GPL", Instructions: asm.Instructions{
		asm.Mov.Imm(asm.R0, 1),
		asm.JGT.Imm(asm.R1, 1, "out"),
		asm.Mov.Imm(asm.R0, 1),
		asm.Return().WithSymbol("out"),
	}}
	p, err := ebpf.NewProgram(spec)
	if err != nil {
		t.Fatalf("as root: %v", err)
	}
	p.Close()
	ran := false
	kerneltest.WithBPFCapabilitiesOnly(t, func() {
		ran = true
		p, err := ebpf.NewProgram(spec)
		if err == nil {
			p.Close()
			t.Error("with CAP_BPF and CAP_NET_ADMIN only, a pointer compared with 1 loads: the capabilities were not dropped")
		}
	})
	if !ran {
		t.Fatal("f did not run")
	}
}
