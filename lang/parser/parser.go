// Package parser parses sockc source into a lang/ast syntax tree with
// participle, one top-level item at a time so that every syntax error in a
// file is reported, not just the first.
package parser

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// itemParser is built once: participle parsers are immutable after Build.
var itemParser = sync.OnceValues(func() (*participle.Parser[gItem], error) {
	return participle.Build[gItem](
		participle.Lexer(definition{}),
		// Commit to a branch once it has consumed a token: the grammar is
		// LL(1), and committing makes errors point at the token that is
		// wrong instead of at the start of the construct.
		participle.UseLookahead(0),
	)
})

// lineParser parses single lines to locate errors; see gLine.
var lineParser = sync.OnceValues(func() (*participle.Parser[gLine], error) {
	return participle.Build[gLine](
		participle.Lexer(definition{}),
		// Commit to a branch once it has consumed a token: the grammar is
		// LL(1), and committing makes errors point at the token that is
		// wrong instead of at the start of the construct.
		participle.UseLookahead(0),
	)
})

// ParseFile parses src, reporting problems to errs. It returns the syntax
// tree of every item that parsed; items with syntax errors are left out.
func ParseFile(f *token.File, errs *diag.Collector) *ast.File {
	res := scanner.Scan(f, errs)
	out := &ast.File{Name: f.Name()}
	for _, c := range res.Comments {
		out.Comments = append(out.Comments, &ast.Comment{
			Span: ast.Span{From: c.Pos, To: c.Pos + token.Pos(len(c.Text))},
			Text: c.Text,
		})
	}
	p, err := itemParser()
	if err != nil {
		// The grammar is fixed at compile time; failing to build it is a
		// bug in sockc, not in the user's file.
		errs.Errorf(token.NoPos, token.NoPos, "internal error: building the parser: %v", err)
		return out
	}
	r := &reporter{errs: errs, bad: badLines(f, errs)}
	broken := 0 // syntax errors so far
	items := splitItems(lexTokens(f, res.Tokens))
	for n, item := range items {
		r.next = nil
		if n+1 < len(items) {
			r.next = firstToken(items[n+1])
		}
		if r.orphans && !startsItem(item) {
			// A line of the block of a broken header, at column 1 (the
			// block is not indented, or in braces): the header's
			// error already says what is wrong.
			out.Decls = append(out.Decls, salvage(item))
			continue
		}
		r.orphans = false
		if broken == MaxSyntaxErrors {
			// Past this many, more errors tell the user nothing new,
			// and each costs two participle parses.
			if t := firstToken(item); t != nil {
				errs.Add(diag.Error, token.PosOf(t.Pos.Offset), token.NoPos,
					"fix the errors above first; a file this broken may not be sockc source",
					"too many syntax errors (%d): the rest of the file is not parsed", MaxSyntaxErrors)
				broken++
			}
		}
		if broken >= MaxSyntaxErrors {
			out.Decls = append(out.Decls, salvage(item))
			continue
		}
		if tok, ok := tooDeep(item); ok {
			// participle recurses once per level; thousands of levels
			// would exhaust the stack, which Go cannot recover from.
			errs.Errorf(token.PosOf(tok.Pos.Offset), token.NoPos,
				"expression nested too deeply (more than %d parentheses or nots)", MaxNesting)
			out.Decls = append(out.Decls, salvage(item))
			broken++
			continue
		}
		if tok, ok := tooLong(item); ok {
			// participle spends tens of microseconds and kilobytes
			// per token, and holds a whole item's work until it
			// ends; an endless line would take seconds and gigabytes.
			errs.Add(diag.Error, token.PosOf(tok.Pos.Offset), token.NoPos,
				"split the expression, or check for an unclosed parenthesis",
				"line too long: more than %d tokens", MaxLineTokens)
			out.Decls = append(out.Decls, salvage(item))
			broken++
			continue
		}
		lx, err := lexer.Upgrade(newTokenLexer(item))
		if err != nil {
			errs.Errorf(token.NoPos, token.NoPos, "internal error: %v", err)
			continue
		}
		g, err := p.ParseFromLexer(lx)
		for fixes := 0; err != nil && fixes < maxCaseFixes && broken < MaxSyntaxErrors; fixes++ {
			// SOCKHASH m, ON msg: say so once and parse the item
			// with the keyword as it was meant, so that the map is
			// declared and the handler checked.
			fixed, ok := r.fixCase(err, item)
			if !ok {
				break
			}
			broken++
			item = fixed
			if lx, err = lexer.Upgrade(newTokenLexer(item)); err != nil {
				break
			}
			g, err = p.ParseFromLexer(lx)
		}
		if err != nil {
			if n := r.reportLines(item, MaxSyntaxErrors-broken); n > 0 {
				broken += n
			} else {
				r.reportSyntax(err, item)
				broken++
			}
			out.Decls = append(out.Decls, salvage(item))
			continue
		}
		c := &converter{errs: errs}
		if d := c.item(g); d != nil {
			out.Decls = append(out.Decls, d)
		}
	}
	return out
}

