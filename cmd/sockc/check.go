package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/sockc/sockc"
)

func newCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE...",
		Short: "Parse and check .sock files, reporting every problem",
		Long: `check parses and type-checks each file and prints its diagnostics as
file:line:col: message, with the source line and a caret under the spot.
Warnings do not change the exit status.

Exit status: 0 when every file is clean, 1 when a file has errors,
2 for bad arguments or unreadable files.`,
		Example: `  $ printf 'sockhash m\non msg to m:\n    if local_port = 80: drop\n' > bad.sock
  $ sockc check bad.sock
  bad.sock:3:19: expected ":", found "="
          if local_port = 80: drop
                        ^
      hint: use == to compare
  $ sockc check examples/*.sock`,
		Args: argsFiles(1, -1),
		RunE: func(c *cobra.Command, args []string) error {
			failed := false
			for _, name := range args {
				src, err := readSource(name)
				if err != nil {
					return err
				}
				diags := sockc.Check(name, src)
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
