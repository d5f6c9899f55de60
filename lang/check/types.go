package check

import (
	"strings"

	"github.com/sockc/sockc/lang/ast"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/keys"
	"github.com/sockc/sockc/lang/token"
)

// Type is the type of an expression.
type Type int

// Expression types. Integers are 32-bit unsigned; Port is an integer known to
// be a port number, so that 70000 compared with a port is caught.
const (
	Invalid Type = iota
	Bool
	Int
	Port
	IP4
	IP6
	Family
	// IP is an address of either family (the local_ip and remote_ip
	// fields): 16 bytes, IPv4 in IPv4-mapped form.
	IP
)

func (t Type) String() string {
	switch t {
	case Bool:
		return "condition"
	case Int:
		return "integer"
	case Port:
		return "port"
	case IP4:
		return "ip4 address"
	case IP6:
		return "ip6 address"
	case IP:
		return "ip address"
	case Family:
		return "address family"
	}
	return "invalid"
}

// A returns the type's name with its article: "an integer".
func (t Type) A() string {
	s := t.String()
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// Plural returns the plural of the type's name.
func (t Type) Plural() string {
	switch t {
	case IP4, IP6, IP:
		return t.String() + "es"
	case Family:
		return "address families"
	}
	return t.String() + "s"
}

// Wide reports whether t is a 16-byte address, which only a key holds.
func (t Type) Wide() bool { return t == IP6 || t == IP }

// Numeric reports whether t takes part in arithmetic and ordering.
func (t Type) Numeric() bool { return t == Int || t == Port }

// Map is a resolved sockmap or sockhash.
type Map struct {
	Name string
	Kind ast.MapKind
	Key  keys.Layout
	Max  uint32
	// Pos is where the map is declared (a map declaration or an inline
	// `to sockhash NAME`).
	Pos token.Pos
	// KeyDeclared is true when the key type was written, false when it
	// was inferred (or defaulted).
	KeyDeclared bool
	// PeerMap is the companion map of a map used by `redirect peer`, or
	// "" (see abi.PeerMapName).
	PeerMap string
	// incomplete maps come from items with syntax errors: known by name
	// only, their keys are not checked.
	incomplete bool
	// statsIndex is the map's place in Program.StatMaps.
	statsIndex int
}

// Handler is a resolved handler.
type Handler struct {
	Decl *ast.Handler
	Hook hook.Kind
	Map  *Map // nil for sockops hooks
}

// Counter is a `count NAME` counter: slot Index of the counters map value.
type Counter struct {
	Name  string
	Index int
	Pos   token.Pos // first use
}

// Limits the checker enforces so that every clean file compiles to a
// program the verifier accepts.
const (
	MaxEntries    = 1 << 24 // largest map capacity
	DefaultMax    = 65535   // capacity when max is not given
	MaxCounters   = 1024    // counters per file (8 bytes each per CPU)
	MaxRegs       = 8       // scratch registers an expression may need
	MaxNesting    = 32      // nested if statements
	MaxExprDepth  = 64      // nested operators in one expression
	maxSuggestion = 2       // edit distance for "did you mean"
)

// Program is a checked file, ready for code generation.
type Program struct {
	File     *ast.File
	Maps     []*Map     // in declaration order
	Peers    []*Map     // companion maps of `redirect peer`, in order of first use
	Handlers []*Handler // in source order
	Counters []*Counter // in order of first use
	// StatMaps are the maps whose statistics the compiled code keeps in
	// abi.MapStatsMap, in declaration order.
	StatMaps []*Map
	// FlowMax is the capacity of abi.FlowMap and abi.FlowCtlMap: 0 when no
	// sk_skb handler redirects to a peer.
	FlowMax uint32
	Info
}

// Info records what the checker learned about expressions and statements.
type Info struct {
	Types  map[ast.Expr]Type
	Consts map[ast.Expr]uint32 // values of constant expressions (ip4 as loaded: network-order bytes in a native word)
	Bools  map[ast.Expr]bool   // values of constant conditions
	Fields map[*ast.Name]hook.Field
	// StmtMaps is the map a redirect or update statement refers to.
	StmtMaps map[ast.Stmt]*Map
	// CounterOf is the counter a count statement increments.
	CounterOf map[*ast.CountStmt]*Counter
}

// IsConst reports whether e is an integer, address or family constant.
func (in *Info) IsConst(e ast.Expr) bool {
	_, ok := in.Consts[e]
	return ok
}

// Map returns the map named name, or nil.
func (p *Program) Map(name string) *Map {
	for _, m := range p.Maps {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// SockopsHandlers returns the handlers that make up the sockops program.
func (p *Program) SockopsHandlers() []*Handler {
	var out []*Handler
	for _, h := range p.Handlers {
		if h.Hook.Sockops() {
			out = append(out, h)
		}
	}
	return out
}
