package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// exampleStep is one "$ COMMAND" line of a help example and the output
// shown under it.
type exampleStep struct {
	cmd  string
	want string
	root bool // marked "# as root", or in an example that says "As root"
}

// parseExample reads a cobra Example: "$ " lines are commands, the lines
// under one (up to the next command, blank line or comment) its output,
// indented like the command.
func parseExample(example string) []exampleStep {
	var steps []exampleStep
	asRoot := strings.Contains(example, "# As root")
	var cur *exampleStep
	for _, line := range strings.Split(example, "\n") {
		line = strings.TrimPrefix(line, "  ")
		switch {
		case strings.HasPrefix(line, "$ "):
			cmd := strings.TrimPrefix(line, "$ ")
			root := asRoot || strings.HasSuffix(cmd, "# as root")
			steps = append(steps, exampleStep{cmd: cmd, root: root})
			cur = &steps[len(steps)-1]
		case strings.HasPrefix(line, "#"):
			cur = nil
		case cur != nil:
			cur.want += line + "\n"
		}
	}
	for i := range steps {
		// A blank line ends an output only if no output follows it.
		steps[i].want = strings.TrimRight(steps[i].want, "\n")
		if steps[i].want != "" {
			steps[i].want += "\n"
		}
	}
	return steps
}

// TestHelpExamples runs the worked example of `sockc --help` and of every
// subcommand's help, as a reader would paste it into a shell, and checks
// that each command prints what the example shows. Steps that need root
// (marked so) are not run here: e2e runs the same command lines.
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
	cmds := append([]*cobra.Command{root}, root.Commands()...)
	ran, checked := 0, 0
	for _, c := range cmds {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			steps := parseExample(c.Example)
			if len(steps) == 0 {
				t.Fatalf("sockc %s --help has no worked example (\"$ \" lines)", c.Name())
			}
			dir := t.TempDir()
			if err := os.Symlink(examples, filepath.Join(dir, "examples")); err != nil {
				t.Fatal(err)
			}
			for _, s := range steps {
				if s.root {
					continue
				}
				sh := exec.Command("bash", "-c", s.cmd)
				sh.Dir = dir
				sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
				out, err := sh.CombinedOutput()
				ran++
				if err != nil && s.want == "" {
					t.Errorf("$ %s: %v\n%s", s.cmd, err, out)
					continue
				}
				if string(out) != s.want {
					t.Errorf("$ %s\nprints:\n%s\nthe example shows:\n%s", s.cmd, out, s.want)
				}
				checked++
			}
		})
	}
	t.Logf("help examples: %d commands run, %d outputs checked", ran, checked)
}
