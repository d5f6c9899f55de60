package parser

import "github.com/alecthomas/participle/v2/lexer"

// The participle grammar. Each top-level item (a map declaration or a
// handler with its block) is parsed on its own, so that one syntax error
// does not hide the errors of the items after it. These structs mirror the
// concrete syntax; convert.go turns them into lang/ast nodes.

type gItem struct {
	Map     *gMapDecl `parser:"@@"`
	Handler *gHandler `parser:"| @@"`
}

type gMapDecl struct {
	Tokens []lexer.Token
	Kind   string     `parser:"@('sockmap' | 'sockhash')"`
	Name   *gIdent    `parser:"@@"`
	Colon  bool       `parser:"( @':'"`
	Opts   []*gMapOpt `parser:"@@ ( ',' @@ )* )? Newline"`
}

type gMapOpt struct {
	Tokens []lexer.Token
	Key    *gKeyType `parser:"'key' @@"`
	Max    *gInt     `parser:"| 'max' @@"`
}

type gKeyType struct {
	Tokens []lexer.Token
	Scalar *gIdent   `parser:"@@"`
	Tuple  []*gIdent `parser:"| '(' @@ ( ',' @@ )* ')'"`
}

type gIdent struct {
	Tokens []lexer.Token
	Name   string `parser:"@Ident"`
}

type gInt struct {
	Tokens []lexer.Token
	Raw    string `parser:"@Int"`
}

type gHandler struct {
	Tokens []lexer.Token
	Hook   []*gIdent `parser:"'on' @@+"`
	Map    *gMapRef  `parser:"( 'to' @@ )?"`
	Body   *gBody    `parser:"':' @@"`
}

type gMapRef struct {
	Tokens []lexer.Token
	Kind   string  `parser:"@('sockmap' | 'sockhash')?"`
	Name   *gIdent `parser:"@@"`
}

type gBody struct {
	Tokens []lexer.Token
	Block  []*gStmt `parser:"Newline Indent @@+ Dedent"`
	Inline *gInline `parser:"| @@ Newline"`
}

type gInline struct {
	If     *gInlineIf `parser:"@@"`
	Simple *gSimple   `parser:"| @@"`
}

type gInlineIf struct {
	Tokens []lexer.Token
	Cond   *gOr     `parser:"'if' @@ ':'"`
	Then   *gSimple `parser:"@@"`
}

type gStmt struct {
	If     *gIf     `parser:"@@"`
	Simple *gSimple `parser:"| @@ Newline"`
}

type gIf struct {
	Tokens []lexer.Token
	Cond   *gOr     `parser:"'if' @@ ':'"`
	Then   *gIfBody `parser:"@@"`
	Else   *gIfBody `parser:"( 'else' ':' @@ )?"`
}

// gIfBody is the body of an if or else: an indented block, or one simple
// statement on the same line.
type gIfBody struct {
	Tokens []lexer.Token
	Block  []*gStmt `parser:"Newline Indent @@+ Dedent"`
	Simple *gSimple `parser:"| @@ Newline"`
}

type gSimple struct {
	Tokens   []lexer.Token
	Redirect *gRedirect `parser:"@@"`
	Update   *gUpdate   `parser:"| @@"`
	Apply    *gOr       `parser:"| 'apply' @@"`
	Cork     *gOr       `parser:"| 'cork' @@"`
	Length   *gLength   `parser:"| @@"`
	Count    *gIdent    `parser:"| 'count' @@"`
	Word     string     `parser:"| @('pass' | 'drop')"`
}

type gLength struct {
	Kw string `parser:"@'length'"`
	X  *gOr   `parser:"@@?"`
}

type gRedirect struct {
	Tokens  []lexer.Token
	Peer    *gPeer  `parser:"'redirect' ( @@"`
	Map     *gIdent `parser:"| @@?"`
	Key     *gKey   `parser:"@@ )"`
	Ingress bool    `parser:"@'ingress'?"`
}

type gPeer struct {
	Tokens []lexer.Token
	Kw     string `parser:"@'peer'"`
}

