package sockc_test

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// fence is one fenced block of a Markdown text.
type fence struct {
	line int    // of the opening fence
	lang string // the word after the opening ```: sock, text, ebnf...
	body string // the lines between the fences, each ending in "\n"
	// next is the first non-blank line after the closing fence, where
	// the docs put the <!-- ... --> comment that says what to expect of
	// the block; "" if another block or the end comes first.
	next string
	// prev is the last non-blank line before the opening fence, the
	// prose that introduces the block ("" at the start or right after
	// another block).
	prev string
}

// markdownFences returns the fenced blocks of a Markdown text, for the
// tests that read docs/language.md block by block.
func markdownFences(name, text string) ([]fence, error) {
	var fences []fence
	var body strings.Builder
	open, after := false, -1 // after: index of the block just closed
	prev := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !open && !strings.HasPrefix(line, "```") && strings.TrimSpace(line) != "" {
			prev = line
		}
		switch {
		case !open && strings.HasPrefix(line, "```"):
			open, after = true, -1
			fences = append(fences, fence{line: n, lang: strings.TrimSpace(line[3:]), prev: prev})
			body.Reset()
			prev = ""
		case open && strings.TrimSpace(line) == "```":
			open = false
			fences[len(fences)-1].body = body.String()
			after = len(fences) - 1
		case open:
			body.WriteString(line + "\n")
		case after >= 0 && strings.TrimSpace(line) != "":
			fences[after].next = line
			after = -1
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if open {
		return nil, fmt.Errorf("%s:%d: block not closed", name, fences[len(fences)-1].line)
	}
	return fences, nil
}

// readFences is markdownFences of a file.
func readFences(t *testing.T, path string) []fence {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fences, err := markdownFences(path, string(text))
	if err != nil {
		t.Fatal(err)
	}
	return fences
}
