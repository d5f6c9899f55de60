package main

import (
	"bytes"

	"github.com/cilium/ebpf"
	"github.com/spf13/cobra"

	"github.com/sockc/sockc/lang/disasm"
)

func newObjdumpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "objdump FILE.o",
		Short: "List the maps, programs and instructions of a BPF object file",
		Long: `objdump reads any BPF ELF object, sockc's or clang's, with cilium/ebpf's
loader and prints its maps and programs, each instruction with the source
line the object's BTF line info gives for it.`,
		Example: `  sockc compile -o /tmp/proxy.o examples/proxy.sock
  sockc objdump /tmp/proxy.o`,
		Args: argsFiles(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			spec, err := ebpf.LoadCollectionSpec(args[0])
			if err != nil {
				return &exitError{code: exitInput, msg: err.Error()}
			}
			var buf bytes.Buffer
			if err := disasm.Spec(&buf, spec); err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(buf.Bytes())
			return err
		},
	}
}
