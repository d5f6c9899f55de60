package scanner

import "unicode/utf8"

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
)

// twoCharPuncts are the punctuation tokens of two characters; they take
// precedence over their first character alone.
var twoCharPuncts = [...]string{"==", "!=", "<=", ">=", "<<", ">>", "..", "&&", "||"}

// nextRaw classifies the lexeme at the start of s (non-empty) and returns
// its length in bytes. The rules, tried in this order, are:
//
//	Comment  #[^\n]*
//	Newline  \r?\n
//	Space    [ \t\r]+
//	Number   [0-9][0-9A-Za-z_]*(\.[0-9A-Za-z_]+)*
//	Word     [A-Za-z_][A-Za-z0-9_]*
//	Punct    == != <= >= << >> .. && || or one of -+&|^<>():,/=!.*%[]{};
//	Invalid  one character (one byte of an invalid UTF-8 sequence)
//
// Every byte is taken by some rule, so scanning never stops early. It is
// written by hand rather than with regular expressions: it runs once per
// token of every file, hostile ones of half a megabyte included.
func nextRaw(s string) (rawKind, int) {
	c := s[0]
	switch {
	case c == '#':
		n := 1
		for n < len(s) && s[n] != '\n' {
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
		return rawSpace, n
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
