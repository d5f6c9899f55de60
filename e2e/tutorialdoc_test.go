package e2e

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// The conventions of docs/tutorial.md, which the tutorial states in its
// "How this tutorial is tested" section:
//
//   - ```console blocks are shell sessions: a line starting with "$ " is a
//     command, the lines after it, up to the next command, its output
//     (stdout and stderr together, as a terminal shows them). A line "..."
//     stands for any number of lines.
//   - ```console term=NAME blocks happen in another terminal: one command
//     that keeps running (its output is what it prints before the reader
//     goes on), or "^C" followed by everything it printed since, up to its
//     exit.
//   - ```LANG file=PATH blocks are files the reader creates.
//   - ```sock blocks without a file are fragments that must check clean.
//   - HTML comments after a block qualify it: <!-- output matches: RE -->,
//     <!-- exit status: N --> and <!-- not run: WHY -->.
//   - <!-- ports: P... --> and <!-- pins: DIR --> name the port numbers and
//     the bpffs directory the test replaces with free ones.

// tutorialBlock is one fenced block of the tutorial with its comments.
type tutorialBlock struct {
	line     int    // line of the opening fence
	lang     string // console, sock, go, ...
	file     string // file=PATH
	term     string // term=NAME
	body     []string
	patterns []string // <!-- output matches: RE --> sources, before substitution
	exit     int      // expected exit status of the block's last command
	notRun   string   // reason the block is not run
}

// tutorialCommand is one "$ " line of a console block and its output.
type tutorialCommand struct {
	cmd  string
	want []string
}

// tutorialDoc is the parsed tutorial.
type tutorialDoc struct {
	blocks []*tutorialBlock
	ports  []string
	pins   string
}

var (
	fenceRE   = regexp.MustCompile("^```([a-z]+)((?: [a-z]+=\\S+)*)$")
	commentRE = regexp.MustCompile(`^<!-- ([a-z ]+): (.*) -->$`)
)

// readTutorial parses the blocks and test comments of a tutorial file.
func readTutorial(path string) (*tutorialDoc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc := &tutorialDoc{}
	var cur, last *tutorialBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			doc.blocks = append(doc.blocks, cur)
			last, cur = cur, nil
		case cur != nil:
			cur.body = append(cur.body, line)
		case strings.HasPrefix(line, "```"):
			m := fenceRE.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("%s:%d: fence %q: want ```LANG [file=PATH] [term=NAME]", path, n, line)
			}
			cur = &tutorialBlock{line: n, lang: m[1]}
			for _, kv := range strings.Fields(m[2]) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "file":
					cur.file = v
				case "term":
					cur.term = v
				default:
					return nil, fmt.Errorf("%s:%d: unknown fence attribute %q", path, n, k)
				}
			}
		case commentRE.MatchString(line):
			m := commentRE.FindStringSubmatch(line)
			if err := doc.comment(last, m[1], m[2]); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
		case strings.TrimSpace(line) != "":
			last = nil // a comment qualifies only the block right above it
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: block not closed", path, cur.line)
	}
	return doc, sc.Err()
}

func (doc *tutorialDoc) comment(b *tutorialBlock, key, val string) error {
	switch key {
	case "ports":
		doc.ports = strings.Fields(val)
		return nil
	case "pins":
		doc.pins = val
		return nil
	}
	if b == nil {
		return fmt.Errorf("<!-- %s --> must follow a block", key)
	}
	switch key {
	case "output matches":
		if _, err := regexp.Compile(val); err != nil {
			return err
		}
		b.patterns = append(b.patterns, val)
	case "exit status":
		n, err := strconv.Atoi(val)
		if err != nil {
			return err
		}
		b.exit = n
	case "not run":
		b.notRun = val
	default:
		return fmt.Errorf("unknown comment %q", key)
	}
	return nil
}

// commands splits a console block into commands and their output.
func (b *tutorialBlock) commands() ([]tutorialCommand, error) {
	var cmds []tutorialCommand
	for i, line := range b.body {
		switch {
		case strings.HasPrefix(line, "$ "):
			cmds = append(cmds, tutorialCommand{cmd: strings.TrimPrefix(line, "$ ")})
		case len(cmds) == 0:
			return nil, fmt.Errorf("block at line %d: line %d is output before any command", b.line, b.line+1+i)
		default:
			cmds[len(cmds)-1].want = append(cmds[len(cmds)-1].want, line)
		}
	}
	return cmds, nil
}

// substitute replaces the documented ports and pin directory in s.
func (doc *tutorialDoc) substitute(s string, ports map[string]string, pins string) string {
	if doc.pins != "" && pins != "" {
		s = strings.ReplaceAll(s, doc.pins, pins)
	}
	for from, to := range ports {
		s = regexp.MustCompile(`\b`+from+`\b`).ReplaceAllString(s, to)
	}
	return s
}
