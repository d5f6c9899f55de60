package codegen

import (
	"fmt"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/token"
)

// Line is the source of an instruction: the .sock line it was compiled
// from. It is attached to instructions with asm.Instruction.WithSource, so
// that listings, verifier logs and BTF line info show the user's own code.
type Line struct {
	File   string
	Number int // 1-based
	Column int // 1-based, bytes
	Text   string
}

// String returns the source text, which cilium/ebpf uses as line info.
func (l *Line) String() string { return l.Text }

// LineNumber returns the 1-based line number.
func (l *Line) LineNumber() uint32 { return uint32(l.Number) }

// LineColumn returns the 1-based column.
func (l *Line) LineColumn() uint32 { return uint32(l.Column) }

// FileName returns the source file name.
func (l *Line) FileName() string { return l.File }

// GoString helps debugging.
func (l *Line) GoString() string { return fmt.Sprintf("%s:%d:%d", l.File, l.Number, l.Column) }

// lines caches one *Line per source line so instructions share them.
type lines struct {
	file  *token.File
	cache map[int]*Line
}

func (ls *lines) at(n ast.Node) *Line {
	p := ls.file.Position(n.Pos())
	if l, ok := ls.cache[p.Line]; ok {
		return l
	}
	text := ls.file.Line(p.Line)
	col := 1
	for col <= len(text) && (text[col-1] == ' ' || text[col-1] == '\t') {
		col++
	}
	l := &Line{File: p.Filename, Number: p.Line, Column: col, Text: text}
	ls.cache[p.Line] = l
	return l
}