// MaxSyntaxErrors is how many syntax errors the parser reports before it
// stops parsing the file, as compilers stop after a screenful of errors:
// a file of 200,000 stray lines would otherwise give 200,000 errors, and
// each costs two participle parses.
const MaxSyntaxErrors = 100

// MaxLineTokens bounds the tokens of one line, the longest stretch
// participle parses at once. A 2000-term condition has about 8000.
const MaxLineTokens = 10000

// tooLong finds the first token past MaxLineTokens on a line of item.
func tooLong(item []lexer.Token) (lexer.Token, bool) {
	n := 0
	for _, t := range item {
		switch t.Type {
		case tNewline:
			n = 0
		case tIndent, tDedent:
		default:
			n++
			if n > MaxLineTokens && !t.EOF() {
				return t, true
			}
		}
	}
	return lexer.Token{}, false
}

// firstToken returns the first token of item that is not layout, or nil.
func firstToken(item []lexer.Token) *lexer.Token {
	for i, t := range item {
		if t.Type != tIndent && t.Type != tDedent && !t.EOF() && t.Type != tNewline {
			return &item[i]
		}
	}
	return nil
}

// MaxNesting bounds the nesting of parentheses and `not` in an item. The
// checker's own limit on expression depth is lower; this one protects the
// parser.
const MaxNesting = 200

// tooDeep finds the token where an item's open nesting of parentheses and
// `not` passes MaxNesting: the depth participle recurses to. A `not` stays
// open until the comparison it negates ends, at an `and`, `or` or `,` of
// its own parenthesis level or at that level's `)`; so a wide condition
// such as `(not a > 1 and not b > 1) or ...` is shallow, however many nots
// it holds. An expression never spans lines: a Newline closes everything.
func tooDeep(item []lexer.Token) (lexer.Token, bool) {
	// nots[i] is the number of open nots at parenthesis level i; depth is
	// the open parentheses plus the sum of nots.
	nots := []int{0}
	depth := 0
	for _, t := range item {
		top := len(nots) - 1
		switch {
		case t.Type == tNewline:
			nots, depth = nots[:1], 0
			nots[0] = 0
		case t.Type == tPunct && t.Value == "(":
			nots = append(nots, 0)
			depth++
		case t.Type == tPunct && t.Value == ")" && top > 0:
			depth -= 1 + nots[top]
			nots = nots[:top]
		case t.Type == tKeyword && t.Value == "not":
			nots[top]++
			depth++
		case t.Type == tKeyword && (t.Value == "and" || t.Value == "or"),
			t.Type == tPunct && t.Value == ",":
			depth -= nots[top]
			nots[top] = 0
		}
		if depth > MaxNesting {
			return t, true
		}
	}
	return lexer.Token{}, false
}

// salvage reads the map a broken item declares, if any: `sockmap NAME` or
// `on ... to sockhash NAME`.
func salvage(item []lexer.Token) *ast.BadDecl {
	// toks is the start of the item's first line (a header is short),
	// without layout: all that is read, and no copy of a long item.
	var toks []lexer.Token
	var last lexer.Token
	firstLine := true
	for _, t := range item {
		if t.Type == tIndent || t.Type == tDedent || t.EOF() {
			continue
		}
		if firstLine && len(toks) < 256 {
			toks = append(toks, t)
			firstLine = t.Type != tNewline
		}
		last = t
	}
	bad := &ast.BadDecl{}
	if len(toks) == 0 {
		return bad
	}
	bad.From = token.PosOf(toks[0].Pos.Offset)
	bad.To = token.PosOf(last.Pos.Offset + len(last.Value))
	declared := func(i int) {
		if i+1 < len(toks) && toks[i+1].Type == tIdent {
			kind := ast.SockMap
			if toks[i].Value == "sockhash" {
				kind = ast.SockHash
			}
			n := toks[i+1]
			id := &ast.Ident{Span: ast.Span{From: token.PosOf(n.Pos.Offset), To: token.PosOf(n.Pos.Offset + len(n.Value))}, Name: n.Value}
			bad.Map = &ast.MapRef{Span: ast.Span{From: token.PosOf(toks[i].Pos.Offset), To: id.To}, Kind: kind, KindPos: token.PosOf(toks[i].Pos.Offset), Name: id}
		}
	}
	isKind := func(t lexer.Token) bool {
		return t.Type == tKeyword && (t.Value == "sockmap" || t.Value == "sockhash")
	}
	switch {
	case isKind(toks[0]):
		declared(0)
	case toks[0].Value == "on":
		for i := 1; i+1 < len(toks) && toks[i].Type != tNewline; i++ {
			if toks[i].Value == "to" && isKind(toks[i+1]) {
				declared(i + 1)
				break
			}
		}
	}
	return bad
}

