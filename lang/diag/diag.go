// Package diag holds compiler diagnostics: positioned errors and warnings,
// collected for a whole file and printed as file:line:col: message with the
// source line and a caret under the spot.
package diag

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sockc/sockc/lang/token"
)

// Severity says whether a diagnostic stops compilation.
type Severity int

const (
	// Error makes the compilation fail.
	Error Severity = iota
	// Warning is reported but does not change the result.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one message about one place in a source file.
type Diagnostic struct {
	Pos      token.Position
	End      token.Position // exclusive end of the span; may be invalid
	Severity Severity
	Message  string
	Hint     string // optional advice printed under the caret
	Line     string // the source line of Pos, for the caret display
}

// Error formats d as "file:line:col: message" ("warning: message" for
// warnings), the one-line form.
func (d Diagnostic) Error() string {
	if d.Severity == Warning {
		return fmt.Sprintf("%s: warning: %s", d.Pos, d.Message)
	}
	return fmt.Sprintf("%s: %s", d.Pos, d.Message)
}

// Format writes the one-line form, the source line, a caret line under the
// span and the hint, if any.
func (d Diagnostic) Format(w io.Writer) {
	fmt.Fprintln(w, d.Error())
	if d.Pos.IsValid() {
		line, dd := window(d)
		fmt.Fprintf(w, "    %s\n    %s\n", printable(line), caret(line, dd))
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "    hint: %s\n", d.Hint)
	}
}

// maxShown is how much of a long source line is printed around the spot.
const maxShown = 160

// window cuts a long source line to maxShown bytes around the diagnostic,
// marking the cuts with "...", and moves the columns to match.
func window(d Diagnostic) (string, Diagnostic) {
	if d.Pos.Line == 1 && strings.HasPrefix(d.Line, bom) {
		// The byte order mark is no character of the text: not shown,
		// and the caret not moved by it.
		d.Line = d.Line[len(bom):]
		d.Pos.Column = max(d.Pos.Column-len(bom), 1)
		if d.End.IsValid() && d.End.Line == 1 {
			d.End.Column = max(d.End.Column-len(bom), 1)
		}
	}
	line := d.Line
	if len(line) <= maxShown {
		return line, d
	}
	col := min(max(d.Pos.Column-1, 0), len(line))
	start := max(col-maxShown/2, 0)
	for start > 0 && !utf8.RuneStart(line[start]) {
		start--
	}
	end := min(start+maxShown, len(line))
	for end < len(line) && !utf8.RuneStart(line[end]) {
		end++
	}
	out, shift := line[start:end], start
	if start > 0 {
		out, shift = "..."+out, start-3
	}
	if end < len(line) {
		out += "..."
	}
	d.Pos.Column -= shift
	if d.End.IsValid() && d.End.Line == d.Pos.Line {
		d.End.Column = min(d.End.Column-shift, len(out)+1)
	}
	return out, d
}

// bom is the UTF-8 byte order mark that may start a file.
const bom = "\uFEFF"

// printable replaces every invalid byte and every control character but
// the tab (ESC, CR, NUL, DEL, the C1 controls) with U+FFFD, one for one, so
// that a hostile file cannot send escape sequences to the terminal and the
// caret line (one column per rune or bad byte) stays aligned.
func printable(line string) string {
	var b strings.Builder
	for _, r := range line {
		// range yields RuneError for each invalid byte.
		if r != '\t' && (r < ' ' || r >= 0x7f && r < 0xa0) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// caret builds the marker line: the source prefix with every character but
// tabs blanked (so tabs keep their width), then ^ and ~ to the span's end.
func caret(line string, d Diagnostic) string {
	col := min(max(d.Pos.Column-1, 0), len(line))
	var b strings.Builder
	for _, r := range line[:col] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	if d.End.IsValid() && d.End.Line == d.Pos.Line && d.End.Column-1 > col {
		end := min(d.End.Column-1, len(line))
		if n := utf8.RuneCountInString(line[col:end]) - 1; n > 0 {
			b.WriteString(strings.Repeat("~", n))
		}
	}
	return b.String()
}

// List is every diagnostic of a compilation. As an error it stands for its
// errors; warnings ride along for display.
type List []Diagnostic

// Error returns the first error and how many more there are, like
// go/scanner.ErrorList.
func (l List) Error() string {
	errs := l.Errors()
	switch len(errs) {
	case 0:
		return "no errors"
	case 1:
		return errs[0].Error()
	}
	if len(errs) == 2 {
		return errs[0].Error() + " (and 1 more error)"
	}
	return fmt.Sprintf("%s (and %d more errors)", errs[0].Error(), len(errs)-1)
}

// Errors returns only the diagnostics of severity Error.
func (l List) Errors() List {
	var out List
	for _, d := range l {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns only the diagnostics of severity Warning.
func (l List) Warnings() List {
	var out List
	for _, d := range l {
		if d.Severity == Warning {
			out = append(out, d)
		}
	}
	return out
}

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool { return len(l.Errors()) > 0 }

// Err returns l as an error if it holds at least one error, else nil.
func (l List) Err() error {
	if l.HasErrors() {
		return l
	}
	return nil
}

// Format writes every diagnostic in its long form.
func (l List) Format(w io.Writer) {
	for _, d := range l {
		d.Format(w)
	}
}

// Sort orders the list by file position, keeping the order of
// diagnostics at the same spot.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})
}

// Collector accumulates diagnostics for one file, resolving positions as
// they are reported.
type Collector struct {
	file *token.File
	list List
	seen map[string]bool
}

// NewCollector returns a Collector for f.
func NewCollector(f *token.File) *Collector {
	return &Collector{file: f, seen: map[string]bool{}}
}

// File returns the file diagnostics are resolved against.
func (c *Collector) File() *token.File { return c.file }

// Add records a diagnostic spanning [pos, end); end may be token.NoPos.
// A repeat of the same message at the same spot is dropped.
func (c *Collector) Add(sev Severity, pos, end token.Pos, hint, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := fmt.Sprintf("%d:%d:%s", pos, sev, msg)
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	p := c.file.Position(pos)
	d := Diagnostic{Pos: p, Severity: sev, Message: msg, Hint: hint, Line: c.file.Line(p.Line)}
	if end.IsValid() {
		d.End = c.file.Position(end)
	}
	c.list = append(c.list, d)
}

// Errorf records an error at [pos, end).
func (c *Collector) Errorf(pos, end token.Pos, format string, args ...any) {
	c.Add(Error, pos, end, "", format, args...)
}

// Warnf records a warning at [pos, end).
func (c *Collector) Warnf(pos, end token.Pos, format string, args ...any) {
	c.Add(Warning, pos, end, "", format, args...)
}

// HasErrors reports whether an error has been recorded.
func (c *Collector) HasErrors() bool { return c.list.HasErrors() }

// List returns the diagnostics sorted by position.
func (c *Collector) List() List {
	out := append(List(nil), c.list...)
	out.Sort()
	return out
}
