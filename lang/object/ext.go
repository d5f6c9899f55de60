package object

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// line is one line_info record before string offsets are known.
type line struct {
	file, text string
	number     uint32
	column     uint32
}

// lineSource is implemented by sources that know where they are
// (sockc's codegen.Line, cilium/ebpf's btf.Line).
type lineSource interface {
	FileName() string
	LineNumber() uint32
	LineColumn() uint32
}

// lineOf extracts line info from an instruction's source.
func lineOf(src fmt.Stringer) *line {
	if src == nil {
		return nil
	}
	l := &line{text: src.String()}
	if ls, ok := src.(lineSource); ok {
		l.file, l.number, l.column = ls.FileName(), ls.LineNumber(), ls.LineColumn()
	}
	return l
}

// BTF line_info packs line and column into one word.
const (
	lineShift = 10
	maxLine   = 1<<(32-lineShift) - 1
	maxColumn = 1<<lineShift - 1
)

type funcRecord struct {
	off uint32 // bytes into the section
	typ btf.TypeID
}

type lineRecord struct {
	off uint32
	line
}

// extInfo collects .BTF.ext records per section, in section order.
type extInfo struct {
	sections []string
	funcs    map[string][]funcRecord
	lines    map[string][]lineRecord
}

func (e *extInfo) section(name string) {
	if e.funcs == nil {
		e.funcs, e.lines = map[string][]funcRecord{}, map[string][]lineRecord{}
	}
	if _, ok := e.funcs[name]; !ok {
		e.sections = append(e.sections, name)
		e.funcs[name] = nil
	}
}

func (e *extInfo) addFunc(sec string, off uint32, typ btf.TypeID) {
	e.section(sec)
	e.funcs[sec] = append(e.funcs[sec], funcRecord{off: off, typ: typ})
}

func (e *extInfo) addLine(sec string, off uint32, l line) {
	e.section(sec)
	e.lines[sec] = append(e.lines[sec], lineRecord{off: off, line: l})
}

// strings lists the strings the records need, in a stable order.
func (e *extInfo) strings() []string {
	var out []string
	for _, s := range e.sections {
		out = append(out, s)
		for _, l := range e.lines[s] {
			out = append(out, l.file, l.text)
		}
	}
	return out
}

// marshal encodes .BTF.ext: a header, then func_info and line_info, each
// a record size followed by per-section blocks {section name, count,
// records}, with instruction offsets in bytes (the ELF convention; loaders
// convert to instructions).
func (e *extInfo) marshal(strs map[string]uint32) ([]byte, error) {
	le := binary.LittleEndian
	var fi, li bytes.Buffer
	put := func(b *bytes.Buffer, vs ...uint32) {
		for _, v := range vs {
			binary.Write(b, le, v)
		}
	}
	put(&fi, 8)
	put(&li, 16)
	for _, s := range e.sections {
		if fs := e.funcs[s]; len(fs) > 0 {
			put(&fi, strs[s], uint32(len(fs)))
			for _, f := range fs {
				put(&fi, f.off, uint32(f.typ))
			}
		}
		if ls := e.lines[s]; len(ls) > 0 {
			put(&li, strs[s], uint32(len(ls)))
			for _, l := range ls {
				if l.number > maxLine {
					return nil, fmt.Errorf("line %d does not fit BTF line info (at most %d)", l.number, maxLine)
				}
				// A column past the field's range is clamped: the line
				// number is what tools show.
				put(&li, l.off, strs[l.file], strs[l.text], l.number<<lineShift|min(l.column, maxColumn))
			}
		}
	}
	// The header includes the (empty) CO-RE relocation fields, as clang
	// writes it: cilium/ebpf misreads a 24-byte header.
	const hdrLen = 32
	var out bytes.Buffer
	binary.Write(&out, le, uint16(0xeB9F))
	out.WriteByte(1) // version
	out.WriteByte(0) // flags
	put(&out, hdrLen, 0, uint32(fi.Len()), uint32(fi.Len()), uint32(li.Len()))
	put(&out, uint32(fi.Len()+li.Len()), 0) // core_relo_off, core_relo_len
	out.Write(fi.Bytes())
	out.Write(li.Bytes())
	return out.Bytes(), nil
}