// badLines lists the lines that already have a lexical error, so that the
// parser does not pile a second, derived error on them.
func badLines(f *token.File, errs *diag.Collector) map[int]bool {
	bad := map[int]bool{}
	for _, d := range errs.List().Errors() {
		if d.Pos.Filename == f.Name() {
			bad[d.Pos.Line] = true
		}
	}
	return bad
}

// splitItems cuts the token stream into top-level items: a new item starts
// at every token that begins a line at indentation level zero. Each item
// gets its own EOF token.
func splitItems(toks []lexer.Token) [][]lexer.Token {
	var items [][]lexer.Token
	depth, start := 0, 0
	for i, t := range toks {
		if t.EOF() {
			break
		}
		switch t.Type {
		case tIndent:
			depth++
		case tDedent:
			depth--
		}
		next := toks[i+1]
		atEnd := t.Type == tNewline || t.Type == tDedent
		if depth == 0 && atEnd && next.Type != tIndent {
			items = append(items, withEOF(toks[start:i+1], next))
			start = i + 1
		}
	}
	if last := toks[len(toks)-1]; start < len(toks)-1 {
		items = append(items, withEOF(toks[start:len(toks)-1], last))
	}
	return items
}

// nextItem marks the EOF token that ends an item before the end of the
// file, so that messages can say what really comes next.
const nextItem = "\x00next item"

func withEOF(toks []lexer.Token, end lexer.Token) []lexer.Token {
	out := make([]lexer.Token, len(toks), len(toks)+1)
	copy(out, toks)
	eof := lexer.EOFToken(end.Pos)
	if !end.EOF() {
		eof.Value = nextItem
	}
	return append(out, eof)
}

// reportLines parses each line of a failed item alone and reports the
// lines that are wrong by themselves, at most limit of them. It returns how
// many it reported: 0 when every line parses, that is when the error is in
// how the lines fit together.
func (r *reporter) reportLines(item []lexer.Token, limit int) int {
	p, err := lineParser()
	if err != nil {
		return 0
	}
	found := 0
	var line []lexer.Token
	for _, t := range item {
		switch {
		case t.Type == tIndent || t.Type == tDedent:
			continue
		case t.EOF():
			if len(line) == 0 {
				continue
			}
			t = lexer.Token{Type: tNewline, Pos: t.Pos}
		}
		line = append(line, t)
		if t.Type != tNewline {
			continue
		}
		toks := withEOF(line, lexer.EOFToken(t.Pos))
		line = nil
		lx, err := lexer.Upgrade(newTokenLexer(toks))
		if err != nil {
			continue
		}
		if _, err := p.ParseFromLexer(lx); err != nil {
			r.reportSyntax(err, toks)
			if found++; found == limit {
				break
			}
		}
	}
	return found
}

