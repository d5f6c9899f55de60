package check

// flowControl notes that redirect peer (egress) on m in an sk_skb
// handler is metered: the flow maps (abi.FlowMap, abi.FlowCtlMap) get
// room for m's sockets.
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
