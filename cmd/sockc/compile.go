package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/disasm"
)

func newCompileCmd() *cobra.Command {
	var asmOut bool
	var output string
	var minKernel minKernelFlag
	cmd := &cobra.Command{
		Use:   "compile [-S] [-o OUT.o] FILE",
		Short: "Compile a .sock file to a BPF object file",
		Long: `compile compiles FILE to a BPF ELF object (FILE.o beside the source unless
-o says otherwise), the same kind of file clang -target bpf writes: libbpf,
bpftool and cilium/ebpf load it unchanged. The file is replaced atomically;
a failed compile leaves no file behind and never truncates an existing one.

With -S it prints the maps and the instructions of every program in the
kernel verifier's notation instead, each source line beside the
instructions compiled from it (to stdout, or to OUT with -o).`,
		Example: helloSource + `
  $ sockc compile -S hello.sock
` + helloListing + `  $ sockc compile -o hello.o hello.sock
  $ bpftool prog loadall hello.o /sys/fs/bpf/hello    # as root
  $ rm -r /sys/fs/bpf/hello    # as root`,
		Args: argsFiles(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if c.Flags().Changed("output") && output == "" {
				// Most likely an unset variable in a script: writing
				// the default FILE.o instead would surprise.
				return usageErrorf("compile: -o needs a file name (see 'sockc compile --help')")
			}
			opts, err := minKernel.options("compile")
			if err != nil {
				return err
			}
			src, err := readSource(name)
			if err != nil {
				return err
			}
			out, err := opts.Build(name, src)
			var diags diag.List
			if errors.As(err, &diags) {
				diags.Format(c.ErrOrStderr())
				return errReported
			}
			if err != nil {
				return err
			}
			out.Warnings.Format(c.ErrOrStderr())
			var data []byte
			if asmOut {
				var buf bytes.Buffer
				if err := disasm.Spec(&buf, out.Spec); err != nil {
					return err
				}
				data = buf.Bytes()
				if output == "" {
					_, err := c.OutOrStdout().Write(data)
					return err
				}
			} else {
				data, err = sockc.Object(out.Spec)
				if err != nil {
					return err
				}
				if output == "" {
					output = strings.TrimSuffix(name, filepath.Ext(name)) + ".o"
				}
			}
			if output == "-" {
				_, err := c.OutOrStdout().Write(data)
				return err
			}
			if err := writeOutput(output, data); err != nil {
				return &exitError{code: exitInput, msg: err.Error()}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&asmOut, "asm", "S", false, "print instructions instead of writing an object file")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `OUT`, - for stdout (default: FILE.o beside the source; stdout with -S)")
	minKernel.register(cmd)
	return cmd
}

// writeOutput writes data to path. A regular file (or a new one) is
// replaced atomically; a symlink is followed; anything else (a device such
// as /dev/null, a pipe) is written in place, never replaced. The error
// names path and says why, without the temporary file's name.
func writeOutput(path string, data []byte) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	if err := writeTo(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, cause(err))
	}
	return nil
}

func writeTo(path string, data []byte) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return writeFileAtomic(path, data, 0o644)
	case err != nil:
		return err
	case st.Mode().IsRegular():
		return writeFileAtomic(path, data, st.Mode().Perm())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeFileAtomic replaces path with data: it writes a temporary file in
// the same directory, syncs it and renames it over path, so that readers
// see the old file or the new one, never a partial one. On error the
// temporary file is removed.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// cause strips the path from a file error: the temporary file's name
// means nothing to the user, who is told about OUT.
func cause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
