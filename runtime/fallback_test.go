package runtime_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
	"github.com/sockc/sockc/runtime/features"
)

// The fallbacks of kernels older than this machine's, taken here by
// telling the runtime the kernel lacks the feature (features.Assume), so
// that the path every Debian kernel takes is tested on the host too; the
// kernel matrix then runs them where they are the only way.

// loadAssuming loads src as if the kernel had the features in have; with
// have nil, Load probes the kernel.
func loadAssuming(t *testing.T, name, src string, have map[features.ID]bool) (*runtime.Runtime, error) {
	t.Helper()
	kerneltest.Require(t)
	var opts runtime.Options
	if have != nil {
		k, err := features.Running()
		if err != nil {
			t.Fatal(err)
		}
		opts.Features = features.Assume(k, have)
	}
	rt, err := runtime.LoadSource(name, []byte(src), opts)
	if err == nil {
		t.Cleanup(func() {
			if err := rt.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	return rt, err
}

// linksOf counts the BPF links of the kernel whose program is prog.
func linksOf(t *testing.T, prog *ebpf.Program) int {
	t.Helper()
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	n := 0
	var it link.Iterator
	defer it.Close()
	for it.Next() {
		if li, err := it.Link.Info(); err == nil && li.Program == id {
			n++
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProgAttachFallback runs the echo example attached with
// BPF_PROG_ATTACH, as on every kernel before 6.10, and with a link where
// the kernel has them: bytes come back either way, and the attachment is
// the one asked for.
func TestProgAttachFallback(t *testing.T) {
	src, err := os.ReadFile("../examples/echo.sock")
	if err != nil {
		t.Fatal(err)
	}
	for _, links := range []bool{false, true} {
		name := map[bool]string{false: "prog_attach", true: "link"}[links]
		t.Run(name, func(t *testing.T) {
			// The fallback is forced; links are what the kernel has.
			var assume map[features.ID]bool
			if !links {
				assume = map[features.ID]bool{features.SockmapLinks: false}
			}
			rt, err := loadAssuming(t, "echo.sock", string(src), assume)
			if err != nil {
				t.Fatal(err)
			}
			if links && !rt.Features().Has(features.SockmapLinks) {
				t.Skip("this kernel has no sockmap links (before 6.10): only the fallback applies")
			}
			prog, err := rt.Program("stream_verdict_echo_socks")
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]int{false: 0, true: 1}[links]
			if n := linksOf(t, prog); n != want {
				t.Fatalf("%d links to the program, want %d", n, want)
			}
			m, err := rt.Map("echo_socks")
			if err != nil {
				t.Fatal(err)
			}
			ln := listen(t)
			c, s := connPair(t, ln)
			if err := m.Pair(s, s); err != nil {
				t.Fatal(err)
			}
			if err := roundTrip(c, 1<<20); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSkbVerdictNeedsItsAttachType: without BPF_SK_SKB_VERDICT (before
// 5.13) Load refuses an skb verdict handler in one sentence naming the
// release that brings it, before it creates anything.
func TestSkbVerdictNeedsItsAttachType(t *testing.T) {
	kerneltest.Require(t)
	base := kerneltest.Snapshot(t, "svmap")
	_, err := loadAssuming(t, "sv.sock", "sockmap svmap: max 2\non skb verdict to svmap: pass\n",
		map[features.ID]bool{features.SkbVerdictAttach: false})
	const want = "program skb_verdict_svmap: on skb verdict needs Linux 5.13 (BPF_SK_SKB_VERDICT); this kernel is "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), ": use on stream verdict") {
		t.Fatalf("Load = %v, want %q...", err, want)
	}
	if left := base.New(t); len(left) > 0 {
		t.Fatalf("a refused load created %v", left)
	}
}

// TestKillWithoutCgroupKill empties a cgroup the way kernels before 5.14
// must, where cgroup.kill is missing: a process tree that forks, in the
// cgroup and in a child of it, all die.
func TestKillWithoutCgroupKill(t *testing.T) {
	kerneltest.Require(t)
	path, remove, err := runtime.NewChildCgroup("sockc-killtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := remove(); err != nil {
			t.Error(err)
		}
	})
	child := filepath.Join(path, "leaf")
	if err := os.Mkdir(child, 0o755); err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for _, dir := range []string{path, child} {
		fd, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		// A shell that keeps forking sleepers: what a kill must outrun.
		cmd := exec.Command("sh", "-c", "while :; do sleep 100 & sleep 0.01; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(fd.Fd())}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		fd.Close()
		cmds = append(cmds, cmd)
	}
	if err := runtime.KillEach(path); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range cmds {
		err := cmd.Wait()
		if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !st.Signaled() || st.Signal() != syscall.SIGKILL {
			t.Errorf("%v ended with %v, want SIGKILL", cmd.Args, err)
		}
	}
	for _, dir := range []string{path, child} {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil || len(strings.TrimSpace(string(data))) > 0 {
			t.Errorf("%s still holds %q (%v)", dir, data, err)
		}
	}
}
