package token

import "strconv"

// Kind is the class of a scanned token, what the grammar matches on:
// layout (Newline, Indent, Dedent, EOF), words, numbers and punctuation.
// Which keyword, operator or punctuation a token is, its Text says.
type Kind int

// The kinds of token. Invalid is the zero Kind; the scanner never
// returns it.
const (
	Invalid Kind = iota
	EOF          // the end of the file
	Newline      // the end of a line that holds code
	Indent       // the start of an indented block
	Dedent       // the end of an indented block
	Keyword      // a reserved word: on, if, and, sockhash, ...
	Ident        // any other word: names, fields, hook words, types
	Int          // a number, possibly malformed
	IPv4         // a dotted number, possibly malformed
	Punct        // an operator or punctuation, in the grammar or not

	numKinds
)

var kindNames = [numKinds]string{
	Invalid: "Invalid", EOF: "EOF", Newline: "Newline", Indent: "Indent", Dedent: "Dedent",
	Keyword: "Keyword", Ident: "Ident", Int: "Int", IPv4: "IPv4", Punct: "Punct",
}

// String returns the name of the kind as the grammar writes it: "Newline",
// "Ident".
func (k Kind) String() string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Kinds returns the kinds the scanner returns, in a new slice.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := Invalid + 1; k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Token is one token of a scanned file.
type Token struct {
	Kind Kind
	// Text is the token as written. Indent, Dedent and EOF have none; a
	// Newline's is "\n", or "" at the end of a file without a final
	// newline.
	Text string
	// Pos is its first byte. A Newline is at the end of its line, an
	// Indent or Dedent at the first token of the line that opens or
	// closes the block, EOF at the end of the file.
	Pos Pos
}
