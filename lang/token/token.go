// Package token defines the tokens of sockc source and their kinds, source
// positions (byte offsets, and the table that turns them into line and
// column numbers) and the binary operators of expressions.
package token

import (
	"fmt"
	"sort"
)

// Pos is a byte offset into a source file plus one, so that the zero value
// means "no position", as in go/token.
type Pos int

// NoPos is the zero Pos: no position known.
const NoPos Pos = 0

// IsValid reports whether p is a real position.
func (p Pos) IsValid() bool { return p != NoPos }

// PosOf converts a 0-based byte offset into a Pos.
func PosOf(offset int) Pos { return Pos(offset + 1) }

// Offset returns the 0-based byte offset of p.
func (p Pos) Offset() int { return int(p) - 1 }

// Position is a resolved source location. Line and Column are 1-based;
// Column counts bytes, as in go/token.
type Position struct {
	Filename string
	Offset   int
	Line     int
	Column   int
}

// IsValid reports whether the position is known.
func (p Position) IsValid() bool { return p.Line > 0 }

// String formats the position as file:line:col, the form editors and
// compilers use.
func (p Position) String() string {
	s := p.Filename
	if s == "" {
		s = "<input>"
	}
	if p.IsValid() {
		s += fmt.Sprintf(":%d:%d", p.Line, p.Column)
	}
	return s
}

// File is one source file: its name, its bytes, and the offsets where its
// lines start.
type File struct {
	name  string
	src   []byte
	text  string // src as a string, made once: Line returns pieces of it
	lines []int  // byte offset of the first byte of each line
}

// NewFile indexes src by line.
func NewFile(name string, src []byte) *File {
	lines := []int{0}
	for i, b := range src {
		if b == '\n' {
			lines = append(lines, i+1)
		}
	}
	return &File{name: name, src: src, text: string(src), lines: lines}
}

// Name returns the file name given to NewFile.
func (f *File) Name() string { return f.name }

// Source returns the file's bytes.
func (f *File) Source() []byte { return f.src }

// Position resolves p. An invalid p gives a Position with only the file name.
func (f *File) Position(p Pos) Position {
	if !p.IsValid() {
		return Position{Filename: f.name}
	}
	off := min(max(p.Offset(), 0), len(f.src))
	i := sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off }) - 1
	return Position{Filename: f.name, Offset: off, Line: i + 1, Column: off - f.lines[i] + 1}
}

// Line returns the text of the 1-based line n without its line terminator.
// It shares the memory of the file's text, so that every diagnostic on a
// long line does not hold a copy of it.
func (f *File) Line(n int) string {
	if n < 1 || n > len(f.lines) {
		return ""
	}
	start := f.lines[n-1]
	end := len(f.src)
	if n < len(f.lines) {
		end = f.lines[n] - 1
	}
	if end > start && f.src[end-1] == '\r' {
		end--
	}
	return f.text[start:end]
}

// LineCount returns the number of lines in the file.
func (f *File) LineCount() int { return len(f.lines) }
