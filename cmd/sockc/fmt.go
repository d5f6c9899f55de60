package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/format"
)

func newFmtCmd() *cobra.Command {
	var list, write bool
	cmd := &cobra.Command{
		Use:   "fmt [-l] [-w] FILE...",
		Short: "Format .sock files canonically",
		Long: `fmt reprints each file in the canonical form: 4 spaces per block level,
single spaces between tokens, runs of blank lines collapsed to one, and
trailing comments aligned. Comments, line breaks, one-line bodies and the
spelling of literals are kept (docs/language.md, section 14). Formatting
twice gives the same bytes as formatting once.

Without flags the formatted files go to stdout. With -l, fmt lists the
files whose formatting differs; with -w, it rewrites them in place
(atomically, keeping their permissions; formatted files are not touched).
A directory stands for the .sock files under it.

A file that does not parse is reported as sockc check reports it and left
alone; type errors do not stop formatting.

Exit status: 0 on success, 1 when a file does not parse or cannot be
written, 2 for bad arguments or unreadable files.`,
		Example: `  $ printf 'sockhash m:key u32,max 8\non msg to m:\n\tif size>1:drop\n' > m.sock
  $ sockc fmt m.sock
  sockhash m: key u32, max 8
  on msg to m:
      if size > 1: drop
  $ sockc fmt -l examples
  $ sockc fmt -w m.sock
  $ cat m.sock
  sockhash m: key u32, max 8
  on msg to m:
      if size > 1: drop`,
		Args: argsFiles(1, -1),
		RunE: func(c *cobra.Command, args []string) error {
			files, err := sourceFiles(args)
			if err != nil {
				return err
			}
			failed := false
			for _, name := range files {
				ok, err := fmtFile(name, list, write, c.OutOrStdout(), c.ErrOrStderr())
				if err != nil {
					return err
				}
				failed = failed || !ok
			}
			if failed {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&list, "list", "l", false, "list the files whose formatting differs")
	cmd.Flags().BoolVarP(&write, "write", "w", false, "rewrite the files whose formatting differs")
	return cmd
}

// fmtFile formats one file as the flags say. It returns false when the
// diagnostics or the error were reported already, and an error that ends
// the run (an unreadable file).
func fmtFile(name string, list, write bool, stdout, stderr io.Writer) (bool, error) {
	src, err := readSource(name)
	if err != nil {
		return false, err
	}
	out, err := format.Source(name, src)
	var diags diag.List
	switch {
	case errors.As(err, &diags):
		diags.Format(stderr)
		return false, nil
	case err != nil:
		fmt.Fprintf(stderr, "sockc: %v\n", err)
		return false, nil
	}
	changed := !bytes.Equal(src, out)
	if list && changed {
		if _, err := fmt.Fprintln(stdout, name); err != nil {
			return false, err
		}
	}
	if write && changed {
		if err := writeOutput(name, out); err != nil {
			fmt.Fprintf(stderr, "sockc: %v\n", err)
			return false, nil
		}
	}
	if !list && !write {
		if _, err := stdout.Write(out); err != nil {
			return false, err
		}
	}
	return true, nil
}

// sourceFiles expands the arguments of fmt: a file stands for itself, a
// directory for the .sock files under it (skipping hidden ones), in
// lexical order. A missing argument is a usage error, found before any
// file is formatted.
func sourceFiles(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		st, err := statArg(arg)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		if !st.IsDir() {
			files = append(files, arg)
			continue
		}
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			hidden := path != arg && strings.HasPrefix(d.Name(), ".")
			switch {
			case d.IsDir() && hidden:
				return filepath.SkipDir
			case !d.IsDir() && !hidden && strings.HasSuffix(d.Name(), ".sock"):
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	return files, nil
}

// statArg stats a command-line argument, failing as opening it would, so
// that a missing file reads "open NAME: no such file or directory", as in
// the other commands.
func statArg(name string) (fs.FileInfo, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}
