package runtime

import "time"

// KillEach is killCgroup's way on kernels without cgroup.kill (before
// 5.14), for the tests to take on any kernel.
var KillEach = killEach

// SetSendBuffer applies p.SendBuffer to a socket, as the proxy does to
// each it pairs.
func (p *Proxy) SetSendBuffer(fd int) error { return p.setSendBuffer(fd) }

// HashKeys lists the keys of a sockhash.
var HashKeys = hashKeys

// SetFINWait replaces how long p waits for the bytes before a FIN that
// make no progress, on a map the program does not meter (finWait).
func (p *Proxy) SetFINWait(d time.Duration) { p.finWait = d }
