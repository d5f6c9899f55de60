package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// connMode is how one connection of an integrity load ends.
type connMode uint8

const (
	// modeDuplex: both sides send at once, each shuts down its writing
	// side when done, and each reads the other's stream to EOF.
	modeDuplex connMode = iota
	// modeHalfClose: the client sends everything and shuts down its
	// writing side; only after reading that FIN does the server send its
	// answer, and the client reads it to EOF.
	modeHalfClose
	// modeResetClient: the client sends Cut bytes of its Up and closes
	// with SO_LINGER 0 (RST) while the server still expects more.
	modeResetClient
	// modeResetServer: the server sends Cut bytes of its Down and closes
	// with SO_LINGER 0 while the client still expects more.
	modeResetServer
)

func (m connMode) String() string {
	return [...]string{"duplex", "half-close", "client reset", "server reset"}[m]
}

// resets reports whether one side of the mode resets the connection.
func (m connMode) resets() bool { return m == modeResetClient || m == modeResetServer }

// connPlan is what one connection of the load does. The client sends an
// 8-byte header with ID first, so that the server, which accepts the
// connections in any order (and, behind a proxy, from another address),
// knows which plan it serves.
type connPlan struct {
	ID   uint64
	Mode connMode
	Up   int64 // bytes the client sends after the header (stream 2*ID)
	Down int64 // bytes the server sends (stream 2*ID+1)
	// Cut is, in the reset modes, how much of its stream the resetting
	// side sends before the reset: less than it would send, so that the
	// other side, which expects all of it, must see the connection break.
	Cut int64
}

// upStream and downStream are the bench.Pattern stream ids of a
// connection's two directions: distinct for every connection and
// direction, so that bytes crossing into another stream are caught.
func (p connPlan) upStream() uint64   { return 2 * p.ID }
func (p connPlan) downStream() uint64 { return 2*p.ID + 1 }

func (p connPlan) String() string {
	s := fmt.Sprintf("conn %d (%s, up %d, down %d", p.ID, p.Mode, p.Up, p.Down)
	if p.Mode.resets() {
		s += fmt.Sprintf(", reset after %d", p.Cut)
	}
	return s + ")"
}

// maxConnBytes is the largest stream of one direction.
const maxConnBytes = 4 << 20

// makePlans draws n connection plans from seed. Sizes run from 1 byte to
// 4 MiB, log-uniform in the square of a uniform variable: half of the
// streams are under 50 bytes, one in eleven is over 1 MiB, and a stream
// averages 140 KiB, so 1,000 connections move about 270 MiB both ways.
// Half of the connections are duplex, a quarter half-close, an eighth
// reset from each side. The first four connections are the extremes:
// 1-byte and 4-MiB streams.
func makePlans(seed uint64, n int) []connPlan {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	size := func() int64 {
		u := rng.Float64()
		return max(1, min(maxConnBytes, int64(math.Exp(u*u*math.Log(maxConnBytes)))))
	}
	plans := make([]connPlan, n)
	for i := range plans {
		p := connPlan{ID: uint64(i), Up: size(), Down: size()}
		switch r := rng.IntN(8); {
		case r < 4:
			p.Mode = modeDuplex
		case r < 6:
			p.Mode = modeHalfClose
		case r < 7:
			p.Mode = modeResetClient
		default:
			p.Mode = modeResetServer
		}
		switch i {
		case 0:
			p.Mode, p.Up, p.Down = modeDuplex, 1, 1
		case 1:
			p.Mode, p.Up, p.Down = modeDuplex, maxConnBytes, maxConnBytes
		case 2:
			p.Mode, p.Up, p.Down = modeHalfClose, maxConnBytes, 1
		case 3:
			p.Mode, p.Up, p.Down = modeHalfClose, 1, maxConnBytes
		}
		// A reset needs a stream of at least 2 bytes to stop in the
		// middle of.
		switch p.Mode {
		case modeResetClient:
			p.Up = max(p.Up, 2)
			p.Cut = rng.Int64N(p.Up)
		case modeResetServer:
			p.Down = max(p.Down, 2)
			p.Cut = rng.Int64N(p.Down)
		}
		plans[i] = p
	}
	return plans
}

// planCounts sums what a set of plans asks for.
type planCounts struct {
	HalfCloses, Resets int
}

func countPlans(plans []connPlan) planCounts {
	var c planCounts
	for _, p := range plans {
		switch {
		case p.Mode == modeHalfClose:
			c.HalfCloses++
		case p.Mode.resets():
			c.Resets++
		}
	}
	return c
}
