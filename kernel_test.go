package sockc_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
)

// TestKernelVerifierAcceptsCleanPrograms loads every golden case that
// compiles and every example into the running kernel: the compiler's
// contract is that a file that checks clean is accepted by the verifier.
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
			loaded++
		})
	}
	t.Logf("verifier accepted %d files", loaded)
}
