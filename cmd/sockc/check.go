package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/sockc/sockc"
)

func newCheckCmd() *cobra.Command {
	var minKernel minKernelFlag
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Parse and check .sock files, reporting every problem",
		Long: `check parses and type-checks each file and prints its diagnostics as
file:line:col: message, with the source line and a caret under the spot.
Warnings do not change the exit status. With --min-kernel VERSION, a
handler whose program needs a newer Linux (on skb verdict needs 5.13)
gets a warning.

Exit status: 0 when every file is clean, 1 when a file has errors,
2 for bad arguments or unreadable files.`,
		Example: `  $ printf 'sockhash m\non msg to m:\n    if local_port = 80: drop\n' > bad.sock
  $ sockc check bad.sock
  bad.sock:3:19: expected ":", found "="
          if local_port = 80: drop
                        ^
      hint: use == to compare
  $ sockc check examples/*.sock
  $ printf 'sockmap m\non skb verdict to m: pass\n' > skb.sock
  $ sockc check --min-kernel 5.10 skb.sock
  skb.sock:2:4: warning: on skb verdict needs Linux 5.13 (BPF_SK_SKB_VERDICT), newer than the minimum kernel 5.10
      on skb verdict to m: pass
         ^~~~~~~~~~~
      hint: on stream verdict works on every kernel sockc supports`,
		Args: argsFiles(1, -1),
		RunE: func(c *cobra.Command, args []string) error {
			opts, err := minKernel.options("check")
			if err != nil {
				return err
			}
			failed := false
			for _, name := range args {
				src, err := readSource(name)
				if err != nil {
					return err
				}
				diags := opts.Check(name, src)
				diags.Format(c.ErrOrStderr())
				if diags.HasErrors() {
					failed = true
				}
			}
			if failed {
				return errReported
			}
			return nil
		},
	}
	minKernel.register(cmd)
	return cmd
}

// readSource reads a .sock file for a command, through sockc.ReadSource
// (so /dev/zero or a huge log cannot fill the memory); a file that cannot
// be read is a usage error.
func readSource(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	defer f.Close()
	src, err := sockc.ReadSource(f)
	if err != nil {
		// A directory, say: the command line named the wrong thing.
		return nil, usageErrorf("%v", err)
	}
	return src, nil
}
