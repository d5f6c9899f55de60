package sockc_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
)

// TestKernelVerifierAcceptsCleanPrograms loads every golden case that
// compiles and every example into the running kernel, as root and with
// CAP_BPF and CAP_NET_ADMIN only: the compiler's contract is that a file
// that checks clean is accepted by the verifier, also from a caller
// without CAP_PERFMON, whose programs it checks more strictly.
func TestKernelVerifierAcceptsCleanPrograms(t *testing.T) {
	kerneltest.Require(t)
	golden, _ := filepath.Glob(filepath.Join(goldenDir, "*.sock"))
	examples, _ := filepath.Glob("examples/*.sock")
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	loaded := 0
	for _, path := range append(examples, golden...) {
		if strings.HasPrefix(filepath.Base(path), "err_") {
			continue
		}
		t.Run(strings.TrimSuffix(path, ".sock"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := sockc.Compile(filepath.Base(path), src)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{})
			if err != nil {
				var verr *ebpf.VerifierError
				if errors.As(err, &verr) {
					t.Fatalf("verifier rejected %s: %+v", path, verr)
				}
				t.Fatalf("load %s: %v", path, err)
			}
			defer coll.Close()
			if len(coll.Programs) != len(spec.Programs) || len(coll.Maps) != len(spec.Maps) {
				t.Fatalf("loaded %d programs and %d maps, spec has %d and %d",
					len(coll.Programs), len(coll.Maps), len(spec.Programs), len(spec.Maps))
			}
			kerneltest.WithBPFCapabilitiesOnly(t, func() {
				c, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{})
				if err != nil {
					t.Errorf("with CAP_BPF and CAP_NET_ADMIN only, %s does not load: %v", path, err)
					return
				}
				c.Close()
			})
			loaded++
		})
	}
	t.Logf("verifier accepted %d files", loaded)
}

// TestKernelLimits loads programs just under codegen's limits, built from
// the statements the kernel grows most when it rewrites a program (context
// loads, inlined counter lookups, ip6 keys), after a redirect whose jump
// to the shared exit spans the whole program: the size bound must leave
// room for that growth.
func TestKernelLimits(t *testing.T) {
	kerneltest.Require(t)
	repeat := func(head, line string, n int) string {
		var b strings.Builder
		b.WriteString(head)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, line, i%60000+1)
		}
		return b.String()
	}
	cases := map[string]string{
		"counts":  repeat("sockhash m: key u32\non msg to m:\n    redirect key(local_port)\n", "    count c%.0d\n", 900),
		"ports":   repeat("sockhash m: key u32\non msg to m:\n    redirect key(local_port)\n", "    if remote_port == %d: drop\n", 4000),
		"sizes":   repeat("sockmap m: max 2\non stream verdict to m:\n    redirect key(1)\n", "    if size == %d: drop\n", 4000),
		"ip6keys": repeat("sockhash m: key (ip6, ip6, port, port)\non msg to m:\n    redirect key(local_ip6, remote_ip6, local_port, remote_port)\n", "    redirect key(remote_ip6, local_ip6, remote_port, %d)\n", 173),
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			spec, err := sockc.Compile(name+".sock", []byte(src))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			coll, err := ebpf.NewCollection(spec)
			if err != nil {
				t.Fatalf("a program under the limits does not load: %v", err)
			}
			coll.Close()
		})
	}
}
