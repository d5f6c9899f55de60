package main

import (
	"bytes"
	"errors"

	"github.com/spf13/cobra"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/disasm"
)

func newCompileCmd() *cobra.Command {
	var asmOut bool
	cmd := &cobra.Command{
		Use:   "compile [-S] FILE",
		Short: "Compile a .sock file to eBPF",
		Long: `compile compiles FILE. With -S it prints the maps and the instructions of
every program in the kernel verifier's notation, each source line beside
the instructions compiled from it.`,
		Example: `  sockc compile -S examples/proxy.sock`,
		Args:    argsFiles(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			src, err := readSource(name)
			if err != nil {
				return err
			}
			out, err := sockc.Build(name, src)
			var diags diag.List
			if errors.As(err, &diags) {
				diags.Format(c.ErrOrStderr())
				return errReported
			}
			if err != nil {
				return err
			}
			out.Warnings.Format(c.ErrOrStderr())
			if !asmOut {
				return usageErrorf("compile: writing ELF objects is not available yet; use -S to print instructions")
			}
			var buf bytes.Buffer
			if err := disasm.Spec(&buf, out.Spec); err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(buf.Bytes())
			return err
		},
	}
	cmd.Flags().BoolVarP(&asmOut, "asm", "S", false, "print instructions instead of writing an object file")
	return cmd
}
