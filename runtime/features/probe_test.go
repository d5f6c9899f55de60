package features_test

import (
	"testing"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
	"github.com/sockc/sockc/runtime/features"
)

// TestProbeAgreesWithVersion probes the running kernel and holds every
// probe that decided to what the kernel's version says: a probe that
// reads EPERM as "absent", or a version table that is wrong, fails here
// (and, through sockc doctor's test, on every kernel of the matrix).
func TestProbeAgreesWithVersion(t *testing.T) {
	kerneltest.Require(t)
	mount, _ := runtime.Cgroup2Mount()
	s, err := features.Probe(features.ProbeOptions{Cgroup2: mount})
	if err != nil {
		t.Fatal(err)
	}
	byVersion := features.Assume(s.Kernel, nil)
	probed := 0
	for _, f := range features.All() {
		r := s.Result(f.ID)
		t.Logf("%-45s %-7s probed=%v %s", f.Name, r.Status, r.Probed, r.Note)
		if !r.Probed {
			continue
		}
		probed++
		if want := byVersion.Result(f.ID).Status; r.Status != want {
			t.Errorf("%s: the probe says %s, Linux %s should say %s", f.Name, r.Status, s.Kernel.Version, want)
		}
	}
	// Links, skb verdict, cgroup.kill (tests run in a child cgroup or
	// see one) and the three helper probes must decide as root.
	if probed < 6 {
		t.Errorf("only %d probes decided", probed)
	}
}
