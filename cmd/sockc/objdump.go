package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"

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
			f, err := os.Open(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			defer f.Close()
			if err := checkBPFELF(f); err != nil {
				return &exitError{code: exitInput, msg: fmt.Sprintf("%s: %v", args[0], err)}
			}
			spec, err := ebpf.LoadCollectionSpecFromReader(f)
			if err != nil {
				return &exitError{code: exitInput, msg: fmt.Sprintf("%s: not a BPF object sockc can read: %v", args[0], err)}
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

// checkBPFELF explains the common wrong inputs before cilium/ebpf's loader
// gives a lower-level message.
func checkBPFELF(r io.ReaderAt) error {
	ef, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("not an ELF object file: %w", err)
	}
	defer ef.Close()
	if ef.Machine != elf.EM_BPF {
		return fmt.Errorf("an ELF file for %v, not a BPF object", ef.Machine)
	}
	return nil
}
