// Package format owns the canonical layout of sockc source: it reprints a
// parsed file with fixed indentation and spacing and keeps its comments.
//
// The canonical form (docs/language.md, §14) keeps the author's lines: every
// line of code stays one line, one-line bodies stay one-line and indented
// blocks stay blocks. Within that:
//
//   - blocks are indented with 4 spaces per level; lines end with "\n"
//     (CRLF becomes LF), a leading byte order mark is dropped, and the
//     file ends with exactly one newline (an empty file stays empty);
//   - tokens are separated by single spaces, except: no space before ':'
//     and ',', none inside parentheses, none between key and its '(' in a
//     statement (key(a, b)) but one in a map declaration (key (a, b)), and
//     none inside a CIDR (10.0.0.0/8) or a range (1..2);
//   - literals keep their spelling (0x50, 10.0.0.1) and parentheses stay
//     as written; map options keep their order;
//   - blank lines are kept, runs of them collapsed to one; blank lines at
//     the start and end of the file and right after a line that opens an
//     indented block are dropped;
//   - a comment on a line of its own keeps its place among the lines and
//     is indented as the next line of code, or, at the end of a block, as
//     the deepest enclosing block whose indentation its own reaches;
//   - a trailing comment follows its code after two spaces; the trailing
//     comments of consecutive lines are aligned to the longest of those
//     lines; comment text is kept, without trailing blanks.
//
// Formatting needs a file that parses; it does not type-check it.
package format

import (
	"fmt"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// Source returns the canonical form of the sockc file src. If src does not
// parse, the error is the diag.List of the scanner's and the parser's
// diagnostics, as sockc check reports them; any other error is a bug in
// the formatter, which never returns output that would parse to another
// program.
func Source(filename string, src []byte) (out []byte, err error) {
	defer func() {
		// A panic is a bug in sockc, never the user's fault: report it
		// rather than crash the caller.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("format %s: internal error: %v (please report this with the input file)", filename, r)
		}
	}()
	f := token.NewFile(filename, src)
	errs := diag.NewCollector(f)
	file := parser.ParseFile(f, errs)
	if errs.HasErrors() {
		return nil, errs.List()
	}
	p := &printer{file: f}
	for _, d := range file.Decls {
		if err := p.decl(d); err != nil {
			return nil, fmt.Errorf("format %s: internal error: %w", filename, err)
		}
	}
	out, err = layout(f, p.lines, file.Comments)
	if err != nil {
		return nil, fmt.Errorf("format %s: internal error: %w", filename, err)
	}
	if err := sameTokens(filename, src, out); err != nil {
		return nil, fmt.Errorf("format %s: internal error: %w (please report this with the input file)", filename, err)
	}
	return out, nil
}
