// Package bench measures sockc's data plane and compiler against the
// programs a user would choose instead, and renders the results.
package bench

import (
	"fmt"
	"time"
)

// Kind is what a workload does on its connections.
type Kind string

// The workloads of the data-plane benchmark.
const (
	// Bulk streams bytes from client to server for the duration, on
	// Flows connections at once, in writes of Size bytes.
	Bulk Kind = "bulk"
	// PingPong sends a Size-byte request and waits for the Size-byte echo,
	// one at a time on one connection, and records each round trip.
	PingPong Kind = "rr"
	// Connect opens a connection, exchanges one 64-byte message and
	// closes it, over and over.
	Connect Kind = "connect"
)

// Workload is one kind of traffic with its parameters.
type Workload struct {
	Kind  Kind `json:"kind"`
	Flows int  `json:"flows"` // concurrent connections (Bulk)
	Size  int  `json:"size"`  // write size (Bulk) or message size (PingPong)
}

// Name is the workload's short name in tables and flags.
func (w Workload) Name() string {
	switch w.Kind {
	case Bulk:
		return fmt.Sprintf("bulk %dx%s", w.Flows, sizeName(w.Size))
	case PingPong:
		return fmt.Sprintf("rr %s", sizeName(w.Size))
	default:
		return string(w.Kind)
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	default:
		return fmt.Sprintf("%dB", n)
	}
}

// connectMessage is the size of the one exchange of a Connect workload.
const connectMessage = 64

// FullWorkloads returns the workloads of `make bench`, in a new slice the
// caller may change.
func FullWorkloads() []Workload {
	return []Workload{
		{Kind: Bulk, Flows: 1, Size: 4 << 10},
		{Kind: Bulk, Flows: 1, Size: 64 << 10},
		{Kind: Bulk, Flows: 8, Size: 4 << 10},
		{Kind: Bulk, Flows: 8, Size: 64 << 10},
		{Kind: PingPong, Size: 64},
		{Kind: PingPong, Size: 16 << 10},
		{Kind: Connect},
	}
}

// WorkloadNamed finds a workload of FullWorkloads by its Name.
func WorkloadNamed(name string) (Workload, bool) {
	for _, w := range FullWorkloads() {
		if w.Name() == name {
			return w, true
		}
	}
	return Workload{}, false
}

// QuickWorkloads returns the workloads of `make bench-quick`, one of each
// kind, in a new slice the caller may change.
func QuickWorkloads() []Workload {
	return []Workload{
		{Kind: Bulk, Flows: 1, Size: 64 << 10},
		{Kind: Bulk, Flows: 8, Size: 64 << 10},
		{Kind: PingPong, Size: 64},
		{Kind: Connect},
	}
}

// Result is what one run of one workload measured. Every byte counted in
// Bytes was verified by its receiver.
type Result struct {
	Bytes   uint64        `json:"bytes"`   // payload bytes verified by receivers
	Seconds float64       `json:"seconds"` // the measured window
	Ops     int           `json:"ops"`     // requests or connections completed
	P50     time.Duration `json:"p50"`     // latency percentiles (PingPong, Connect)
	P99     time.Duration `json:"p99"`
	P999    time.Duration `json:"p999"`
	Stalls  int           `json:"stalls"` // operations slower than 10x the median
	CPU     CPUUsage      `json:"cpu"`    // machine-wide, over the window
}

// Throughput is verified bytes per second.
func (r Result) Throughput() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Bytes) / r.Seconds
}

// Rate is operations per second.
func (r Result) Rate() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Seconds
}

// CPUPerGB is machine-wide CPU seconds per 10^9 verified bytes.
func (r Result) CPUPerGB() float64 {
	if r.Bytes == 0 {
		return 0
	}
	return r.CPU.Total() / (float64(r.Bytes) / 1e9)
}

// CPUPerOp is machine-wide CPU time per operation.
func (r Result) CPUPerOp() time.Duration {
	if r.Ops == 0 {
		return 0
	}
	return time.Duration(r.CPU.Total() / float64(r.Ops) * float64(time.Second))
}

// StallRate is the fraction of operations slower than 10x the median.
func (r Result) StallRate() float64 {
	if r.Ops == 0 {
		return 0
	}
	return float64(r.Stalls) / float64(r.Ops)
}
