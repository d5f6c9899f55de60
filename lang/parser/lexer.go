package parser

import (
	"fmt"
	"io"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// participle's side of the scanner: the token types its grammar matches
// on, one per token.Kind and named as the kind is, and the conversion of
// the scanner's tokens into participle's. participle's types stay in this
// package; the scanner and the rest of sockc use lang/token's.

// The participle token types of the scanner's kinds. EOF is participle's.
const (
	tEOF     = lexer.EOF
	tNewline = lexer.TokenType(-(iota + 2))
	tIndent
	tDedent
	tKeyword
	tIdent
	tInt
	tIPv4
	tPunct
)

// lexTypes maps each token.Kind to its participle type.
var lexTypes = map[token.Kind]lexer.TokenType{
	token.EOF:     tEOF,
	token.Newline: tNewline,
	token.Indent:  tIndent,
	token.Dedent:  tDedent,
	token.Keyword: tKeyword,
	token.Ident:   tIdent,
	token.Int:     tInt,
	token.IPv4:    tIPv4,
	token.Punct:   tPunct,
}

// symbols names the types for the grammar (Newline, Ident, ...) and for
// participle's messages (<newline>, <ident>, ...), by the names of the
// kinds.
var symbols = func() map[string]lexer.TokenType {
	m := map[string]lexer.TokenType{}
	for k, t := range lexTypes {
		m[k.String()] = t
	}
	return m
}()

// lexTokens converts the scanner's tokens into participle's, with the
// line and column that participle's errors carry.
func lexTokens(f *token.File, toks []token.Token) []lexer.Token {
	out := make([]lexer.Token, len(toks))
	for i, t := range toks {
		p := f.Position(t.Pos)
		out[i] = lexer.Token{
			Type:  lexTypes[t.Kind],
			Value: t.Text,
			Pos:   lexer.Position{Filename: p.Filename, Offset: p.Offset, Line: p.Line, Column: p.Column},
		}
	}
	return out
}

// definition is the participle lexer definition of the scanner's token
// types. Parsers are built with it so that grammars can name Newline,
// Indent and Dedent; its Lex method scans with errors turned into a Go
// error. ParseFile does not call Lex: it scans once and hands participle
// each item's tokens with a tokenLexer.
type definition struct{}

func (definition) Symbols() map[string]lexer.TokenType { return symbols }

func (definition) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filename, err)
	}
	f := token.NewFile(filename, src)
	c := diag.NewCollector(f)
	res := scanner.Scan(f, c)
	if err := c.List().Err(); err != nil {
		return nil, err
	}
	return newTokenLexer(lexTokens(f, res.Tokens)), nil
}

// tokenLexer replays a token slice as a participle Lexer; the slice must
// end with an EOF token.
type tokenLexer struct {
	toks []lexer.Token
	i    int
}

func newTokenLexer(toks []lexer.Token) *tokenLexer { return &tokenLexer{toks: toks} }

// Next returns the next token, repeating the final EOF forever.
func (l *tokenLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.toks) {
		if len(l.toks) == 0 {
			return lexer.EOFToken(lexer.Position{}), nil
		}
		return l.toks[len(l.toks)-1], nil
	}
	t := l.toks[l.i]
	l.i++
	return t, nil
}
