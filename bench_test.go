package sockc_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/bench"
)

// BenchmarkCompile times the whole compiler, source to spec, on each
// example and each generated program of the benchmark harness:
//
//	go test -run - -bench Compile .
func BenchmarkCompile(b *testing.B) {
	for _, p := range benchPrograms(b) {
		b.Run(p.Name, func(b *testing.B) {
			src := []byte(p.Sock)
			for b.Loop() {
				if _, err := sockc.Compile(p.Name, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObject times compiling and writing the ELF object.
func BenchmarkObject(b *testing.B) {
	for _, p := range benchPrograms(b) {
		b.Run(p.Name, func(b *testing.B) {
			src := []byte(p.Sock)
			for b.Loop() {
				spec, err := sockc.Compile(p.Name, src)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sockc.Object(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchPrograms(b *testing.B) []bench.Program {
	files, err := filepath.Glob("examples/*.sock")
	if err != nil {
		b.Fatal(err)
	}
	var ps []bench.Program
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, bench.Program{Name: filepath.Base(f), Sock: string(src)})
	}
	return append(ps, bench.GeneratedPrograms()...)
}
