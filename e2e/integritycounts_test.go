package e2e

import (
	"strings"
	"testing"
)

// checkProxied checks the `count proxied` counter of examples/proxy.sock
// against the load. It counts runs of the stream verdict program: one per
// skb that a paired socket receives, data or a lone FIN, each carrying at
// least one byte but for the FIN. The sizes of skbs are the kernel's
// choice, so the exact statement is a pair of bounds over the connections
// that sockc paired in the kernel (those it relayed in user space never
// run the program): at least one run for each direction of a connection
// that completed (every direction carries at least one byte: the header
// or a 1-byte stream), and at most one per byte and FIN sent.
func checkProxied(t *testing.T, res *loadResult, log *lineLog, proxied uint64) {
	t.Helper()
	paired := map[string]int{} // "paired" lines by client address
	log.mu.Lock()
	for _, l := range log.lines {
		if rest, ok := strings.CutPrefix(l, "sockc: proxy: "); ok && strings.HasSuffix(l, " paired in the kernel") {
			paired[strings.Fields(rest)[0]]++
		}
	}
	log.mu.Unlock()
	// On loopback a port is free again at once after a reset, and soon
	// after a close (tcp_tw_reuse): an address may have served several
	// clients, the warm-up's among them. The lower bound leaves those
	// out.
	uses := map[string]int{}
	for _, r := range res.Client {
		uses[r.Local]++
	}
	// The warm-up: paired, one byte each way.
	lower, upper, n := uint64(2), uint64(2+2), 1
	for i, p := range res.Plans {
		local := res.Client[i].Local
		if paired[local] == 0 {
			continue
		}
		n++
		if !p.Mode.resets() && uses[local] == 1 && paired[local] == 1 {
			lower += 2
		}
		upper += uint64(headerLen+p.Up+p.Down) + 2
	}
	if proxied < lower || proxied > upper {
		t.Errorf("count proxied is %d; %d connections paired in the kernel bound it to [%d, %d]", proxied, n, lower, upper)
	}
	t.Logf("count proxied %d, within [%d, %d] for %d connections paired in the kernel; %d relayed in user space",
		proxied, lower, upper, n, countLines(log, "relaying it in user space"))
}

// checkMsgs checks `count msgs` of bypass_counted.sock against the
// child's writes. The sk_msg program runs in sendmsg for each chunk it
// copies; a write of at most writeChunk bytes is one chunk, so every
// write(2) that took bytes ran it exactly once (all the child's sockets
// are in the map from the moment they are established, before any
// write). A write that failed may have run it before failing (a redirect
// to a peer that was reset), or not (an error seen first). Nothing else
// in the cgroup sends.
func checkMsgs(t *testing.T, msgs uint64, rep childReport) {
	t.Helper()
	lo, hi := uint64(rep.WritesOK), uint64(rep.WritesOK+rep.WritesFailed)
	if msgs < lo || msgs > hi {
		t.Errorf("count msgs is %d; the child's %d writes that took bytes and %d that failed bound it to [%d, %d]",
			msgs, rep.WritesOK, rep.WritesFailed, lo, hi)
	}
	t.Logf("count msgs %d, within [%d, %d]", msgs, lo, hi)
}
