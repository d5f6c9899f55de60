package codegen

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	_ "github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/lang/disasm"
)

func listing(t *testing.T, insns asm.Instructions) string {
	t.Helper()
	var b strings.Builder
	if err := disasm.Instructions(&b, insns); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestEmitterCleanup(t *testing.T) {
	tests := []struct {
		name  string
		build func(e *emitter)
		want  string
	}{
		{
			name: "jump to next instruction is removed",
			build: func(e *emitter) {
				l := e.newLabel()
				e.emit(asm.Mov.Imm32(asm.R0, 1))
				e.jumpImm(asm.JEq, asm.R0, 1, l)
				e.bind(l)
				e.exit()
			},
			want: "   0: w0 = 1\n   1: exit\n",
		},
		{
			name: "conditional jump over a jump is inverted",
			build: func(e *emitter) {
				yes, no := e.newLabel(), e.newLabel()
				e.emit(asm.Mov.Imm32(asm.R0, 1))
				e.jumpImm(asm.JEq, asm.R0, 7, yes)
				e.jump(no)
				e.bind(yes)
				e.emit(asm.Mov.Imm32(asm.R0, 2))
				e.exit()
				e.bind(no)
				e.emit(asm.Mov.Imm32(asm.R0, 3))
				e.exit()
			},
			want: "   0: w0 = 1\n   1: if w0 != 7 goto 4\n   2: w0 = 2\n   3: exit\n   4: w0 = 3\n   5: exit\n",
		},
		{
			name: "jumps to jumps are threaded and the dead jump dropped",
			build: func(e *emitter) {
				mid, end := e.newLabel(), e.newLabel()
				e.emit(asm.Mov.Imm32(asm.R0, 1))
				e.jumpImm(asm.JGT, asm.R0, 5, mid)
				e.emit(asm.Mov.Imm32(asm.R0, 2))
				e.exit()
				e.bind(mid)
				e.jump(end)
				e.bind(end)
				e.emit(asm.Mov.Imm32(asm.R0, 3))
				e.exit()
			},
			want: "   0: w0 = 1\n   1: if w0 > 5 goto 4\n   2: w0 = 2\n   3: exit\n   4: w0 = 3\n   5: exit\n",
		},
		{
			name: "code after an exit is not emitted unless a label makes it reachable",
			build: func(e *emitter) {
				unused := e.newLabel()
				e.emit(asm.Mov.Imm32(asm.R0, 1))
				e.exit()
				e.emit(asm.Mov.Imm32(asm.R0, 9)) // unreachable
				e.bind(unused)
				e.emit(asm.Mov.Imm32(asm.R0, 8)) // still unreachable: no jump to unused
				e.exit()
			},
			want: "   0: w0 = 1\n   1: exit\n",
		},
		{
			name: "offsets count ld_imm64 as two slots",
			build: func(e *emitter) {
				l := e.newLabel()
				e.jumpImm(asm.JEq, asm.R1, 0, l)
				e.emit(asm.LoadImm(asm.R0, 1<<40, asm.DWord))
				e.exit()
				e.bind(l)
				e.emit(asm.Mov.Imm32(asm.R0, 0))
				e.exit()
			},
			want: "   0: if w1 == 0 goto 4\n   1: r0 = 0x10000000000 ll\n   3: exit\n   4: w0 = 0\n   5: exit\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmitter()
			tt.build(e)
			insns, err := e.finish("test")
			if err != nil {
				t.Fatal(err)
			}
			if got := listing(t, insns); got != tt.want {
				t.Errorf("got:\n%swant:\n%s", got, tt.want)
			}
		})
	}
}

func TestEmitterRejectsHugeJumps(t *testing.T) {
	e := newEmitter()
	l := e.newLabel()
	e.jumpImm(asm.JEq, asm.R1, 0, l)
	for i := 0; i < 40000; i++ {
		e.emit(asm.Mov.Imm32(asm.R0, int32(i)))
	}
	e.exit()
	e.bind(l)
	e.emit(asm.Mov.Imm32(asm.R0, 0))
	e.exit()
	if _, err := e.finish("big"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("finish = %v, want a 'too large' error", err)
	}
}
