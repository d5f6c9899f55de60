// Package kerneltest gates tests that need the running kernel: they skip
// with a clear message when the process cannot load BPF programs, unless
// SOCKC_REQUIRE_KERNEL=1, which turns the skip into a failure so that CI
// never skips a kernel test silently.
package kerneltest

import (
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/rlimit"

	"github.com/sockc/sockc/runtime"
)

// RequireEnv is the variable that makes kernel tests mandatory.
const RequireEnv = "SOCKC_REQUIRE_KERNEL"

// Required reports whether kernel tests must run.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Require skips (or, when required, fails) t unless the process may load
// BPF programs and attach them: root, or CAP_BPF with CAP_NET_ADMIN.
//
// It also lifts RLIMIT_MEMLOCK, as sockc's own entry points do: before
// Linux 5.11 every map and program counts against it (64 KiB by default),
// and the tests load through cilium/ebpf directly too.
func Require(t testing.TB) {
	t.Helper()
	if reason := missing(); reason != "" {
		Unavailable(t, reason)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Logf("RLIMIT_MEMLOCK stays as it is: %v", err)
	}
}

// Unavailable skips t, or fails it when kernel tests are required.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatalf("kernel test cannot run: %s (%s=1 forbids skipping)", reason, RequireEnv)
	}
	t.Skipf("kernel test skipped: %s (run as root; %s=1 makes this a failure)", reason, RequireEnv)
}

// missing says what the process lacks to load and attach sockc's
// programs, by the runtime's own rule (runtime.LackingCapabilities: the
// effective set, so that a root shell with capabilities dropped is not
// taken for able), or "" if nothing.
func missing() string {
	lacks, err := runtime.LackingCapabilities()
	switch {
	case err != nil:
		return "cannot " + err.Error()
	case len(lacks) > 0:
		return "needs root, or " + strings.Join(lacks, " and ")
	}
	return ""
}
