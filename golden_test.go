package sockc_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/golden"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/disasm"
)

const goldenDir = "testdata/golden"

// render is the golden form of a compilation: the diagnostics, then (if it
// compiled) the maps and instructions.
func render(t *testing.T, name string, src []byte) (text []byte, ok bool) {
	t.Helper()
	var buf bytes.Buffer
	out, err := sockc.Build(name, src)
	var diags diag.List
	if errors.As(err, &diags) {
		diags.Format(&buf)
		return buf.Bytes(), false
	}
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	if len(out.Warnings) > 0 {
		out.Warnings.Format(&buf)
		buf.WriteString("\n")
	}
	if err := disasm.Spec(&buf, out.Spec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), true
}

// TestGolden compiles every testdata/golden/NAME.sock and compares the
// listing with NAME.golden, or the diagnostics with NAME.err. Files named
// err_* must fail to compile; all others must compile.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("only %d golden cases; the suite needs at least 30", len(files))
	}
	for _, path := range files {
		base := filepath.Base(path)
		stem := strings.TrimSuffix(path, ".sock")
		t.Run(strings.TrimSuffix(base, ".sock"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := render(t, base, src)
			wantErr := strings.HasPrefix(base, "err_")
			if ok == wantErr {
				t.Fatalf("compiled=%v, but the name says it should%s compile:\n%s", ok, map[bool]string{true: " not", false: ""}[wantErr], got)
			}
			ext, stale := ".golden", ".err"
			if !ok {
				ext, stale = ".err", ".golden"
			}
			golden.Check(t, stem+ext, got)
			if golden.Updating() {
				os.Remove(stem + stale)
			} else if _, err := os.Stat(stem + stale); err == nil {
				t.Errorf("stale %s next to %s", stem+stale, stem+ext)
			}
			if !ok && !bytes.Contains(got, []byte("^")) {
				t.Errorf("diagnostics lack a caret:\n%s", got)
			}
			again, _ := render(t, base, src)
			if !bytes.Equal(got, again) {
				t.Errorf("output differs between two compilations of the same input")
			}
		})
	}
}

// TestGoldenNoOrphans checks that every golden output has its source.
func TestGoldenNoOrphans(t *testing.T) {
	for _, ext := range []string{".golden", ".err"} {
		outs, _ := filepath.Glob(filepath.Join(goldenDir, "*"+ext))
		for _, o := range outs {
			if _, err := os.Stat(strings.TrimSuffix(o, ext) + ".sock"); err != nil {
				t.Errorf("%s has no .sock source", o)
			}
		}
	}
}

// TestProgramSizeLimit checks that a handler too large to verify quickly
// is a diagnostic at the handler, from check as well as compile, and that
// a program just under the limit compiles.
func TestProgramSizeLimit(t *testing.T) {
	gen := func(n int) []byte {
		var b strings.Builder
		b.WriteString("sockhash m: key u32\non msg to m:\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "    if size == %d: drop\n", i)
		}
		return []byte(b.String())
	}
	diags := sockc.Check("big.sock", gen(4100))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "big.sock:2:1: program msg_m is too large") {
		t.Fatalf("4100 statements: got %v, want a too-large error at the handler", diags)
	}
	if _, err := sockc.Compile("big.sock", gen(4100)); err == nil {
		t.Fatal("Compile accepted a program over the limit")
	}
	if _, err := sockc.Compile("ok.sock", gen(4000)); err != nil {
		t.Fatalf("4000 statements: %v", err)
	}
}
