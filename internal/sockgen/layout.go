package sockgen

import (
	"bytes"
	"math/rand/v2"
	"strings"
)

// layout writes tokens as source text, varying everything the language
// leaves free: blanks between tokens, indentation, comments, blank lines,
// line endings, a byte order mark.
type layout struct {
	r   *rand.Rand
	buf bytes.Buffer
	eol string
}

func newLayout(r *rand.Rand) *layout {
	l := &layout{r: r, eol: "\n"}
	if r.IntN(6) == 0 {
		l.eol = "\r\n"
	}
	if r.IntN(30) == 0 {
		l.buf.WriteString("\uFEFF")
	}
	return l
}

// wordy reports whether b is part of a name, number or keyword, which a
// neighbouring word would merge with.
func wordy(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// glued lists punctuation pairs that would scan as another token.
var glued = []string{"==", "!=", "<=", ">=", "<<", ">>", "..", "&&", "||", "./", "/."}

// sep is the blank between two tokens: required between words, optional
// elsewhere.
func (l *layout) sep(prev, next string) string {
	a, b := prev[len(prev)-1], next[0]
	need := wordy(a) && wordy(b) || containsStr(glued, string([]byte{a, b}))
	switch n := l.r.IntN(40); {
	case n == 0:
		return "\t"
	case n == 1:
		return " \r " // a carriage return is a blank inside a line
	case n < 4:
		return strings.Repeat(" ", 2+l.r.IntN(3))
	case n < 14 && !need:
		return ""
	}
	return " "
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (l *layout) text(toks []string) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteString(l.sep(toks[i-1], t))
		}
		b.WriteString(t)
	}
	return b.String()
}

// line writes one line of code, sometimes with a comment after it.
func (l *layout) line(indent string, toks []string) {
	l.buf.WriteString(indent)
	l.buf.WriteString(l.text(toks))
	switch l.r.IntN(12) {
	case 0:
		l.buf.WriteString(l.blanks())
		l.buf.WriteString(l.comment())
	case 1:
		l.buf.WriteString(l.blanks())
	}
	l.buf.WriteString(l.eol)
}

// blanks is a run of blanks, possibly empty, possibly mixing tabs and
// spaces.
func (l *layout) blanks() string {
	var b strings.Builder
	for range l.r.IntN(4) {
		b.WriteByte(" \t"[l.r.IntN(2)])
	}
	return b.String()
}

// commentRunes are what comment text is made of: anything but a line
// break, NUL and a byte order mark.
var commentRunes = []rune("abcxyz _#:()=<>&|!*%.,;'\"`$@\t\\é≥→中")

func (l *layout) comment() string {
	var b strings.Builder
	b.WriteByte('#')
	for range l.r.IntN(24) {
		b.WriteRune(commentRunes[l.r.IntN(len(commentRunes))])
	}
	return b.String()
}

// filler sometimes writes blank lines and comment lines, which take no
// part in indentation whatever blanks start them.
func (l *layout) filler() {
	for l.r.IntN(10) == 0 {
		l.buf.WriteString(l.blanks())
		if l.r.IntN(2) == 0 {
			l.buf.WriteString(l.comment())
		}
		l.buf.WriteString(l.eol)
	}
}

// indentUnit is how far a nested block is indented: tabs or spaces, as
// the handler uses, by a varying amount.
func (l *layout) indentUnit(tabs bool) string {
	if tabs {
		return strings.Repeat("\t", 1+l.r.IntN(2))
	}
	return strings.Repeat(" ", 1+l.r.IntN(8))
}

// bytes returns the text, sometimes without the last line ending.
func (l *layout) bytes() []byte {
	out := l.buf.Bytes()
	if l.r.IntN(20) == 0 {
		out = bytes.TrimSuffix(out, []byte(l.eol))
	}
	return out
}
