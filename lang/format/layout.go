package format

import (
	"fmt"
	"strings"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/token"
)

// indentUnit is one level of indentation in the canonical form.
const indentUnit = "    "

// outLine is one line of the output.
type outLine struct {
	blank   bool
	depth   int
	text    string // code, or a comment on a line of its own
	comment string // the trailing comment of a line of code, if any
	pad     int    // blanks between text and comment
	opens   bool   // a line of code that opens an indented block
}

// layout merges the lines of code with the comments and blank lines of the
// source, in source order, and renders the result.
func layout(f *token.File, code []codeLine, comments []*ast.Comment) ([]byte, error) {
	byLine := make(map[int]int, len(code)) // source line -> index in code
	for i, l := range code {
		if i > 0 && l.src <= code[i-1].src {
			return nil, fmt.Errorf("line %d printed after line %d", l.src, code[i-1].src)
		}
		byLine[l.src] = i
	}
	trailing := map[int]string{}
	whole := map[int]string{}
	for _, c := range comments {
		n := f.Position(c.Pos()).Line
		text := strings.TrimRight(c.Text, " \t\r")
		if _, ok := byLine[n]; ok {
			trailing[n] = text
		} else {
			whole[n] = text
		}
	}

	var out []outLine
	var widths []int // source indentation width of the open levels, by depth
	next := 0        // index in code of the next line of code
	blank := false   // a blank line was seen since the last line emitted
	emit := func(l outLine) {
		if blank && len(out) > 0 && !out[len(out)-1].opens {
			out = append(out, outLine{blank: true})
		}
		blank = false
		out = append(out, l)
	}
	for n := 1; n <= f.LineCount(); n++ {
		if i, ok := byLine[n]; ok {
			l := code[i]
			w := indentWidth(f, n)
			for len(widths) < l.depth {
				widths = append(widths, w)
			}
			widths = append(widths[:l.depth], w)
			emit(outLine{depth: l.depth, text: l.text, comment: trailing[n], opens: l.opens})
			next = i + 1
			continue
		}
		if text, ok := whole[n]; ok {
			nextDepth := 0
			if next < len(code) {
				nextDepth = code[next].depth
			}
			d := nextDepth
			if next > 0 {
				d = commentDepth(indentWidth(f, n), widths, code[next-1].depth, nextDepth)
			}
			emit(outLine{depth: d, text: text})
			continue
		}
		// Neither code nor comment: a blank line.
		blank = true
	}
	align(out)
	return render(out), nil
}

// commentDepth places a comment on a line of its own, indented width
// columns in the source, between a line of code at depth prev and one at
// depth next. A comment goes with the next line, except at the end of a
// block (next < prev): there it stays in the deepest block that encloses
// the previous line and whose source indentation its own reaches.
func commentDepth(width int, widths []int, prev, next int) int {
	d := next
	for i := next + 1; i <= prev && i < len(widths); i++ {
		if widths[i] <= width {
			d = i
		}
	}
	return d
}

// indentWidth is the width of the leading blanks of source line n, a tab
// reaching the next multiple of 8, as the scanner counts it.
func indentWidth(f *token.File, n int) int {
	line := f.Line(n)
	if n == 1 {
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	w := 0
	for _, c := range line {
		switch c {
		case ' ':
			w++
		case '\t':
			w += 8 - w%8
		default:
			return w
		}
	}
	return w
}

// align pads the trailing comments of each run of consecutive lines that
// have one, so that they start in one column, two blanks after the
// longest of those lines.
func align(out []outLine) {
	for i := 0; i < len(out); {
		if out[i].comment == "" {
			i++
			continue
		}
		j, col := i, 0
		for ; j < len(out) && out[j].comment != ""; j++ {
			col = max(col, width(out[j]))
		}
		for k := i; k < j; k++ {
			out[k].pad = col + 2 - width(out[k])
		}
		i = j
	}
}

// width is the length of a line's indentation and text.
func width(l outLine) int { return len(indentUnit)*l.depth + len(l.text) }

func render(out []outLine) []byte {
	var b strings.Builder
	for _, l := range out {
		if !l.blank {
			b.WriteString(strings.Repeat(indentUnit, l.depth))
			b.WriteString(l.text)
			if l.comment != "" {
				b.WriteString(strings.Repeat(" ", l.pad))
				b.WriteString(l.comment)
			}
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
