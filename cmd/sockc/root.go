package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

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

// helloSource writes the one-line program of the worked examples of sockc
// and sockc compile, and helloListing is what it compiles to: the same in
// both examples, so one text (TestHelpExamples runs both against it).
const (
	helloSource  = "  $ echo 'on msg to sockhash proxy: redirect key(remote_port)' > hello.sock"
	helloListing = `  map proxy: sockhash key 4 value 8 max 65535
  map sockc_mapstats: percpu_array key 4 value 24 max 1

  program msg_proxy: sk_msg, attach sk_msg_verdict, section sk_msg
     0: r2 = *(u32 *)(r1 +60)                  ; 1: on msg to sockhash proxy: redirect key(remote_port)
     1: r2 = be32 r2
     2: *(u32 *)(r10 -8) = r2
     3: r2 = map[proxy] ll
     5: r3 = r10
     6: r3 += -8
     7: w4 = 0
     8: call bpf_msg_redirect_hash#71
     9: r7 = r0
    10: *(u64 *)(r10 -8) = 0
    11: r2 = r10
    12: r2 += -8
    13: r1 = map[sockc_mapstats] ll
    15: call bpf_map_lookup_elem#1
    16: if r0 == 0 goto 22
    17: w1 = 1
    18: if w7 == 1 goto 21
    19: lock *(u64 *)(r0 +16) += r1
    20: goto 22
    21: lock *(u64 *)(r0 +8) += r1
    22: w0 = 1
    23: exit
`
)

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
		Example: helloSource + `
  $ sockc check hello.sock
  $ sockc compile hello.sock
  $ sockc objdump hello.o
` + helloListing + `  $ sockc run examples/echo.sock --accept 127.0.0.1:7777    # as root`,
		Version: version(),
		// For "did you mean" on an unknown command (cobra's default
		// applies only when cobra reports the error itself).
		SuggestionsMinimumDistance: 2,
		SilenceUsage:               true,
		SilenceErrors:              true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
	})
	// Run rather than print the help, so that a missing or unknown
	// command is a one-line error with status 2, not help with status 0
	// (or, for a near miss, cobra's several lines of suggestions).
	root.Args = cobra.ArbitraryArgs
	root.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErrorf("missing command: check, compile, doctor, fmt, objdump or run (see 'sockc --help')")
		}
		return usageErrorf("unknown command %q%s (see 'sockc --help')", args[0], didYouMean(c, args[0]))
	}
	root.AddCommand(newCheckCmd(), newCompileCmd(), newDoctorCmd(), newFmtCmd(), newObjdumpCmd(), newRunCmd())
	strictHelp(root)
	strictCompletion(root)
	return root
}

func didYouMean(c *cobra.Command, name string) string {
	if s := c.SuggestionsFor(name); len(s) > 0 {
		return "; did you mean " + s[0] + "?"
	}
	return ""
}

// strictHelp makes `sockc help TOPIC` fail for an unknown topic instead of
// printing the usage with status 0.
func strictHelp(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	for _, help := range root.Commands() {
		if help.Name() != "help" {
			continue
		}
		help.Example = `  $ sockc help fmt | head -1
  fmt reprints each file in the canonical form: 4 spaces per block level,`
		help.Run = nil
		help.RunE = func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return usageErrorf("help: unknown command %q (see 'sockc --help')", strings.Join(args, " "))
			}
			return cmd.Help()
		}
	}
}

// strictCompletion makes `sockc completion` without a shell, or with an
// unknown one, a usage error instead of help with status 0, and gives it
// and its shell subcommands worked examples.
func strictCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, comp := range root.Commands() {
		if comp.Name() != "completion" {
			continue
		}
		comp.Example = completionExample
		var shells []string
		for _, sh := range comp.Commands() {
			shells = append(shells, sh.Name())
			sh.Example = shellCompletionExample(sh.Name())
		}
		want := strings.Join(shells, ", ")
		comp.Args = cobra.ArbitraryArgs
		comp.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("completion: missing SHELL: %s (see 'sockc completion --help')", want)
			}
			return usageErrorf("completion: unknown shell %q: want %s", args[0], want)
		}
	}
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
