package abi

import (
	"strings"

	"github.com/sockc/sockc/lang/hook"
)

// License is the license of every program: the redirect helpers are
// GPL-only.
const License = "GPL"

// SockValueSize is the value size of sockmaps and sockhashes: 8, so that
// a lookup from user space returns the socket cookie.
const SockValueSize = 8

// ReservedPrefix starts the name of every map sockc declares itself. A
// user map may not have it, so that no name of the file's can collide
// with one of sockc's.
const ReservedPrefix = "sockc_"

// Reserved reports whether name is one sockc keeps for its own maps.
func Reserved(name string) bool { return strings.HasPrefix(name, ReservedPrefix) }

// The maps sockc declares itself, besides the companions of PeerMapName.
const (
	// CountersMap is the per-CPU array map holding the `count`
	// counters: one entry whose value is a struct of u64 members, one per
	// counter, named after it (SlotStruct, CounterNames).
	CountersMap = ReservedPrefix + "counters"
	// MapStatsMap is the per-CPU array map where the code the compiler
	// adds counts, for each map that an update or a redirect uses, what
	// happened to the sockets and messages that went through it: so that
	// sockc can tell a bypass that engages from one whose lookups all
	// fail, without a `count` line written by hand. Its one value is a
	// struct of u64 members named by StatName, NumStats per map at
	// StatSlot.
	MapStatsMap = ReservedPrefix + "mapstats"
	// FlowMap and FlowCtlMap hold the flow control the compiler adds to
	// `redirect peer` (egress) in sk_skb handlers (stream and skb
	// verdict). The kernel queues a redirected skb on the target
	// socket's psock without a limit: an upstream that stops reading
	// would otherwise let one client fill the host's memory while its
	// TCP window stays open. Both maps are hashes keyed by the u64 cookie
	// of the socket the data arrives on; a socket with no entry in
	// FlowCtlMap is redirected as before, so programs whose sockets
	// nobody meters (a foreign loader, the Go API's Pair alone) behave as
	// without them.
	//
	// FlowMap's value is written by the program only: the bytes it
	// redirected and the bytes it passed to the socket's own receive
	// queue instead (FlowStat). FlowCtlMap's value is written by the
	// loader only: the byte count up to which the program may redirect,
	// and how many of the passed bytes the loader has since written to
	// the peer itself (FlowCtl). The program redirects an skb while every
	// passed byte has been relayed and the skb fits under the limit;
	// otherwise it passes it, so that the bytes wait in the socket's
	// receive buffer and TCP's window closes, as with a proxy in user
	// space.
	FlowMap    = ReservedPrefix + "flow"
	FlowCtlMap = ReservedPrefix + "flowctl"
)

// peerPrefix starts the name of every companion map.
const peerPrefix = ReservedPrefix + "peers_"

// PeerMapName is the companion map of a map M that `redirect peer` uses:
// a sockhash with no programs attached, keyed by socket cookie, that holds
// each socket under its peer's cookie. The handler's map M holds the
// sockets the program runs for. Because the companion has no programs, a
// socket can be put in it before its verdict program starts: the runtime
// pairs both sockets there first and then adds them to M, so no byte ever
// arrives while a lookup could fail.
func PeerMapName(m string) string { return peerPrefix + m }

// PeerOf is PeerMapName read backwards: the map whose companion name is.
// ok is false for a name that is no companion's, or that names the
// companion of a map no file can declare (an empty or reserved name).
func PeerOf(name string) (mapName string, ok bool) {
	m, found := strings.CutPrefix(name, peerPrefix)
	if !found || !userName(m) {
		return "", false
	}
	return m, true
}

// userName reports whether m could be the name of a map a file declares:
// not empty, not reserved.
func userName(m string) bool { return m != "" && !Reserved(m) }

// SockopsProgram is the name of the one sockops program of a file: all
// its sockops handlers (established, connect, accept) share it.
const SockopsProgram = "sockops"

// ProgramName is the name of the program compiled for a handler of hook k
// on the map named mapName: the hook with '_' for spaces, then '_' and
// the map (msg_socks, skb_verdict_conns). All sockops handlers share
// SockopsProgram.
func ProgramName(k hook.Kind, mapName string) string {
	if k.Sockops() {
		return SockopsProgram
	}
	return hookPrefix(k) + mapName
}

// hookPrefix is what the names of hook k's programs start with.
func hookPrefix(k hook.Kind) string { return strings.ReplaceAll(k.String(), " ", "_") + "_" }

// ParseProgramName is ProgramName read backwards, for the programs of a
// map hook: the hook whose prefix name has, and the map name after it.
// ok is false for a name without such a prefix, for the sockops program
// (whose name tells no hook), and for a map name no file can declare
// (empty or reserved): the compiler never writes those.
func ParseProgramName(name string) (k hook.Kind, mapName string, ok bool) {
	for _, k := range hook.Kinds() {
		if !k.NeedsMap() {
			continue
		}
		// No hook's prefix is a prefix of another's.
		if m, found := strings.CutPrefix(name, hookPrefix(k)); found {
			if !userName(m) {
				break
			}
			return k, m, true
		}
	}
	return hook.Invalid, "", false
}
