// Package scanner turns sockc source into tokens for the parser: it
// classifies lexemes and synthesizes Newline, Indent and Dedent tokens from
// the layout of the lines, with a stack of open indentation levels.
package scanner

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// keywords are the reserved words; every other word is an identifier (map
// names, fields, hook words such as msg or established, type names).
var keywords = []string{
	"on", "to", "if", "else", "and", "or", "not", "in",
	"redirect", "peer", "ingress", "pass", "drop", "apply", "cork",
	"length", "update", "count", "key", "max", "sockmap", "sockhash",
}

// Keywords returns the reserved words, in a new slice the caller may
// change; every other word is an identifier (map names, fields, hook words
// such as msg or established, type names).
func Keywords() []string { return slices.Clone(keywords) }

// IsKeyword reports whether s is reserved.
func IsKeyword(s string) bool {
	for _, k := range keywords {
		if k == s {
			return true
		}
	}
	return false
}

// Comment is a '#' comment, kept for tools that rewrite source.
type Comment struct {
	Pos  token.Pos
	Text string // including the leading '#'
}

// Result is a scanned file.
type Result struct {
	Tokens   []token.Token // ends with the one EOF token
	Comments []Comment
}

// Scan tokenizes f, reporting lexical and indentation errors to errs. It
// always returns a complete token stream so that parsing can go on.
func Scan(f *token.File, errs *diag.Collector) Result {
	// Most tokens take two bytes or more with the space after them;
	// sizing the slice once saves regrowing it on a long file.
	s := &scanner{file: f, errs: errs, levels: []string{""}, out: make([]token.Token, 0, len(f.Source())/4+16)}
	if s.checkBinary() {
		// An image or an executable: its bytes would give dozens of
		// errors that say nothing more than this one.
		s.emit(token.EOF, "", 0)
		return Result{Tokens: s.out}
	}
	s.checkEncoding()
	s.run()
	return Result{Tokens: s.out, Comments: s.comments}
}

type scanner struct {
	file     *token.File
	errs     *diag.Collector
	out      []token.Token
	comments []Comment
	levels   []string // the indentation strings of open blocks; levels[0] == ""
}

// maxEncodingErrors bounds the reports for a file full of binary junk.
const maxEncodingErrors = 10

func (s *scanner) checkEncoding() {
	src := s.file.Source()
	n := 0
	for i := 0; i < len(src) && n < maxEncodingErrors; {
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			s.errs.Errorf(token.PosOf(i), token.NoPos, "invalid UTF-8 encoding")
			n++
		case r == 0:
			s.errs.Errorf(token.PosOf(i), token.NoPos, "invalid NUL character")
			n++
		case r == '\uFEFF' && i > 0:
			s.errs.Errorf(token.PosOf(i), token.NoPos, "invalid BOM in the middle of the file")
			n++
		}
		i += size
	}
}

func (s *scanner) run() {
	src := string(s.file.Source())
	start := 0
	if strings.HasPrefix(src, "\uFEFF") {
		start = 3
	}
	atLineStart := true
	lineHasContent := false
	indent, indentOff := "", start
	badChars := 0
	macEOL := macLineEndings(src)
	bareCR := false // a bare \r has been reported
	for off := start; off < len(src); {
		kind, n := nextRaw(src[off:], macEOL)
		value := src[off : off+n]
		at := off
		off += n
		switch kind {
		case rawSpace:
			if atLineStart {
				indent, indentOff = value, at
			}
			continue
		case rawComment:
			s.comments = append(s.comments, Comment{Pos: token.PosOf(at), Text: strings.TrimRight(value, "\r")})
			continue
		case rawBareCR:
			if !bareCR {
				s.errs.Add(diag.Error, token.PosOf(at), token.PosOf(at+n),
					"convert the line endings, e.g. with: tr '\\r' '\\n' < old.sock > new.sock",
					"line ends with a bare CR (old Mac line ending); sockc wants LF or CRLF")
				bareCR = true
			}
			// Reported once; the rest of the file is read with the
			// bare \r as the line ending it was meant to be.
			fallthrough
		case rawNewline:
			if lineHasContent {
				s.emit(token.Newline, "\n", at)
			}
			atLineStart, lineHasContent = true, false
			indent, indentOff = "", off
			continue
		case rawInvalid:
			// An invalid byte sequence or NUL was reported by
			// checkEncoding; anything else is reported here. Either way
			// the character counts as the line's content, so that the
			// space after it is not taken for indentation.
			r, size := utf8.DecodeRuneInString(value)
			encodingErr := r == utf8.RuneError && size == 1 || r == 0 || r == '\uFEFF'
			if badChars < maxEncodingErrors && !encodingErr {
				s.errs.Errorf(token.PosOf(at), token.NoPos, "invalid character %s", describeRune(r))
				badChars++
			}
			if atLineStart {
				s.layout(indent, indentOff, at)
				atLineStart = false
			}
			continue
		}
		if kind == rawString {
			tok, ok := s.stringLiteral(value, at, badChars < maxEncodingErrors)
			badChars++
			if !ok {
				// Nothing to stand in for it: like an invalid
				// character, it is no token but counts as content.
				if atLineStart {
					s.layout(indent, indentOff, at)
					atLineStart = false
				}
				continue
			}
			kind, value, at = tok, value[1:len(value)-1], at+1
		}
		if atLineStart {
			s.layout(indent, indentOff, at)
			atLineStart = false
		}
		lineHasContent = true
		switch kind {
		case rawWord:
			if IsKeyword(value) {
				s.emit(token.Keyword, value, at)
			} else {
				s.emit(token.Ident, value, at)
			}
		case rawNumber:
			if strings.Contains(value, ".") {
				s.emit(token.IPv4, value, at)
			} else {
				s.emit(token.Int, value, at)
			}
		default:
			s.emit(token.Punct, value, at)
		}
	}
	end := len(src)
	if lineHasContent {
		s.emit(token.Newline, "", end)
	}
	for len(s.levels) > 1 {
		s.levels = s.levels[:len(s.levels)-1]
		s.emit(token.Dedent, "", end)
	}
	s.emit(token.EOF, "", end)
}

