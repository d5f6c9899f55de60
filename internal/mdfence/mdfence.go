// Package mdfence reads the fenced code blocks of Markdown documents, with
// the text around each, for the tests that run or check the blocks of
// sockc's docs.
package mdfence

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Block is one fenced block: the lines between a line starting with ```
// and the next line that is ``` alone.
type Block struct {
	Line  int      // line of the opening fence, from 1
	Info  string   // what follows the opening ```, trimmed: "sock", "console term=2", ""
	Lines []string // the lines between the fences
	// Before is the text between the previous block (or the start) and
	// the opening fence, and After the text between the closing fence and
	// the next block (or the end), each line ending in "\n": the prose
	// that introduces a block and the comments that qualify it.
	Before, After string
}

// Body is the block's text, each line ending in "\n".
func (b Block) Body() string {
	var s strings.Builder
	for _, l := range b.Lines {
		s.WriteString(l + "\n")
	}
	return s.String()
}

// Intro is the last non-blank line before the block, "" if there is none
// since the previous block.
func (b Block) Intro() string {
	lines := strings.Split(b.Before, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			return lines[i]
		}
	}
	return ""
}

// Next is the first non-blank line after the block, where the docs put
// the <!-- ... --> comment that says what to expect of it; "" if another
// block or the end comes first.
func (b Block) Next() string {
	for _, l := range strings.Split(b.After, "\n") {
		if strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}

// Parse returns the fenced blocks of a Markdown text; name is for errors.
func Parse(name string, text []byte) ([]Block, error) {
	var blocks []Block
	var prose strings.Builder
	open := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, len(text)+1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !open && strings.HasPrefix(line, "```"):
			if len(blocks) > 0 {
				blocks[len(blocks)-1].After = prose.String()
			}
			blocks = append(blocks, Block{Line: n, Info: strings.TrimSpace(line[3:]), Before: prose.String()})
			prose.Reset()
			open = true
		case open && strings.TrimSpace(line) == "```":
			open = false
		case open:
			b := &blocks[len(blocks)-1]
			b.Lines = append(b.Lines, line)
		default:
			prose.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if open {
		return nil, fmt.Errorf("%s:%d: block not closed", name, blocks[len(blocks)-1].Line)
	}
	if len(blocks) > 0 {
		blocks[len(blocks)-1].After = prose.String()
	}
	return blocks, nil
}

// Read is Parse of a file.
func Read(path string) ([]Block, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, text)
}
