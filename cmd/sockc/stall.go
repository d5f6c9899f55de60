package main

import (
	"fmt"
	"time"

	"github.com/sockc/sockc/runtime"
)

// stallWindow is how long data must flow through a map without one
// redirect before sockc run says so. The help and docs/reliability.md
// state it.
const stallWindow = 3 * time.Second

// stallLine names the likely cause of a map whose redirects all miss.
// With sockops filling the map (a bypass), messages miss when the peer
// socket is not in it: the other end runs outside the cgroups sockc
// attached to, or the program does not insert that kind of socket.
func stallLine(s runtime.Stall, sockops bool) string {
	head := fmt.Sprintf("sockc: map %s: %d redirects in the last %v found no socket and none found one: ", s.Map, s.Missed, s.Window)
	if !sockops {
		return head + "the sockets these programs look up are not in the map (closed, or never put in it)"
	}
	return head + "the data took the TCP path, because the other end of these connections is not in " + s.Map + ". " +
		"Does it run inside the cgroup too (both ends must; a server started outside sockc run is not: see --cgroup)? " +
		"Or is it a socket the program does not insert (an AF_INET6 socket of a dual-stack or IPv6 server)? " +
		"(Connections to other hosts always miss: for them this is expected.)"
}
