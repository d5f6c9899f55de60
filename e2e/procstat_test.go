package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fdCounts are the open file descriptors of a process.
type fdCounts struct {
	All, Sockets int
}

// openFDs counts the descriptors of process pid, and the sockets among
// them.
func openFDs(t *testing.T, pid int) fdCounts {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("descriptors of sockc: %v", err)
	}
	var c fdCounts
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		c.All++
		if strings.HasPrefix(target, "socket:") {
			c.Sockets++
		}
	}
	return c
}

// memStatus is the resident memory of a process: now and its peak.
type memStatus struct {
	RSS, HWM int64 // bytes
}

func readMem(pid int) (memStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	var m memStatus
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), "VmRSS: %d kB", &kb); n == 1 {
			m.RSS = kb << 10
		}
		if n, _ := fmt.Sscanf(sc.Text(), "VmHWM: %d kB", &kb); n == 1 {
			m.HWM = kb << 10
		}
	}
	if m.HWM == 0 {
		return m, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return m, nil
}

// memSampler reads a process's VmRSS every interval until stopped, and
// keeps the largest: VmHWM gives the peak too, the samples show that it
// was not a moment at start-up.
type memSampler struct {
	pid     int
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	peakRSS int64
	samples int
	peakTCP int64 // the largest TCP mem of /proc/net/sockstat, in pages
}

func sampleMem(pid int, every time.Duration) *memSampler {
	s := &memSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			m, err := readMem(pid)
			tcp, terr := parseSockstat()
			s.mu.Lock()
			if err == nil {
				s.peakRSS = max(s.peakRSS, m.RSS)
				s.samples++
			}
			if terr == nil {
				s.peakTCP = max(s.peakTCP, tcp.MemPages)
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the largest VmRSS seen, the number
// of samples and the process's VmHWM.
func (s *memSampler) finish(t *testing.T) (peakRSS int64, samples int, hwm int64) {
	t.Helper()
	m, err := readMem(s.pid)
	if err != nil {
		t.Fatalf("memory of sockc: %v", err)
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.peakRSS, m.RSS), s.samples, m.HWM
}

// peakTCPMem returns the largest kernel TCP memory sampled, in bytes.
func (s *memSampler) peakTCPMem() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakTCP * int64(os.Getpagesize())
}

// sockstatTCP is the TCP line of /proc/net/sockstat: the TCP sockets in
// use and the pages they hold in the kernel (buffers and queued data,
// sk_msg and sk_skb queues included).
type sockstatTCP struct {
	InUse, MemPages int64
}

func readSockstat(t *testing.T) sockstatTCP {
	t.Helper()
	s, err := parseSockstat()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func parseSockstat() (sockstatTCP, error) {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return sockstatTCP{}, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "TCP: ")
		if !ok {
			continue
		}
		var s sockstatTCP
		found := 0
		f := strings.Fields(rest)
		for i := 0; i+1 < len(f); i += 2 {
			var v int64
			if _, err := fmt.Sscan(f[i+1], &v); err != nil {
				continue
			}
			switch f[i] {
			case "inuse":
				s.InUse, found = v, found+1
			case "mem":
				s.MemPages, found = v, found+1
			}
		}
		if found == 2 {
			return s, nil
		}
	}
	return sockstatTCP{}, fmt.Errorf("no TCP inuse and mem in /proc/net/sockstat:\n%s", b)
}

// ensureNoFile makes sure the process may open need descriptors, raising
// its soft RLIMIT_NOFILE up to the hard limit if needed. (Go raises the
// soft limit to the hard one at start-up already; this says so when the
// hard limit is too low.)
func ensureNoFile(t *testing.T, need uint64) {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		t.Fatalf("the load needs %d file descriptors; RLIMIT_NOFILE allows %d (hard limit)", need, lim.Max)
	}
	old := lim.Cur
	lim.Cur = need
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raise RLIMIT_NOFILE to %d: %v", need, err)
	}
	t.Logf("raised the soft RLIMIT_NOFILE from %d to %d", old, need)
}

const mib = 1 << 20

// awaitTCPMem waits for the kernel's TCP memory to come back to near
// what it was before the load. The figure is the whole machine's: if it
// stays high while more TCP sockets are open than before the load (the
// load's own are all closed by now), another program's sockets hold it,
// and it says nothing about this load.
func awaitTCPMem(t *testing.T, before sockstatTCP, peak int64) {
	t.Helper()
	page := int64(os.Getpagesize())
	end := time.Now().Add(10 * time.Second)
	for {
		now := readSockstat(t)
		if (now.MemPages-before.MemPages)*page <= tcpMemSlack {
			t.Logf("kernel TCP memory: %d KiB before the load, %d KiB at most during it, %d KiB after",
				before.MemPages*page>>10, peak>>10, now.MemPages*page>>10)
			return
		}
		if time.Now().After(end) {
			msg := fmt.Sprintf("TCP sockets hold %d KiB in the kernel 10s after the load, %d KiB before it", now.MemPages*page>>10, before.MemPages*page>>10)
			if now.InUse > before.InUse {
				t.Logf("%s; not judged: %d TCP sockets are open, %d before the load, so others hold memory too", msg, now.InUse, before.InUse)
				return
			}
			t.Error(msg)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
