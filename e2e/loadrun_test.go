package e2e

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sockc/sockc/internal/bench"
)

// loadResult is what runLoad saw.
type loadResult struct {
	Params     loadParams
	Plans      []connPlan
	Client     []sideResult
	Server     []*sideResult // by plan; nil if no server connection carried its header
	Headerless []sideResult  // server connections that ended before their header
	Accepted   int           // server connections
	Writes     writeCounts
	Elapsed    time.Duration
}

// loadParams are the sizes of a load.
type loadParams struct {
	Seed  uint64
	Conns int
	Wave  int           // connections open at once
	Limit time.Duration // every connection ends by then
	// TCPCounts: every byte a side reads passed TCP's receive path,
	// where tcpi_bytes_received counts it (and a FIN as one more). Not
	// so under the bypass, whose sk_msg redirect skips that path.
	TCPCounts bool
}

// runLoad drives the plans of lp: clients dial addr, wave at a time, and
// ln, which addr leads to (directly, through a proxy or a bypass), serves
// them. Every connection is given until lp.Limit from the start to end.
func runLoad(addr string, ln net.Listener, lp loadParams) *loadResult {
	start := time.Now()
	deadline := start.Add(lp.Limit)
	pat := bench.NewPattern()
	res := &loadResult{Params: lp, Plans: makePlans(lp.Seed, lp.Conns)}
	res.Client = make([]sideResult, len(res.Plans))
	res.Server = make([]*sideResult, len(res.Plans))

	var mu sync.Mutex
	claimed := make([]bool, len(res.Plans))
	claim := func(id uint64) (connPlan, error) {
		mu.Lock()
		defer mu.Unlock()
		if id >= uint64(len(res.Plans)) || claimed[id] {
			return connPlan{}, fmt.Errorf("header names connection %d: unknown or seen before", id)
		}
		claimed[id] = true
		return res.Plans[id], nil
	}
	var servers sync.WaitGroup
	acceptDone, allAccepted := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if res.Accepted++; res.Accepted == len(res.Plans) {
				close(allAccepted)
			}
			servers.Go(func() {
				id, r := serveConn(nc.(*net.TCPConn), claim, pat, &res.Writes, deadline)
				mu.Lock()
				defer mu.Unlock()
				if id < 0 {
					res.Headerless = append(res.Headerless, r)
				} else {
					res.Server[id] = &r
				}
			})
		}
	}()

	var clients sync.WaitGroup
	sem := make(chan struct{}, lp.Wave)
	for i, p := range res.Plans {
		sem <- struct{}{}
		clients.Go(func() {
			defer func() { <-sem }()
			res.Client[i] = runClient(addr, p, pat, &res.Writes, deadline)
		})
	}
	clients.Wait()
	// Every client is done; their server ends follow within the same
	// deadline (an upstream connection can lag its client through a
	// proxy). Wait for all of them to be accepted, or the deadline.
	select {
	case <-allAccepted:
	case <-time.After(time.Until(deadline)):
	}
	ln.Close()
	<-acceptDone
	servers.Wait()
	res.Elapsed = time.Since(start)
	return res
}

// check returns every broken promise of the load.
func (res *loadResult) check() []error {
	var errs []error
	for i, p := range res.Plans {
		errs = append(errs, p.check(res.Client[i], res.Server[i], res.Params.TCPCounts)...)
	}
	for _, r := range res.Headerless {
		if r.stuck() {
			errs = append(errs, fmt.Errorf("a server connection without header got stuck: %+v", r))
		}
	}
	return errs
}

// tcpReceived sums tcpi_bytes_received of every side whose reading
// ended with its socket open: the bytes (and FINs) that came through
// TCP's receive path.
func (res *loadResult) tcpReceived() int64 {
	var n int64
	add := func(r sideResult) {
		if r.TCPReceived > 0 {
			n += r.TCPReceived
		}
	}
	for i := range res.Plans {
		add(res.Client[i])
		if s := res.Server[i]; s != nil {
			add(*s)
		}
	}
	return n
}

// bytesVerified sums the bytes both ends received and verified.
func (res *loadResult) bytesVerified() int64 {
	var n int64
	for i := range res.Plans {
		n += res.Client[i].Received
		if s := res.Server[i]; s != nil {
			n += s.Received
		}
	}
	return n
}
