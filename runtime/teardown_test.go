package runtime_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
	"github.com/sockc/sockc/runtime/features"
)

const teardownSrc = `sockhash tdmap: key (ip4, port, ip4, port)
on established:
    count tdseen
    update tdmap key(local_ip4, local_port, remote_ip4, remote_port)
on msg to tdmap: redirect key(remote_ip4, remote_port, local_ip4, local_port) ingress
`

// TestCloseRemovesEverything loads maps, programs, links, pins and a cgroup
// attachment, fills the map with sockets, closes, and checks with the
// kernel's listings that nothing of it remains.
func TestCloseRemovesEverything(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "tdmap")
	pins := filepath.Join(kerneltest.PinDir(t), "pinned", "deeper")
	rt, err := runtime.LoadSource("td.sock", []byte(teardownSrc), runtime.Options{PinDir: pins})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			rt.Close()
		}
	})
	cg, removeCg, err := runtime.NewChildCgroup("sockc-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeCg() })
	if err := rt.AttachCgroup(cg); err != nil {
		t.Fatal(err)
	}
	m, err := rt.Map("tdmap")
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	c, s := connPair(t, ln)
	if err := m.Put(s, s.LocalAddr().(*net.TCPAddr).AddrPort().Addr(), uint16(s.LocalAddr().(*net.TCPAddr).Port),
		c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(), uint16(c.LocalAddr().(*net.TCPAddr).Port)); err != nil {
		t.Fatal(err)
	}
	if objs := base.New(t); len(objs) < 2 {
		t.Fatalf("before Close the kernel lists %v; want our maps and programs", objs)
	}
	if entries, _ := os.ReadDir(pins); len(entries) != 3 {
		t.Fatalf("pins: %v, want tdmap, sockc_counters and sockc_mapstats", entries)
	}
	if ids, err := cgroupProgs(cg); err != nil || len(ids) != 1 {
		t.Fatalf("cgroup %s has %d sockops programs (%v), want 1", cg, len(ids), err)
	}

	closed = true
	if err := rt.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	base.AwaitGone(t)
	if _, err := os.Stat(filepath.Dir(pins)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin directory %s (made by Load) remains (%v)", filepath.Dir(pins), err)
	}
	if ids, err := cgroupProgs(cg); err != nil || len(ids) != 0 {
		t.Errorf("cgroup %s still has %d sockops programs (%v)", cg, len(ids), err)
	}
	// The socket left the map with it and works as plain TCP.
	c.Write([]byte("plain"))
	if got := readExactly(t, s, 5); got != "plain" {
		t.Errorf("after Close, s got %q", got)
	}
}

func cgroupProgs(path string) ([]link.AttachedProgram, error) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: mustOpenFD(path), Attach: ebpf.AttachCGroupSockOps})
	if err != nil {
		return nil, err
	}
	return res.Programs, nil
}

func mustOpenFD(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	// Leaked on purpose for the query's duration; the test process exits soon.
	return int(f.Fd())
}

// TestFailedSetupLeavesNothing makes Load fail half way (the second of two
// programs cannot attach: the kernel takes only one of stream verdict and
// skb verdict per map) and checks that the maps and programs it had
// created are gone. A kernel without skb verdict (before 5.13) refuses
// the pair before it creates anything, which must leave nothing too.
func TestFailedSetupLeavesNothing(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "fsmap")
	spec, err := sockc.Compile("fs.sock", []byte("sockmap fsmap: max 2\non stream verdict to fsmap: pass\n"))
	if err != nil {
		t.Fatal(err)
	}
	second := spec.Programs["stream_verdict_fsmap"].Copy()
	second.Name = "skb_verdict_fsmap"
	second.AttachType = ebpf.AttachSkSKBVerdict
	second.SectionName = "sk_skb"
	spec.Programs[second.Name] = second

	_, err = runtime.Load(spec, runtime.Options{})
	want := "another program of that kind"
	var missing *features.MissingError
	if errors.As(err, &missing) && missing.Feature.ID == features.SkbVerdictAttach {
		want = "on skb verdict needs Linux 5.13"
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Load = %v, want %q", err, want)
	}
	base.AwaitGone(t)

	// A pin directory that is not on bpffs fails after the maps exist.
	_, err = runtime.LoadSource("fs.sock", []byte("sockmap fsmap: max 2\non stream verdict to fsmap: pass\n"),
		runtime.Options{PinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "bpffs") {
		t.Fatalf("Load with a pin directory on tmpfs = %v, want a bpffs error", err)
	}
	base.AwaitGone(t)
}
