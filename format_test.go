package sockc_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/mdfence"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/format"
)

// fmtCase is a source file that sockc fmt must handle.
type fmtCase struct {
	name  string
	src   []byte
	clean bool // it compiles: formatting must keep the program
}

// sourcePatterns are the .sock files of the repository, by directory.
var sourcePatterns = []string{
	"examples/*.sock",
	filepath.Join(goldenDir, "*.sock"),
	"e2e/testdata/*.sock",
	"runtime/testdata/scenarios/*.sock",
}

// fmtCases collects every .sock file of the repository and the programs
// of the docs: the sock blocks of docs/language.md and docs/tutorial.md,
// and the README's program blocks (the ones that check clean).
func fmtCases(t *testing.T) []fmtCase {
	t.Helper()
	var cases []fmtCase
	for _, pattern := range sourcePatterns {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, fmtCase{path, src, !strings.HasPrefix(filepath.Base(path), "err_")})
		}
	}
	for _, doc := range []string{"docs/language.md", "docs/tutorial.md", "README.md"} {
		blocks, err := mdfence.Read(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range blocks {
			lang, _, _ := strings.Cut(f.Info, " ")
			clean := !sockc.Check("block.sock", []byte(f.Body())).HasErrors()
			// The tutorial's sock blocks include the mistake it shows
			// the checker catching; it must still format.
			if lang == "sock" || doc == "README.md" && lang == "" && clean {
				cases = append(cases, fmtCase{fmt.Sprintf("%s:%d", doc, f.Line), []byte(f.Body()), clean})
			}
		}
	}
	if len(cases) < 100 {
		t.Fatalf("found %d sources to format; the repository has more", len(cases))
	}
	return cases
}

// TestFormatKeepsPrograms formats every .sock file of the repository and
// every program of the docs: the output formats to itself, and a file that
// compiles compiles to the same maps and instructions after formatting.
// Files that do not parse must be refused with their diagnostics.
func TestFormatKeepsPrograms(t *testing.T) {
	cases := fmtCases(t)
	if len(cases) < 50 {
		t.Fatalf("only %d files to format", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := format.Source(c.name, c.src)
			var diags diag.List
			if errors.As(err, &diags) && !c.clean {
				return // an err_ case that does not parse
			}
			if err != nil {
				t.Fatalf("format: %v", err)
			}
			again, err := format.Source(c.name, out)
			if err != nil {
				t.Fatalf("format of the output: %v", err)
			}
			if string(again) != string(out) {
				t.Errorf("not idempotent:\n--- first\n%s--- second\n%s", out, again)
			}
			if !c.clean {
				return
			}
			before, err := sockc.Compile(c.name, c.src)
			if err != nil {
				t.Fatalf("compile the source: %v", err)
			}
			after, err := sockc.Compile(c.name, out)
			if err != nil {
				t.Fatalf("compile the formatted source: %v\n%s", err, out)
			}
			if a, b := specText(before), specText(after); a != b {
				t.Errorf("formatting changed the program:\n--- source\n%s--- formatted\n%s", a, b)
			}
		})
	}
}

// TestSourcesFormatted: every .sock file of the repository and every
// program of the docs is in canonical form, as sockc fmt writes it, so
// that what readers copy is what the formatter would give them. The
// golden files are exempt: some are irregular on purpose, to test the
// formatter and the scanner.
func TestSourcesFormatted(t *testing.T) {
	checked := 0
	for _, c := range fmtCases(t) {
		if strings.HasPrefix(c.name, goldenDir) {
			continue
		}
		out, err := format.Source(c.name, c.src)
		if err != nil {
			t.Errorf("format %s: %v", c.name, err)
			continue
		}
		if string(out) != string(c.src) {
			t.Errorf("%s is not formatted (sockc fmt gives):\n%s", c.name, out)
		}
		checked++
	}
	t.Logf("format: %d sources and doc programs in canonical form", checked)
}

// specText describes a compiled file without its source lines: the maps,
// and each program's type, attach type, section, license and
// instructions with their references and symbols.
func specText(spec *ebpf.CollectionSpec) string {
	var b strings.Builder
	names := make([]string, 0, len(spec.Maps))
	for name := range spec.Maps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := spec.Maps[name]
		fmt.Fprintf(&b, "map %s: %v key %d value %d max %d flags %d\n", name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags)
	}
	names = names[:0]
	for name := range spec.Programs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := spec.Programs[name]
		fmt.Fprintf(&b, "program %s: %v %v %s %s\n", name, p.Type, p.AttachType, p.SectionName, p.License)
		for i, ins := range p.Instructions {
			fmt.Fprintf(&b, "%4d: %v", i, ins)
			if ref := ins.Reference(); ref != "" {
				fmt.Fprintf(&b, " ref %s", ref)
			}
			if sym := ins.Symbol(); sym != "" {
				fmt.Fprintf(&b, " sym %s", sym)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}
