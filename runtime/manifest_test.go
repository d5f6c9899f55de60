package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/keys"
)

// TestManifestAgreesWithNames: for every example and golden source that
// compiles, what the runtime takes from the compiler's manifest
// (LoadSource) is what it reads back from the names and BTF of the same
// object (Load, LoadFile of an object): where each program attaches, the
// companions of `redirect peer`, the counters and the statistics. So an
// object loaded from its file behaves as its source does.
func TestManifestAgreesWithNames(t *testing.T) {
	files, err := filepath.Glob("../examples/*.sock")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := filepath.Glob("../testdata/golden/*.sock")
	if err != nil {
		t.Fatal(err)
	}
	compiled, peers, counters, stats := 0, 0, 0, 0
	for _, f := range append(files, golden...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sockc.Build(f, src)
		if err != nil {
			continue // a golden of diagnostics
		}
		compiled++
		fromNames, err := Plan(out.Spec, nil)
		if err != nil {
			t.Errorf("%s: Plan: %v", f, err)
			continue
		}
		fromManifest, err := planManifest(out.Spec, out.Manifest, nil)
		if err != nil {
			t.Errorf("%s: planManifest: %v", f, err)
			continue
		}
		if !reflect.DeepEqual(fromManifest, fromNames) {
			t.Errorf("%s: attachments from the manifest %v, from the names %v", f, fromManifest, fromNames)
		}
		man := &Runtime{spec: out.Spec, layouts: map[string]keys.Layout{}}
		man.fromManifest(out.Manifest)
		named := &Runtime{spec: out.Spec, layouts: map[string]keys.Layout{}}
		named.fromNames()
		if !reflect.DeepEqual(man.peers, named.peers) {
			t.Errorf("%s: companions from the manifest %v, from the names %v", f, man.peers, named.peers)
		}
		if !slices.Equal(man.counters, named.counters) {
			t.Errorf("%s: counters from the manifest %v, from BTF %v", f, man.counters, named.counters)
		}
		if !reflect.DeepEqual(man.statSlots, named.statSlots) {
			t.Errorf("%s: statistics from the manifest %v, from BTF %v", f, man.statSlots, named.statSlots)
		}
		for _, m := range out.Program.Maps {
			if !man.layouts[m.Name].Equal(m.Key) {
				t.Errorf("%s: map %s: layout %v from the manifest, want %v", f, m.Name, man.layouts[m.Name], m.Key)
			}
		}
		peers += len(man.peers)
		counters += len(man.counters)
		stats += len(man.statSlots)
	}
	if compiled < 30 || peers == 0 || counters == 0 || stats == 0 {
		t.Errorf("%d files compiled, %d companions, %d counters, %d statistics: the test compared too little", compiled, peers, counters, stats)
	}
}

// TestLoadOutputWithoutOutput: an empty output is an error, not a panic.
func TestLoadOutputWithoutOutput(t *testing.T) {
	for _, out := range []*sockc.Output{nil, {}} {
		if _, err := LoadOutput(out, Options{}); err == nil || !strings.Contains(err.Error(), "no compiled output") {
			t.Errorf("LoadOutput(%v): %v, want an error naming the missing output", out, err)
		}
	}
}

// TestExplicitMapRefused: a program moved (Options.Attach) to a map the
// object lacks, or to one that holds no sockets, is refused with the
// same words whether the object came with the compiler's manifest or
// not.
func TestExplicitMapRefused(t *testing.T) {
	src := "sockhash socks: key u64\non msg to socks:\n    count msgs\n    pass\n"
	out, err := sockc.Build("moved.sock", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ m, want string }{
		{"nosuch", "program msg_socks: no map nosuch in the object"},
		{"sockc_counters", "program msg_socks: map sockc_counters is a PerCPUArray, not a sockmap or sockhash"},
	} {
		explicit := map[string]string{"msg_socks": c.m}
		if _, err := planManifest(out.Spec, out.Manifest, explicit); err == nil || err.Error() != c.want {
			t.Errorf("planManifest, msg_socks moved to %s: %v, want %q", c.m, err, c.want)
		}
		if _, err := Plan(out.Spec, explicit); err == nil || err.Error() != c.want {
			t.Errorf("Plan, msg_socks moved to %s: %v, want %q", c.m, err, c.want)
		}
	}
}
