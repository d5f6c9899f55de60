package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sockc/sockc/internal/helpexample"
)

// TestHelpExamples runs the worked example of `sockc --help` and of every
// command's help below it (help, completion and its shells included), as a
// reader would paste it into a shell, and checks that each command prints
// what the example shows. Each example runs in a fresh directory that is
// also HOME, so that what it installs under ~ stays there. Steps that need
// root (marked so) are not run here: e2e's TestHelpExamplesAsRoot runs the
// examples that have them.
func TestHelpExamples(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "sockc"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sockc: %v\n%s", err, out)
	}
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	root := newRoot(io.Discard, io.Discard)
	ran, checked := 0, 0
	for _, c := range helpCommands(root) {
		name := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		t.Run(name, func(t *testing.T) {
			steps := helpexample.Parse(c.Example)
			if len(steps) == 0 {
				t.Fatalf("%s --help has no worked example (\"$ \" lines)", c.CommandPath())
			}
			dir := t.TempDir()
			if err := os.Symlink(examples, filepath.Join(dir, "examples")); err != nil {
				t.Fatal(err)
			}
			for _, s := range steps {
				if s.Root {
					continue
				}
				sh := exec.Command("bash", "-c", s.Cmd)
				sh.Dir = dir
				sh.Env = append(os.Environ(), "HOME="+dir, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
				out, err := sh.CombinedOutput()
				ran++
				if err != nil && s.Want == "" {
					t.Errorf("$ %s: %v\n%s", s.Cmd, err, out)
					continue
				}
				if string(out) != s.Want {
					t.Errorf("$ %s\nprints:\n%s\nthe example shows:\n%s", s.Cmd, out, s.Want)
				}
				checked++
			}
		})
	}
	t.Logf("help examples: %d commands run, %d outputs checked", ran, checked)
}

// helpCommands returns c and every command under it that its help lists.
func helpCommands(c *cobra.Command) []*cobra.Command {
	cmds := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() || sub.Name() == "help" {
			cmds = append(cmds, helpCommands(sub)...)
		}
	}
	return cmds
}
