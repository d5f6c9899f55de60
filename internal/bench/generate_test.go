package bench

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sockc/sockc"
)

func TestGeneratedProgramsCompile(t *testing.T) {
	ps := GeneratedPrograms()
	if want := 2 * len(generatedSizes); len(ps) != want {
		t.Fatalf("%d generated programs, want %d (two families of %d sizes)", len(ps), want, len(generatedSizes))
	}
	names := map[string]bool{}
	for _, p := range ps {
		t.Run(p.Name, func(t *testing.T) {
			if p.Name == "" {
				t.Fatal("a program without a name")
			}
			if names[p.Name] {
				t.Errorf("two programs are named %q", p.Name)
			}
			names[p.Name] = true
			if p.File != "" {
				t.Errorf("a generated program names a file: %q", p.File)
			}
			spec, err := sockc.Compile(p.Name, []byte(p.Sock))
			if err != nil {
				t.Fatalf("sockc.Compile:\n%s\nerror: %v", p.Sock, err)
			}
			if len(spec.Programs) != 1 {
				t.Errorf("%d programs in the spec, want 1", len(spec.Programs))
			}
			if _, ok := spec.Maps["backends"]; !ok {
				t.Errorf("no backends map in the spec; maps: %v", spec.Maps)
			}
			if !strings.Contains(p.C, `SEC("license")`) {
				t.Error(`the C source has no SEC("license")`)
			}
			for _, want := range []string{"#include <linux/bpf.h>", "backends SEC(\".maps\")", "return SK_DROP;"} {
				if !strings.Contains(p.C, want) {
					t.Errorf("the C source has no %q", want)
				}
			}
		})
	}
}

// TestGeneratedProgramsGrow: each size has as many rules, in both
// languages, as its name says.
func TestGeneratedProgramsGrow(t *testing.T) {
	ps := GeneratedPrograms()
	for _, n := range generatedSizes {
		for _, family := range []string{"msg dispatch", "verdict dispatch"} {
			name := fmt.Sprintf("%s %d", family, n)
			var p *Program
			for i := range ps {
				if ps[i].Name == name {
					p = &ps[i]
				}
			}
			if p == nil {
				t.Errorf("no program %q", name)
				continue
			}
			if got := strings.Count(p.Sock, "redirect key("); got != n {
				t.Errorf("%s: %d sockc rules, want %d", name, got, n)
			}
			redirects := strings.Count(p.C, "bpf_msg_redirect_hash(") + strings.Count(p.C, "bpf_sk_redirect_map(")
			if redirects != n {
				t.Errorf("%s: %d C redirects, want %d", name, redirects, n)
			}
		}
	}
}
