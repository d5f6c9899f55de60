package parser

import (
	"errors"
	"slices"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// reporter turns the syntax errors of a file into diagnostics, and keeps
// what it needs to report one mistake once when it spans several items.
type reporter struct {
	errs *diag.Collector
	bad  map[int]bool // lines with a lexical error: no syntax error on them
	// next is the first token of the item after the one being parsed.
	next *lexer.Token
	// braces is set once a '{' was reported as the start of a block: the
	// '}' that closes it is the same mistake.
	braces bool
	// orphans is set after a header whose block is at column 1 or in
	// braces: the items up to the next map or handler are that block.
	orphans bool
}

// maxCaseFixes bounds the miscased keywords fixed in one item, each fix
// costing a parse of the item.
const maxCaseFixes = 10

// isMiscasedKeyword reports whether t is a name that is a keyword in
// another case: SOCKHASH, Sockmap, ON. Names are case-sensitive, so such a
// name is only an error where the grammar refuses it.
func isMiscasedKeyword(t lexer.Token) bool {
	return t.Type == tIdent && scanner.IsKeyword(strings.ToLower(t.Value))
}

// fixCase handles a parse error at a miscased keyword: it reports it and
// returns a copy of item with the keyword in lower case. ok is false when
// the error is of another kind.
func (r *reporter) fixCase(err error, item []lexer.Token) (fixed []lexer.Token, ok bool) {
	var ute *participle.UnexpectedTokenError
	if !errors.As(err, &ute) || !isMiscasedKeyword(ute.Unexpected) {
		return nil, false
	}
	i := slices.IndexFunc(item, func(t lexer.Token) bool {
		return t.Pos.Offset == ute.Unexpected.Pos.Offset && t.Type == tIdent
	})
	if i < 0 {
		return nil, false
	}
	t := item[i]
	kw := strings.ToLower(t.Value)
	if !r.bad[t.Pos.Line] {
		start := token.PosOf(t.Pos.Offset)
		r.errs.Errorf(start, start+token.Pos(len(t.Value)), "keywords are lower case: %s", kw)
	}
	fixed = slices.Clone(item)
	fixed[i].Type, fixed[i].Value = tKeyword, kw
	return fixed, true
}

// startsItem reports whether item starts as a map declaration or a
// handler does, whatever the case of its first word.
func startsItem(item []lexer.Token) bool {
	t := firstToken(item)
	if t == nil {
		return true
	}
	switch strings.ToLower(t.Value) {
	case "on", "sockmap", "sockhash":
		return t.Type == tKeyword || t.Type == tIdent
	}
	return false
}

// onlyLayoutFrom reports whether item holds nothing but layout tokens
// (Newline, Indent, Dedent, EOF) from offset off on.
func onlyLayoutFrom(item []lexer.Token, off int) bool {
	for _, t := range item {
		if t.Pos.Offset >= off && t.Type != tNewline && t.Type != tIndent && t.Type != tDedent && !t.EOF() {
			return false
		}
	}
	return true
}

// opensBlock reports whether the '{' at offset off in item looks like the
// start of a block: it ends its line, or stands where ':' or a statement
// was expected.
func opensBlock(item []lexer.Token, off int, exp []string) bool {
	for _, e := range exp {
		if e == `":"` || e == "a statement" {
			return true
		}
	}
	for i, t := range item {
		if t.Pos.Offset == off && t.Value == "{" {
			return i+1 < len(item) && (item[i+1].Type == tNewline || item[i+1].EOF())
		}
	}
	return false
}