type gUpdate struct {
	Tokens []lexer.Token
	Map    *gIdent `parser:"'update' @@"`
	Key    *gKey   `parser:"@@"`
}

type gKey struct {
	Tokens []lexer.Token
	Args   []*gOr `parser:"'key' '(' ( @@ ( ',' @@ )* )? ')'"`
}

type gOr struct {
	Tokens []lexer.Token
	X      *gAnd      `parser:"@@"`
	Rest   []*gOrTail `parser:"@@*"`
}

type gOrTail struct {
	Tokens []lexer.Token
	Op     string `parser:"@'or'"`
	Y      *gAnd  `parser:"@@"`
}

type gAnd struct {
	Tokens []lexer.Token
	X      *gNot       `parser:"@@"`
	Rest   []*gAndTail `parser:"@@*"`
}

type gAndTail struct {
	Tokens []lexer.Token
	Op     string `parser:"@'and'"`
	Y      *gNot  `parser:"@@"`
}

type gNot struct {
	Tokens []lexer.Token
	Not    *gNot `parser:"'not' @@"`
	Cmp    *gCmp `parser:"| @@"`
}

type gCmp struct {
	Tokens []lexer.Token
	X      *gSum  `parser:"@@"`
	Op     string `parser:"( @('==' | '!=' | '<=' | '>=' | '<' | '>')"`
	Y      *gSum  `parser:"@@"`
	In     *gSet  `parser:"| 'in' @@ )?"`
}

type gSet struct {
	Tokens []lexer.Token
	CIDR   *gCIDR  `parser:"@@"`
	Range  *gRange `parser:"| @@"`
}

type gCIDR struct {
	Tokens []lexer.Token
	Addr   *gIPv4 `parser:"@@ '/'"`
	Bits   *gInt  `parser:"@@"`
}

type gIPv4 struct {
	Tokens []lexer.Token
	Raw    string `parser:"@IPv4"`
}

type gRange struct {
	Tokens []lexer.Token
	Lo     *gInt `parser:"@@ '..'"`
	Hi     *gInt `parser:"@@"`
}

type gSum struct {
	Tokens []lexer.Token
	X      *gTerm      `parser:"@@"`
	Rest   []*gSumTail `parser:"@@*"`
}

type gSumTail struct {
	Tokens []lexer.Token
	Op     string `parser:"@('+' | '-' | '|' | '^')"`
	Y      *gTerm `parser:"@@"`
}

type gTerm struct {
	Tokens []lexer.Token
	X      *gPrimary    `parser:"@@"`
	Rest   []*gTermTail `parser:"@@*"`
}

type gTermTail struct {
	Tokens []lexer.Token
	Op     string    `parser:"@('<<' | '>>' | '&')"`
	Y      *gPrimary `parser:"@@"`
}

type gPrimary struct {
	Tokens []lexer.Token
	Int    *gInt  `parser:"@@"`
	IP     *gIPv4 `parser:"| @@"`
	Name   string `parser:"| @Ident"`
	Paren  *gOr   `parser:"| '(' @@ ')'"`
}

// gLine is the grammar of one logical line, used only to pinpoint syntax
// errors: when an item fails to parse as a whole, each of its lines is
// parsed alone, so the error lands on the token that is wrong rather than
// on the start of the statement participle backtracked to.
type gLine struct {
	Map    *gMapDecl    `parser:"@@"`
	Header *gHeaderLine `parser:"| @@"`
	If     *gIfLine     `parser:"| @@"`
	Else   *gElseLine   `parser:"| @@"`
	Simple *gSimple     `parser:"| @@ Newline"`
}

type gHeaderLine struct {
	Hook   []*gIdent `parser:"'on' @@+"`
	Map    *gMapRef  `parser:"( 'to' @@ )?"`
	Inline *gInline  `parser:"':' ( @@ Newline | Newline )"`
}

type gIfLine struct {
	Cond *gOr     `parser:"'if' @@ ':'"`
	Then *gSimple `parser:"( @@ Newline | Newline )"`
}

type gElseLine struct {
	Then *gSimple `parser:"'else' ':' ( @@ Newline | Newline )"`
}
