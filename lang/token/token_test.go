package token

import (
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
)

func TestPosOffsetRoundTrip(t *testing.T) {
	tests := []struct {
		offset int
		pos    Pos
	}{
		{0, 1},
		{1, 2},
		{41, 42},
	}
	for _, tt := range tests {
		if got := PosOf(tt.offset); got != tt.pos {
			t.Errorf("PosOf(%d) = %d, want %d", tt.offset, got, tt.pos)
		}
		if got := tt.pos.Offset(); got != tt.offset {
			t.Errorf("Pos(%d).Offset() = %d, want %d", tt.pos, got, tt.offset)
		}
		if !tt.pos.IsValid() {
			t.Errorf("Pos(%d).IsValid() = false, want true", tt.pos)
		}
	}
}

func TestNoPos(t *testing.T) {
	if NoPos.IsValid() {
		t.Error("NoPos.IsValid() = true")
	}
	var zero Pos
	if zero != NoPos {
		t.Errorf("zero Pos = %d, want NoPos", zero)
	}
	f := NewFile("a.sock", []byte("abc\ndef\n"))
	p := f.Position(NoPos)
	if p.IsValid() {
		t.Errorf("Position(NoPos) = %+v, want an invalid position", p)
	}
	if p != (Position{Filename: "a.sock"}) {
		t.Errorf("Position(NoPos) = %+v, want only the file name", p)
	}
	if got := p.String(); got != "a.sock" {
		t.Errorf("Position(NoPos).String() = %q, want %q", got, "a.sock")
	}
}

func TestPosition(t *testing.T) {
	// Byte offsets: a=0 b=1 \n=2 c=3 d=4 e=5 \n=6 \n=7 f=8 \t=9 g=10.
	const src = "ab\ncde\n\nf\tg"
	f := NewFile("x.sock", []byte(src))
	tests := []struct {
		name         string
		offset       int
		line, column int
		wantOffset   int
	}{
		{"first byte", 0, 1, 1, 0},
		{"second byte", 1, 1, 2, 1},
		{"newline belongs to its line", 2, 1, 3, 2},
		{"start of line 2", 3, 2, 1, 3},
		{"end of line 2", 5, 2, 3, 5},
		{"empty line 3", 7, 3, 1, 7},
		{"start of line 4", 8, 4, 1, 8},
		{"tab counts one column", 10, 4, 3, 10},
		{"end of file", len(src), 4, 4, len(src)},
		{"past the end is clamped", len(src) + 50, 4, 4, len(src)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.Position(PosOf(tt.offset))
			want := Position{Filename: "x.sock", Offset: tt.wantOffset, Line: tt.line, Column: tt.column}
			if p != want {
				t.Errorf("Position(PosOf(%d)) = %+v, want %+v", tt.offset, p, want)
			}
			if !p.IsValid() {
				t.Errorf("Position(PosOf(%d)) is not valid", tt.offset)
			}
		})
	}
}

func TestPositionColumnsAreBytes(t *testing.T) {
	// "é" is two bytes: the column after it is 4, not 3.
	f := NewFile("u.sock", []byte("é x"))
	p := f.Position(PosOf(3))
	if p.Line != 1 || p.Column != 4 {
		t.Errorf("Position = %d:%d, want 1:4", p.Line, p.Column)
	}
}

func TestPositionString(t *testing.T) {
	tests := []struct {
		p    Position
		want string
	}{
		{Position{Filename: "a.sock", Line: 3, Column: 7}, "a.sock:3:7"},
		{Position{Line: 1, Column: 1}, "<input>:1:1"},
		{Position{Filename: "a.sock"}, "a.sock"},
		{Position{}, "<input>"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		lines []string // lines 1..n; line n+1 and 0 must be ""
	}{
		{"LF", "one\ntwo\n", []string{"one", "two", ""}},
		{"no final newline", "one\ntwo", []string{"one", "two"}},
		{"CRLF", "one\r\ntwo\r\n", []string{"one", "two", ""}},
		{"CRLF without final newline", "one\r\ntwo", []string{"one", "two"}},
		{"lone CR at end of file", "one\r\ntwo\r", []string{"one", "two"}},
		{"CR inside a line is kept", "a\rb\n", []string{"a\rb", ""}},
		{"empty lines", "\n\r\n\n", []string{"", "", "", ""}},
		{"only CR on a line", "\r\nx", []string{"", "x"}},
		{"empty file", "", []string{""}},
		{"tabs kept", "\ta\t\n", []string{"\ta\t", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFile("l.sock", []byte(tt.src))
			if got := f.LineCount(); got != len(tt.lines) {
				t.Errorf("LineCount() = %d, want %d", got, len(tt.lines))
			}
			for i, want := range tt.lines {
				if got := f.Line(i + 1); got != want {
					t.Errorf("Line(%d) = %q, want %q", i+1, got, want)
				}
			}
			for _, n := range []int{0, -1, len(tt.lines) + 1} {
				if got := f.Line(n); got != "" {
					t.Errorf("Line(%d) = %q, want \"\"", n, got)
				}
			}
		})
	}
}

func TestFileAccessors(t *testing.T) {
	src := []byte("sockhash m\n")
	f := NewFile("f.sock", src)
	if f.Name() != "f.sock" {
		t.Errorf("Name() = %q", f.Name())
	}
	if string(f.Source()) != string(src) {
		t.Errorf("Source() = %q", f.Source())
	}
}

// TestPositionLineAgree checks that the column of every byte indexes the
// text Line returns for its line.
func TestPositionLineAgree(t *testing.T) {
	const src = "on msg to m:\r\n\tif a: drop\r\n    pass\n"
	f := NewFile("a.sock", []byte(src))
	for off := 0; off < len(src); off++ {
		if src[off] == '\r' || src[off] == '\n' {
			continue
		}
		p := f.Position(PosOf(off))
		line := f.Line(p.Line)
		if p.Column-1 >= len(line) || line[p.Column-1] != src[off] {
			t.Fatalf("offset %d (%q) -> %d:%d, but Line(%d) = %q", off, src[off], p.Line, p.Column, p.Line, line)
		}
	}
}
