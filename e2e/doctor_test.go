package e2e

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime/features"
)

// doctorJSON is the part of `sockc doctor --json` the test reads.
type doctorJSON struct {
	Kernel struct {
		Release string `json:"release"`
		Version string `json:"version"`
	} `json:"kernel"`
	CanRun   bool     `json:"can_run"`
	Problems []string `json:"problems"`
	Features []struct {
		Name     string `json:"name"`
		Status   string `json:"status"`
		Probed   bool   `json:"probed"`
		Fallback bool   `json:"fallback"`
		Needed   bool   `json:"needed"`
	} `json:"features"`
	Bugs []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"bugs"`
}

// doctorExpect is what each kernel must report, from the releases that
// brought each feature (kernel commits and release notes, not sockc's own
// table): the kernel matrix runs this on 5.10, 6.1, 6.12 and the host.
var doctorExpect = []struct {
	name  string
	since features.Version // zero: no release has it
}{
	{"BPF_SK_SKB_VERDICT", features.V(5, 13, 0)},
	{"BPF links for sk_msg and sk_skb programs", features.V(6, 10, 0)},
	{"cgroup.kill", features.V(5, 14, 0)},
	{"BPF memory charged to the memory cgroup", features.V(5, 11, 0)},
	{"bpf_get_socket_cookie in sk_skb programs", features.V(4, 14, 0)},
	{"bpf_get_socket_cookie in sockops programs", features.V(4, 19, 0)},
	{"bpf_get_socket_cookie in sk_msg programs", features.Version{}},
}

// TestDoctor runs `sockc doctor` as root and as a user without
// capabilities. As root sockc can run (status 0), the kernel is the one
// uname names, every feature sockc needs is reported as the kernel's
// release says, each of those a probe could decide having been probed, and
// the last line names the fallbacks taken. Without capabilities it cannot
// (status 1), and says why.
func TestDoctor(t *testing.T) {
	kerneltest.Require(t)
	out, err := timed(t, time.Minute, sockcBin, "doctor", "--json").Output()
	if err != nil {
		t.Fatalf("sockc doctor --json: %v\n%s", err, out)
	}
	var r doctorJSON
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("sockc doctor --json: %v\n%s", err, out)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	kernel, err := features.ParseVersion(r.Kernel.Version)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kernel.Release != release || !strings.HasPrefix(release, kernel.Short()) {
		t.Errorf("doctor says kernel %s (Linux %s); uname -r says %s", r.Kernel.Release, r.Kernel.Version, release)
	}
	if !r.CanRun || len(r.Problems) > 0 {
		t.Errorf("doctor says sockc cannot run here: %v", r.Problems)
	}
	status := map[string]string{}
	var fallbacks []string
	probed := 0
	for _, f := range r.Features {
		status[f.Name] = f.Status
		if f.Status == "no" && f.Needed && f.Fallback {
			fallbacks = append(fallbacks, f.Name)
		}
		if f.Probed {
			probed++
		}
	}
	for _, e := range doctorExpect {
		want := "no"
		if e.since != (features.Version{}) && !kernel.Before(e.since) {
			want = "yes"
		}
		if status[e.name] != want {
			t.Errorf("Linux %s: %s is %q, want %q", kernel, e.name, status[e.name], want)
		}
	}
	// Links, skb verdict, cgroup.kill and the three helpers can always be
	// probed as root (memcg accounting only while RLIMIT_MEMLOCK is low).
	if probed < 6 {
		t.Errorf("only %d features were probed:\n%s", probed, out)
	}
	if len(r.Bugs) < 3 {
		t.Errorf("%d known bugs reported, want at least 3", len(r.Bugs))
	}

	text, err := timed(t, time.Minute, sockcBin, "doctor").Output()
	if err != nil {
		t.Fatalf("sockc doctor: %v\n%s", err, text)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	last := lines[len(lines)-1]
	want := "sockc can run here."
	if len(fallbacks) > 0 {
		want = "sockc can run here, with " + strconv.Itoa(len(fallbacks)) + " fallback(s): " + strings.Join(fallbacks, "; ") + "."
	}
	if last != want {
		t.Errorf("sockc doctor ends\n%s\nwant\n%s", last, want)
	}
	t.Logf("kernel matrix: doctor on %s: %s", release, last)

	nobody := capProfile{name: "uid65534-without-any", uid: 65534}
	verifyProfile(t, nobody)
	cmd := nobody.command(t, time.Minute, sockcBin, "doctor")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	text, err = cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("sockc doctor without capabilities: %v, want exit status 1\n%s%s", err, text, stderr.String())
	}
	const cannot = "sockc cannot run here: capabilities: this process lacks CAP_BPF and CAP_NET_ADMIN"
	if !strings.Contains(string(text), cannot) {
		t.Errorf("sockc doctor without capabilities says\n%s\nwant a line with %q", text, cannot)
	}
}
