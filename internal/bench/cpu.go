package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CPUTimes is the machine-wide CPU time from /proc/stat, in clock ticks
// (USER_HZ, 100 per second on Linux). Benchmarks read it for the whole
// machine because a proxy in the kernel is not billed to any process: its
// work shows up as softirq time and as kernel workers (the sockmap backlog
// worker among them), wherever they run.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// userHZ is the unit of /proc/stat. It is fixed at 100 by the kernel's ABI
// on every architecture Go supports.
const userHZ = 100

// ReadCPUTimes reads the "cpu" line of /proc/stat.
func ReadCPUTimes() (CPUTimes, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return CPUTimes{}, fmt.Errorf("read cpu times: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 9 || fields[0] != "cpu" {
			continue
		}
		var v [8]uint64
		for i := range v {
			n, err := strconv.ParseUint(fields[i+1], 10, 64)
			if err != nil {
				return CPUTimes{}, fmt.Errorf("read cpu times: /proc/stat field %d: %w", i+1, err)
			}
			v[i] = n
		}
		return CPUTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	if err := sc.Err(); err != nil {
		return CPUTimes{}, fmt.Errorf("read cpu times: %w", err)
	}
	return CPUTimes{}, fmt.Errorf("read cpu times: no cpu line in /proc/stat")
}

// CPUUsage is the CPU time spent between two readings, in seconds.
type CPUUsage struct {
	User    float64 `json:"user"`    // user and nice
	System  float64 `json:"system"`  // kernel, including kernel workers
	SoftIRQ float64 `json:"softirq"` // softirq and hard irq: the network stack's receive path
}

// Total is all busy CPU time.
func (u CPUUsage) Total() float64 { return u.User + u.System + u.SoftIRQ }

// Since returns the busy time from an earlier reading to t. Steal time is
// counted as system time: on a VM it is time the work waited for a CPU.
func (t CPUTimes) Since(before CPUTimes) CPUUsage {
	sec := func(a, b uint64) float64 {
		if a < b {
			return 0
		}
		return float64(a-b) / userHZ
	}
	return CPUUsage{
		User:    sec(t.User+t.Nice, before.User+before.Nice),
		System:  sec(t.System+t.Steal, before.System+before.Steal),
		SoftIRQ: sec(t.IRQ+t.SoftIRQ, before.IRQ+before.SoftIRQ),
	}
}
