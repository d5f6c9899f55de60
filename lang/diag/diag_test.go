package diag

import (
	"errors"
	"strings"
	"testing"

	_ "github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/lang/token"
)

func pos(line, col int) token.Position {
	return token.Position{Filename: "f.sock", Line: line, Column: col}
}

func TestSeverityString(t *testing.T) {
	if got := Error.String(); got != "error" {
		t.Errorf("Error.String() = %q", got)
	}
	if got := Warning.String(); got != "warning" {
		t.Errorf("Warning.String() = %q", got)
	}
}

func TestDiagnosticError(t *testing.T) {
	tests := []struct {
		name string
		d    Diagnostic
		want string
	}{
		{"error", Diagnostic{Pos: pos(3, 7), Message: "unknown map m"}, "f.sock:3:7: unknown map m"},
		{"warning", Diagnostic{Pos: pos(1, 1), Severity: Warning, Message: "unreachable statement"}, "f.sock:1:1: warning: unreachable statement"},
		{"no position", Diagnostic{Pos: token.Position{Filename: "f.sock"}, Message: "internal"}, "f.sock: internal"},
		{"no file name", Diagnostic{Pos: token.Position{Line: 2, Column: 4}, Message: "m"}, "<input>:2:4: m"},
		{"hint and line are not in the one-line form", Diagnostic{Pos: pos(1, 2), Message: "m", Hint: "h", Line: "src"}, "f.sock:1:2: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func format(d Diagnostic) string {
	var b strings.Builder
	d.Format(&b)
	return b.String()
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		d    Diagnostic
		want string
	}{
		{
			name: "caret at column 1",
			d:    Diagnostic{Pos: pos(1, 1), Message: "m", Line: "abc"},
			want: "f.sock:1:1: m\n    abc\n    ^\n",
		},
		{
			name: "caret under the column",
			d:    Diagnostic{Pos: pos(2, 5), Message: "m", Line: "if a = b"},
			want: "f.sock:2:5: m\n    if a = b\n        ^\n",
		},
		{
			name: "tabs in the prefix are kept",
			d:    Diagnostic{Pos: pos(1, 4), Message: "m", Line: "\t\tx= y"},
			want: "f.sock:1:4: m\n    \t\tx= y\n    \t\t ^\n",
		},
		{
			name: "tab after text is kept",
			d:    Diagnostic{Pos: pos(1, 3), Message: "m", Line: "a\tbc"},
			want: "f.sock:1:3: m\n    a\tbc\n     \t^\n",
		},
		{
			name: "span underlined with ~",
			d:    Diagnostic{Pos: pos(1, 4), End: pos(1, 9), Message: "m", Line: "on stream x"},
			want: "f.sock:1:4: m\n    on stream x\n       ^~~~~\n",
		},
		{
			name: "one-byte span has no ~",
			d:    Diagnostic{Pos: pos(1, 2), End: pos(1, 3), Message: "m", Line: "a$b"},
			want: "f.sock:1:2: m\n    a$b\n     ^\n",
		},
		{
			name: "empty span has no ~",
			d:    Diagnostic{Pos: pos(1, 2), End: pos(1, 2), Message: "m", Line: "ab"},
			want: "f.sock:1:2: m\n    ab\n     ^\n",
		},
		{
			name: "span ending on another line has no ~",
			d:    Diagnostic{Pos: pos(1, 2), End: pos(2, 3), Message: "m", Line: "abcdef"},
			want: "f.sock:1:2: m\n    abcdef\n     ^\n",
		},
		{
			name: "span past the end of the line is cut at the line",
			d:    Diagnostic{Pos: pos(1, 3), End: pos(1, 40), Message: "m", Line: "abcd"},
			want: "f.sock:1:3: m\n    abcd\n      ^~\n",
		},
		{
			name: "span over multibyte text counts characters",
			d:    Diagnostic{Pos: pos(1, 1), End: pos(1, 5), Message: "m", Line: "éé x"},
			want: "f.sock:1:1: m\n    éé x\n    ^~\n",
		},
		{
			name: "multibyte prefix takes one space per character",
			d:    Diagnostic{Pos: pos(1, 4), Message: "m", Line: "é $"},
			want: "f.sock:1:4: m\n    é $\n      ^\n",
		},
		{
			name: "caret at end of line",
			d:    Diagnostic{Pos: pos(1, 4), Message: "expected x, found end of line", Line: "abc"},
			want: "f.sock:1:4: expected x, found end of line\n    abc\n       ^\n",
		},
		{
			name: "column past the line is clamped",
			d:    Diagnostic{Pos: pos(1, 10), Message: "m", Line: "abc"},
			want: "f.sock:1:10: m\n    abc\n       ^\n",
		},
		{
			name: "hint line",
			d:    Diagnostic{Pos: pos(1, 6), End: pos(1, 7), Message: "m", Hint: "use == to compare", Line: "if a = b"},
			want: "f.sock:1:6: m\n    if a = b\n         ^\n    hint: use == to compare\n",
		},
		{
			name: "warning",
			d:    Diagnostic{Pos: pos(1, 1), End: pos(1, 5), Severity: Warning, Message: "unreachable statement", Line: "pass"},
			want: "f.sock:1:1: warning: unreachable statement\n    pass\n    ^~~~\n",
		},
		{
			name: "no position: no source line, hint still printed",
			d:    Diagnostic{Pos: token.Position{Filename: "f.sock"}, Message: "internal", Hint: "report it"},
			want: "f.sock: internal\n    hint: report it\n",
		},
		{
			name: "invalid UTF-8 after the caret is replaced",
			d:    Diagnostic{Pos: pos(1, 1), Message: "m", Line: "a\xffb"},
			want: "f.sock:1:1: m\n    a\uFFFDb\n    ^\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := format(tt.d); got != tt.want {
				t.Errorf("Format:\n%s\nwant:\n%s\n(got %q)", got, tt.want, got)
			}
		})
	}
}

