package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit statuses: 1 when the input has errors, 2 when the command line
// does (bad flags, missing files), as compilers and grep do.
const (
	exitOK    = 0
	exitInput = 1
	exitUsage = 2
)

// exitError carries an exit status; msg, if set, is printed as one line.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// errReported means the diagnostics were printed already.
var errReported = &exitError{code: exitInput}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	started := false
	root.PersistentPreRun = func(*cobra.Command, []string) { started = true }
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(stderr, "sockc: %s\n", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "sockc: %v\n", err)
	if started {
		// A command ran and failed (writing output, say): not a usage
		// error.
		return exitInput
	}
	// Cobra's own errors are about the command line.
	return exitUsage
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "sockc",
		Short: "Compile and run socket-redirect programs (SOCKMAP/SOCKHASH eBPF)",
		Long: `sockc compiles a small language for Linux socket redirection into eBPF
programs attached to SOCKMAP and SOCKHASH maps: sk_msg, sk_skb and sockops.

    on msg to sockhash proxy: redirect key(remote_port)

See docs/language.md for the language.`,
		Example: `  sockc check examples/bypass.sock
  sockc compile -S examples/proxy.sock`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see 'sockc %s --help')", err, c.Name())
	})
	root.AddCommand(newCheckCmd(), newCompileCmd(), newObjdumpCmd(), newRunCmd())
	return root
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}

// argsFiles requires between min and max file arguments (max < 0: any).
func argsFiles(min, max int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usageErrorf("%s: missing FILE (see 'sockc %s --help')", c.Name(), c.Name())
		case max >= 0 && len(args) > max:
			return usageErrorf("%s: too many arguments: %v (see 'sockc %s --help')", c.Name(), args[max:], c.Name())
		}
		return nil
	}
}