// reportSyntax turns a participle error into one diagnostic in the words of
// the language: "expected X, found Y", as Go's parser says it.
func (r *reporter) reportSyntax(err error, item []lexer.Token) {
	errs := r.errs
	var perr participle.Error
	if !errors.As(err, &perr) {
		errs.Errorf(token.PosOf(item[0].Pos.Offset), token.NoPos, "syntax error: %v", err)
		return
	}
	pos := perr.Position()
	if r.bad[pos.Line] {
		return
	}
	tok, ok := tokenAt(item, pos.Offset)
	msg := perr.Message()
	var exp []string
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		tok, ok = ute.Unexpected, true
		if i := strings.Index(ute.Message(), "(expected "); i >= 0 {
			exp = firstExpected(strings.TrimSuffix(ute.Message()[i+len("(expected "):], ")"))
		}
		switch {
		case tok.Value == "}" && r.braces:
			// The end of a block in braces: its start was reported.
			return
		case isMiscasedKeyword(tok):
			msg = "keywords are lower case: " + strings.ToLower(tok.Value)
		case len(exp) > 0:
			msg = "expected " + orList(exp) + ", found " + describe(tok)
		default:
			msg = "unexpected " + describe(tok)
		}
	}
	start := token.PosOf(pos.Offset)
	end := token.NoPos
	if ok && tok.Type != tNewline && !tok.EOF() && tok.Value != "" {
		end = start + token.Pos(len(tok.Value))
	}
	hint := ""
	if ok {
		hint = hintFor(tok, exp, item[0], tok.Pos.Offset == item[0].Pos.Offset)
	}
	if len(exp) > 0 && exp[0] == elemWords["<indent>"] {
		// The header ended with ':' and nothing followed on its line or
		// indented below it. Point at the end of the header.
		if prev, found := tokenBefore(item, pos.Offset); found {
			start, end = token.PosOf(prev.Pos.Offset), token.NoPos
		}
		msg = "expected an indented block after ':', found " + describe(tok)
		hint = "or write one statement after the ':' on the same line"
		if onlyLayoutFrom(item, pos.Offset) && r.next != nil && !startsItem([]lexer.Token{*r.next}) {
			// The block is there, at column 1: the lines that follow
			// are its statements, not errors of their own.
			msg = "expected an indented block after ':', found an unindented line"
			hint = "indent the lines of the block under its header, e.g. by 4 spaces"
			r.orphans = true
		}
	}
	if ok && tok.Value == "{" && hint == "" && opensBlock(item, tok.Pos.Offset, exp) {
		hint = "sockc blocks are indented after ':', as in Python"
		r.braces, r.orphans = true, true
	}
	errs.Add(diag.Error, start, end, hint, "%s", msg)
}

// tokenBefore returns the last non-layout token before offset off.
func tokenBefore(item []lexer.Token, off int) (lexer.Token, bool) {
	var prev lexer.Token
	found := false
	for _, t := range item {
		if t.Pos.Offset >= off && found {
			break
		}
		if t.Type == tIndent || t.Type == tDedent || t.EOF() {
			continue
		}
		if t.Pos.Offset < off || !found {
			prev, found = t, t.Pos.Offset < off
		}
	}
	return prev, found
}

func tokenAt(item []lexer.Token, off int) (lexer.Token, bool) {
	for _, t := range item {
		if t.Pos.Offset == off {
			return t, true
		}
	}
	return lexer.Token{}, false
}

// describe names a token the way a user reads it.
func describe(t lexer.Token) string {
	switch {
	case t.EOF() && t.Value == nextItem:
		return "the next unindented line"
	case t.EOF():
		return "end of file"
	case t.Type == tNewline:
		return "end of line"
	case t.Type == tIndent:
		return "indentation"
	case t.Type == tDedent:
		return "end of indented block"
	case t.Type == tKeyword:
		return fmt.Sprintf("keyword %q", t.Value)
	case t.Type == tIdent:
		return fmt.Sprintf("name %q", t.Value)
	case t.Type == tInt || t.Type == tIPv4:
		return fmt.Sprintf("number %s", t.Value)
	}
	return fmt.Sprintf("%q", t.Value)
}

// hintFor suggests a fix for common mistakes, given the unexpected token,
// what was expected, the item's first token, and whether t is that token.
func hintFor(t lexer.Token, exp []string, start lexer.Token, first bool) string {
	expects := func(w string) bool {
		for _, e := range exp {
			if e == w {
				return true
			}
		}
		return false
	}
	switch t.Value {
	case "=":
		return "use == to compare"
	case "&&":
		return "use and"
	case "||":
		return "use or"
	case "!":
		return "use not, or != to compare"
	}
	switch {
	case t.Type == tIndent:
		return "only the lines after a header ending in ':' are indented"
	case t.Value == "else" && first:
		return "else goes at the indentation of its if, on the line after the if's body"
	case t.Value == "if" && expects("a statement"):
		return "an if on the same line as ':' takes one simple statement; put nested ifs in an indented block"
	case (t.Value == "key" || t.Value == "max") && expects("end of line") && (start.Value == "sockmap" || start.Value == "sockhash"):
		return "put a ':' after the map name: sockhash NAME: key ..., max ..."
	}
	return ""
}
