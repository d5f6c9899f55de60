// Package helpexample reads the worked examples of sockc's help, so that
// tests can run them as a reader would: the command's own tests the steps
// anyone can run, e2e the ones that need root.
package helpexample

import "strings"

// Step is one "$ COMMAND" line of an example and the output shown under
// it.
type Step struct {
	Cmd  string // the command line, without "$ " and with its comment
	Want string // the output shown, "" if none; each line ends in "\n"
	Root bool   // marked "# as root", or in an example that says "# As root"
}

// Parse reads a cobra Example, each line indented by two spaces: "$ "
// lines are commands, the lines under one (up to the next command, blank
// line or comment) its output.
func Parse(example string) []Step {
	var steps []Step
	asRoot := strings.Contains(example, "# As root")
	var cur *Step
	for _, line := range strings.Split(example, "\n") {
		line = strings.TrimPrefix(line, "  ")
		switch {
		case strings.HasPrefix(line, "$ "):
			cmd := strings.TrimPrefix(line, "$ ")
			root := asRoot || strings.HasSuffix(cmd, "# as root")
			steps = append(steps, Step{Cmd: cmd, Root: root})
			cur = &steps[len(steps)-1]
		case strings.HasPrefix(line, "#"):
			cur = nil
		case cur != nil:
			cur.Want += line + "\n"
		}
	}
	for i := range steps {
		// A blank line ends an output only if no output follows it.
		steps[i].Want = strings.TrimRight(steps[i].Want, "\n")
		if steps[i].Want != "" {
			steps[i].Want += "\n"
		}
	}
	return steps
}

// FromHelp returns the Examples section of a command's help output, as
// cobra prints it: the indented lines after "Examples:" up to the next
// section.
func FromHelp(help string) string {
	_, rest, ok := strings.Cut(help, "\nExamples:\n")
	if !ok {
		return ""
	}
	var lines []string
	for _, line := range strings.Split(rest, "\n") {
		if line != "" && !strings.HasPrefix(line, " ") {
			break // the next section's heading
		}
		lines = append(lines, line)
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}
