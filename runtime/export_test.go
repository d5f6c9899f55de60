package runtime

// KillEach is killCgroup's way on kernels without cgroup.kill (before
// 5.14), for the tests to take on any kernel.
var KillEach = killEach

// SetSendBuffer applies p.SendBuffer to a socket, as the proxy does to
// each it pairs.
func (p *Proxy) SetSendBuffer(fd int) error { return p.setSendBuffer(fd) }

// HashKeys lists the keys of a sockhash.
var HashKeys = hashKeys
