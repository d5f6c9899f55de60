package scanner

import (
	"strings"
	"unicode/utf8"
)

// rawKind is the class of a raw lexeme, before layout is considered.
type rawKind int

const (
	rawComment rawKind = iota // # to the end of the line
	rawNewline                // \n or \r\n
	rawSpace                  // blanks, tabs and lone \r
	rawNumber                 // a number or dotted address, possibly malformed
	rawWord                   // a keyword or name
	rawPunct                  // an operator or punctuation
	rawInvalid                // one character no rule takes
	rawBareCR                 // a \r that ends a line (old Mac files only)
	rawString                 // a quoted string, which sockc does not have
)

// twoCharPuncts are the punctuation tokens of two characters; they take
// precedence over their first character alone.
var twoCharPuncts = [...]string{"==", "!=", "<=", ">=", "<<", ">>", "..", "&&", "||"}

// nextRaw classifies the lexeme at the start of s (non-empty) and returns
// its length in bytes. macEOL is set for a file with old Mac line endings
// (see macLineEndings): in it, a \r followed by more than blanks ends a
// line, as \n does in any other file, where a \r is a blank. The rules,
// tried in this order, are:
//
//	Comment  #[^\n]*, or #[^\r]* when macEOL
//	Newline  \r?\n
//	BareCR   \r when macEOL and more than blanks follow it
//	Space    [ \t\r]+ (otherwise)
//	String   "[^"\n\r]*"? or '[^'\n\r]*'? (a backslash escapes one byte)
//	Number   [0-9][0-9A-Za-z_]*(\.[0-9A-Za-z_]+)*
//	Word     [A-Za-z_][A-Za-z0-9_]*
//	Punct    == != <= >= << >> .. && || or one of -+&|^<>():,/=!.*%[]{};
//	Invalid  one character (one byte of an invalid UTF-8 sequence)
//
// Every byte is taken by some rule, so scanning never stops early. It is
// written by hand rather than with regular expressions: it runs once per
// token of every file, hostile ones of half a megabyte included.
func nextRaw(s string, macEOL bool) (rawKind, int) {
	c := s[0]
	switch {
	case c == '#':
		// In a file with old Mac line endings a comment ends at a \r,
		// or the rest of the file would be one long comment.
		n := 1
		for n < len(s) && s[n] != '\n' && (s[n] != '\r' || !macEOL) {
			n++
		}
		return rawComment, n
	case c == '\n':
		return rawNewline, 1
	case c == '\r' && len(s) > 1 && s[1] == '\n':
		return rawNewline, 2
	case c == ' ' || c == '\t' || c == '\r':
		n := 1
		for n < len(s) && (s[n] == ' ' || s[n] == '\t' || s[n] == '\r') {
			n++
		}
		if macEOL && n < len(s) {
			// Something follows: a \r among the blanks breaks the
			// line there. The blanks before the last \r are trailing
			// blanks; the ones after it, indentation.
			if i := strings.LastIndexByte(s[:n], '\r'); i > 0 {
				return rawSpace, i
			} else if i == 0 {
				return rawBareCR, 1
			}
		}
		return rawSpace, n
	case c == '"' || c == '\'':
		return rawString, quoted(s)
	case isDigit(c):
		n := alnums(s, 1)
		for n+1 < len(s) && s[n] == '.' && isAlnum(s[n+1]) {
			n = alnums(s, n+1)
		}
		return rawNumber, n
	case isLetter(c):
		return rawWord, alnums(s, 1)
	}
	for _, p := range twoCharPuncts {
		if len(s) >= 2 && s[:2] == p {
			return rawPunct, 2
		}
	}
	switch c {
	case '-', '+', '&', '|', '^', '<', '>', '(', ')', ':', ',', '/', '=', '!', '.', '*', '%', '[', ']', '{', '}', ';':
		return rawPunct, 1
	}
	_, size := utf8.DecodeRuneInString(s)
	return rawInvalid, size
}

// macLineEndings reports whether src ends its lines the way classic Mac OS
// did, with \r alone: it has no \n at all, and a \r followed by more than
// blanks. In a file with \n, a \r inside a line is a blank, as §2.3 of
// the language reference has it.
func macLineEndings(src string) bool {
	if strings.IndexByte(src, '\n') >= 0 {
		return false
	}
	i := strings.IndexByte(src, '\r')
	return i >= 0 && strings.TrimLeft(src[i:], " \t\r") != ""
}

// quoted returns the length of the quoted string at the start of s: up to
// and including the closing quote, or up to the end of the line when it is
// not closed. A backslash takes the byte after it, unless that ends the
// line.
func quoted(s string) int {
	q := s[0]
	for n := 1; n < len(s); n++ {
		switch s[n] {
		case q:
			return n + 1
		case '\n', '\r':
			return n
		case '\\':
			if n+1 < len(s) && s[n+1] != '\n' && s[n+1] != '\r' {
				n++
			}
		}
	}
	return len(s)
}

// alnums returns the end of the run of [0-9A-Za-z_] in s that starts at i.
func alnums(s string, i int) int {
	for i < len(s) && isAlnum(s[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
