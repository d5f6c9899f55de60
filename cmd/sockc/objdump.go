package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sockc/sockc/lang/disasm"
	"github.com/sockc/sockc/lang/object"
)

func newObjdumpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "objdump FILE.o",
		Short: "List the maps, programs and instructions of a BPF object file",
		Long: `objdump reads any BPF ELF object, sockc's or clang's, with cilium/ebpf's
loader and prints its maps and programs, each instruction with the source
line the object's BTF line info gives for it.`,
		Example: `  $ echo 'on msg to sockhash proxy: redirect key(remote_port)' > hello.sock
  $ sockc compile hello.sock
  $ sockc objdump hello.o | head -4
  map proxy: sockhash key 4 value 8 max 65535
  map sockc_mapstats: percpu_array key 4 value 24 max 1

  program msg_proxy: sk_msg, attach sk_msg_verdict, section sk_msg`,
		Args: argsFiles(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return usageErrorf("%v", err)
			}
			if !st.Mode().IsRegular() {
				// A directory or a device: the command line named the
				// wrong thing.
				return usageErrorf("%s: not a regular file", args[0])
			}
			spec, err := object.Read(f, st.Size())
			if err != nil {
				return &exitError{code: exitInput, msg: fmt.Sprintf("%s: %v", args[0], err)}
			}
			var buf bytes.Buffer
			if err := disasm.Spec(&buf, spec); err != nil {
				return &exitError{code: exitInput, msg: fmt.Sprintf("%s: %v", args[0], err)}
			}
			_, err = c.OutOrStdout().Write(buf.Bytes())
			return err
		},
	}
}