// layout compares the indentation of a line whose first token is at off with
// the open levels and emits Indent or Dedent tokens. Levels are compared as
// strings, so that tabs and spaces never silently count as equal; after an
// indentation error it goes by width (a tab counts 8) to keep parsing
// without piling up follow-on errors.
func (s *scanner) layout(indent string, indentOff, off int) {
	top := s.levels[len(s.levels)-1]
	mixed := isMixed(indent)
	if mixed {
		s.errs.Add(diag.Error, token.PosOf(indentOff), token.PosOf(off),
			"indent a block with either tabs or spaces, not both",
			"indentation mixes tabs and spaces")
	}
	switch {
	case indent == top:
		return
	case strings.HasPrefix(indent, top):
		s.push(indent, off)
		return
	case strings.HasPrefix(top, indent):
		s.popTo(indent, off)
		if s.levels[len(s.levels)-1] != indent && !mixed {
			s.errs.Errorf(token.PosOf(indentOff), token.PosOf(off),
				"unindent does not match any outer indentation level")
		}
		return
	}
	// Neither is a prefix of the other: the line and its block disagree on
	// tabs versus spaces.
	if !mixed && !isMixed(top) {
		s.errs.Add(diag.Error, token.PosOf(indentOff), token.PosOf(off),
			"indent a block with either tabs or spaces, not both",
			"mixed indentation: this line is indented with %s, its block with %s", kind(indent), kind(top))
	}
	// Most often an editor mixed the two inside one block: take the line
	// as part of the current block, whose indentation stays the reference.
}

func (s *scanner) push(indent string, off int) {
	s.levels = append(s.levels, indent)
	s.emit(token.Indent, "", off)
}

// popTo closes the levels deeper than indent.
func (s *scanner) popTo(indent string, off int) {
	w := width(indent)
	for len(s.levels) > 1 && width(s.levels[len(s.levels)-1]) > w {
		s.levels = s.levels[:len(s.levels)-1]
		s.emit(token.Dedent, "", off)
	}
	if width(s.levels[len(s.levels)-1]) == w && s.levels[len(s.levels)-1] != indent && (isMixed(indent) || kind(indent) != kind(s.levels[len(s.levels)-1])) {
		// Same width, other characters: already reported; adopt it.
		s.levels[len(s.levels)-1] = indent
	}
}

func isMixed(indent string) bool {
	return strings.Contains(indent, " ") && strings.Contains(indent, "\t")
}

// width is the column an indentation reaches, a tab counting 8.
func width(indent string) int {
	w := 0
	for _, c := range indent {
		if c == '\t' {
			w += 8 - w%8
		} else {
			w++
		}
	}
	return w
}

func kind(indent string) string {
	switch {
	case strings.Contains(indent, " ") && strings.Contains(indent, "\t"):
		return "tabs and spaces"
	case strings.Contains(indent, "\t"):
		return "tabs"
	}
	return "spaces"
}

func (s *scanner) emit(kind token.Kind, text string, off int) {
	s.out = append(s.out, token.Token{Kind: kind, Text: text, Pos: token.PosOf(off)})
}

func describeRune(r rune) string {
	if r < ' ' || r == 0x7f {
		return fmt.Sprintf("U+%04X", r)
	}
	return fmt.Sprintf("%q (U+%04X)", r, r)
}