// TestFormatCaretAfterInvalidUTF8 checks that the caret stays under its
// character when invalid bytes before it are shown as U+FFFD.
func TestFormatCaretAfterInvalidUTF8(t *testing.T) {
	// "\xff\xfe" is two invalid bytes: the line shows one U+FFFD for each,
	// so the caret line (one blank per byte) stays under the '$' at byte
	// column 4.
	d := Diagnostic{Pos: pos(1, 4), Message: "m", Line: "\xff\xfe $"}
	want := "f.sock:1:4: m\n    \uFFFD\uFFFD $\n       ^\n"
	if got := format(d); got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
}

func TestListError(t *testing.T) {
	e1 := Diagnostic{Pos: pos(1, 1), Message: "first"}
	e2 := Diagnostic{Pos: pos(2, 1), Message: "second"}
	e3 := Diagnostic{Pos: pos(3, 1), Message: "third"}
	w := Diagnostic{Pos: pos(1, 1), Severity: Warning, Message: "careful"}
	tests := []struct {
		name string
		l    List
		want string
	}{
		{"empty", nil, "no errors"},
		{"warnings only", List{w}, "no errors"},
		{"one error", List{e1}, "f.sock:1:1: first"},
		{"two errors", List{e1, e2}, "f.sock:1:1: first (and 1 more error)"},
		{"three errors", List{e1, e2, e3}, "f.sock:1:1: first (and 2 more errors)"},
		{"warnings are not counted", List{w, e2, w, e3}, "f.sock:2:1: second (and 1 more error)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestListErrAndFilters(t *testing.T) {
	e := Diagnostic{Pos: pos(2, 1), Message: "bad"}
	w := Diagnostic{Pos: pos(1, 1), Severity: Warning, Message: "careful"}
	tests := []struct {
		name              string
		l                 List
		errs, warns       int
		hasErrors, errNil bool
	}{
		{"nil", nil, 0, 0, false, true},
		{"warnings only", List{w, w}, 0, 2, false, true},
		{"error only", List{e}, 1, 0, true, false},
		{"mixed", List{w, e, w}, 1, 2, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(tt.l.Errors()); got != tt.errs {
				t.Errorf("len(Errors()) = %d, want %d", got, tt.errs)
			}
			if got := len(tt.l.Warnings()); got != tt.warns {
				t.Errorf("len(Warnings()) = %d, want %d", got, tt.warns)
			}
			for _, d := range tt.l.Errors() {
				if d.Severity != Error {
					t.Errorf("Errors() holds a %v", d.Severity)
				}
			}
			for _, d := range tt.l.Warnings() {
				if d.Severity != Warning {
					t.Errorf("Warnings() holds a %v", d.Severity)
				}
			}
			if got := tt.l.HasErrors(); got != tt.hasErrors {
				t.Errorf("HasErrors() = %v, want %v", got, tt.hasErrors)
			}
			err := tt.l.Err()
			if (err == nil) != tt.errNil {
				t.Fatalf("Err() = %v, want nil: %v", err, tt.errNil)
			}
			if err != nil {
				var l List
				if !errors.As(err, &l) || len(l) != len(tt.l) {
					t.Errorf("Err() = %#v, want the whole list as a List", err)
				}
			}
		})
	}
}

func TestListFormat(t *testing.T) {
	l := List{
		{Pos: pos(1, 1), Message: "a", Line: "x"},
		{Pos: pos(2, 2), Severity: Warning, Message: "b", Line: "yz", Hint: "h"},
	}
	var b strings.Builder
	l.Format(&b)
	want := "f.sock:1:1: a\n    x\n    ^\nf.sock:2:2: warning: b\n    yz\n     ^\n    hint: h\n"
	if b.String() != want {
		t.Errorf("Format = %q, want %q", b.String(), want)
	}
}

func TestSort(t *testing.T) {
	at := func(file string, off int, msg string) Diagnostic {
		return Diagnostic{Pos: token.Position{Filename: file, Offset: off, Line: 1, Column: off + 1}, Message: msg}
	}
	l := List{
		at("b.sock", 0, "b0"),
		at("a.sock", 9, "a9-first"),
		at("a.sock", 3, "a3-first"),
		at("a.sock", 9, "a9-second"),
		at("a.sock", 3, "a3-second"),
		at("a.sock", 9, "a9-third"),
		at("a.sock", 0, "a0"),
	}
	l.Sort()
	want := []string{"a0", "a3-first", "a3-second", "a9-first", "a9-second", "a9-third", "b0"}
	for i, d := range l {
		if d.Message != want[i] {
			t.Fatalf("after Sort, [%d] = %s, want %s (order %v)", i, d.Message, want[i], messages(l))
		}
	}
}

func messages(l List) []string {
	var out []string
	for _, d := range l {
		out = append(out, d.Message)
	}
	return out
}

func TestCollector(t *testing.T) {
	const src = "sockhash m\n\ton msg to m: drop\r\nlast"
	f := token.NewFile("c.sock", []byte(src))
	c := NewCollector(f)
	if c.File() != f {
		t.Fatal("File() is not the file given to NewCollector")
	}
	if c.HasErrors() || len(c.List()) != 0 {
		t.Fatal("new collector is not empty")
	}
	drop := strings.Index(src, "drop")
	last := strings.Index(src, "last")
	c.Warnf(token.PosOf(last), token.NoPos, "warn %d", 1)
	if c.HasErrors() {
		t.Error("HasErrors() after a warning only")
	}
	c.Errorf(token.PosOf(drop), token.PosOf(drop+4), "drop %s", "here")
	c.Add(Error, token.PosOf(0), token.PosOf(8), "a hint", "first %s", "item")
	if !c.HasErrors() {
		t.Error("HasErrors() = false after Errorf")
	}
	got := c.List()
	want := List{
		{Pos: token.Position{Filename: "c.sock", Offset: 0, Line: 1, Column: 1},
			End:     token.Position{Filename: "c.sock", Offset: 8, Line: 1, Column: 9},
			Message: "first item", Hint: "a hint", Line: "sockhash m"},
		{Pos: token.Position{Filename: "c.sock", Offset: drop, Line: 2, Column: 15},
			End:     token.Position{Filename: "c.sock", Offset: drop + 4, Line: 2, Column: 19},
			Message: "drop here", Line: "\ton msg to m: drop"},
		{Pos: token.Position{Filename: "c.sock", Offset: last, Line: 3, Column: 1},
			Severity: Warning, Message: "warn 1", Line: "last"},
	}
	if len(got) != len(want) {
		t.Fatalf("List() has %d diagnostics, want %d: %v", len(got), len(want), messages(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("List()[%d] =\n  %+v\nwant\n  %+v", i, got[i], want[i])
		}
	}
	// List returns a copy: sorting or changing it does not touch c.
	got[0].Message = "changed"
	if c.List()[0].Message != "first item" {
		t.Error("List() shares its backing array with the collector")
	}
}

func TestCollectorDedupe(t *testing.T) {
	f := token.NewFile("d.sock", []byte("abc def\n"))
	tests := []struct {
		name string
		add  func(c *Collector)
		want int
	}{
		{"same message same spot", func(c *Collector) {
			c.Errorf(token.PosOf(4), token.NoPos, "bad %s", "x")
			c.Errorf(token.PosOf(4), token.NoPos, "bad x")
		}, 1},
		{"same message same spot, other end", func(c *Collector) {
			c.Errorf(token.PosOf(4), token.PosOf(5), "bad")
			c.Errorf(token.PosOf(4), token.PosOf(7), "bad")
		}, 1},
		{"same message, other spot", func(c *Collector) {
			c.Errorf(token.PosOf(0), token.NoPos, "bad")
			c.Errorf(token.PosOf(4), token.NoPos, "bad")
		}, 2},
		{"other message, same spot", func(c *Collector) {
			c.Errorf(token.PosOf(4), token.NoPos, "bad")
			c.Errorf(token.PosOf(4), token.NoPos, "worse")
		}, 2},
		{"same message, other severity", func(c *Collector) {
			c.Errorf(token.PosOf(4), token.NoPos, "bad")
			c.Warnf(token.PosOf(4), token.NoPos, "bad")
		}, 2},
		{"same message, other hint is still a repeat", func(c *Collector) {
			c.Add(Error, token.PosOf(4), token.NoPos, "h1", "bad")
			c.Add(Error, token.PosOf(4), token.NoPos, "h2", "bad")
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector(f)
			tt.add(c)
			if got := len(c.List()); got != tt.want {
				t.Errorf("%d diagnostics, want %d: %v", got, tt.want, messages(c.List()))
			}
		})
	}
}

func TestCollectorNoPos(t *testing.T) {
	f := token.NewFile("n.sock", []byte("x\n"))
	c := NewCollector(f)
	c.Errorf(token.NoPos, token.NoPos, "internal error")
	l := c.List()
	if len(l) != 1 {
		t.Fatalf("got %d diagnostics", len(l))
	}
	d := l[0]
	if d.Pos.IsValid() || d.End.IsValid() || d.Line != "" {
		t.Errorf("diagnostic without position = %+v", d)
	}
	if got := d.Error(); got != "n.sock: internal error" {
		t.Errorf("Error() = %q", got)
	}
	if got := format(d); got != "n.sock: internal error\n" {
		t.Errorf("Format = %q", got)
	}
}

func TestCollectorListSorted(t *testing.T) {
	f := token.NewFile("s.sock", []byte("aaaa\nbbbb\ncccc\n"))
	c := NewCollector(f)
	c.Errorf(token.PosOf(10), token.NoPos, "c")
	c.Errorf(token.PosOf(0), token.NoPos, "a1")
	c.Warnf(token.PosOf(5), token.NoPos, "b")
	c.Errorf(token.PosOf(0), token.NoPos, "a2")
	if got, want := strings.Join(messages(c.List()), " "), "a1 a2 b c"; got != want {
		t.Errorf("List() order = %s, want %s", got, want)
	}
}

// TestFormatLongLineWindow: a long source line is cut to a window around
// the spot, and the caret still points at it.
func TestFormatLongLineWindow(t *testing.T) {
	line := strings.Repeat("a", 500) + "$" + strings.Repeat("b", 500)
	d := Diagnostic{Pos: pos(1, 501), Message: "m", Line: line}
	got := format(d)
	lines := strings.Split(got, "\n")
	if len(lines) < 3 {
		t.Fatalf("Format = %q", got)
	}
	src, car := strings.TrimPrefix(lines[1], "    "), strings.TrimPrefix(lines[2], "    ")
	if len(src) > maxShown+6 || !strings.HasPrefix(src, "...") || !strings.HasSuffix(src, "...") {
		t.Errorf("source line not windowed: %d bytes %q", len(src), src)
	}
	if i := strings.Index(car, "^"); i < 0 || src[i] != '$' {
		t.Errorf("caret at %d does not point at '$' in %q", i, src)
	}
}
