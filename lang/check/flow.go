package check

// FlowMap and FlowCtlMap hold the flow control the compiler adds to
// `redirect peer` (egress) in sk_skb handlers (stream and skb verdict). The kernel
// queues a redirected skb on the target socket's psock without a limit:
// an upstream that stops reading would otherwise let one client fill the
// host's memory while its TCP window stays open. Both maps are hashes
// keyed by the u64 cookie of the socket the data arrives on; a socket
// with no entry in FlowCtlMap is redirected as before, so programs
// whose sockets nobody meters (a foreign loader, the Go API's Pair alone)
// behave as without them.
//
// FlowMap's value is written by the program only: the bytes it
// redirected and the bytes it passed to the socket's own receive queue
// instead (FlowStat). FlowCtlMap's value is written by the loader only:
// the byte count up to which the program may redirect, and how many of
// the passed bytes the loader has since written to the peer itself
// (FlowCtl). The program redirects an skb while every passed byte has
// been relayed and the skb fits under the limit; otherwise it passes it,
// so that the bytes wait in the socket's receive buffer and TCP's window
// closes, as with a proxy in user space.
const (
	FlowMap    = ReservedPrefix + "flow"
	FlowCtlMap = ReservedPrefix + "flowctl"
)

// FlowStat is the value of FlowMap: u64 slots, in this order.
type FlowStat int

// The slots of a FlowMap value.
const (
	FlowRedirected FlowStat = iota // bytes redirected to the peer
	FlowPassed                     // bytes passed to the socket's own receive queue
	NumFlowStats
)

// FlowCtl is the value of FlowCtlMap: u64 slots, in this order.
type FlowCtl int

// The slots of a FlowCtlMap value.
const (
	FlowLimit   FlowCtl = iota // redirect while redirected+len <= limit
	FlowRelayed                // passed bytes the loader wrote to the peer
	NumFlowCtls
)

// flowNames are the BTF member names of the two values' slots.
var (
	flowStatNames = [NumFlowStats]string{"redirected", "passed"}
	flowCtlNames  = [NumFlowCtls]string{"limit", "relayed"}
)

func (s FlowStat) String() string { return flowStatNames[s] }
func (s FlowCtl) String() string  { return flowCtlNames[s] }

// flowControl notes that redirect peer (egress) on m in an sk_skb
// handler is metered: the flow maps get room for m's sockets.
func (c *checker) flowControl(m *Map) {
	if c.flowMaps == nil {
		c.flowMaps = map[*Map]bool{}
	}
	if c.flowMaps[m] {
		return
	}
	c.flowMaps[m] = true
	c.prog.FlowMax = min(c.prog.FlowMax+m.Max, MaxEntries)
}
