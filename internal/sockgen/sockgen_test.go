package sockgen_test

import (
	"bytes"
	"testing"

	"github.com/sockc/sockc/internal/sockgen"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// TestDeterministic checks that a seed always gives the same text, and
// that different seeds give different programs.
func TestDeterministic(t *testing.T) {
	distinct := map[string]bool{}
	const n = 200
	for seed := uint64(0); seed < n; seed++ {
		a, b := sockgen.Generate(seed), sockgen.Generate(seed)
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d gives two different programs:\n%s\n---\n%s", seed, a, b)
		}
		distinct[string(a)] = true
	}
	if len(distinct) < n*95/100 {
		t.Errorf("%d seeds give only %d distinct programs", n, len(distinct))
	}
}

// TestGeneratedParse checks that every generated program parses without a
// syntax error, and that the generator's programs check clean: it means
// them to be, so each error is a bug in the generator or the checker.
// (The kernel test of the root package compiles and loads thousands.)
func TestGeneratedParse(t *testing.T) {
	const n = 200
	clean := 0
	for seed := uint64(0); seed < n; seed++ {
		src := sockgen.Generate(seed)
		f := token.NewFile("gen.sock", src)
		errs := diag.NewCollector(f)
		file := parser.ParseFile(f, errs)
		if errs.HasErrors() {
			t.Fatalf("seed %d does not parse:\n%s\n---\n%v", seed, src, errs.List())
		}
		if check.Check(file, errs); errs.HasErrors() {
			t.Logf("seed %d is not clean: %v", seed, errs.List().Err())
			continue
		}
		clean++
	}
	t.Logf("sockgen: %d of %d generated programs check clean", clean, n)
	if clean < n*9/10 {
		t.Errorf("only %d of %d generated programs check clean, want at least 90%%", clean, n)
	}
}
