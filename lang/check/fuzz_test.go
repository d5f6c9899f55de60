package check_test

import (
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/sockc/sockc/internal/fuzzcheck"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/codegen"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// FuzzCheck parses and checks arbitrary bytes: the checker must not panic
// or hang on any tree the parser returns, broken items included; its
// diagnostics are well formed and format without panic; and it keeps its
// guarantee: a file that checks without errors compiles (code generation
// succeeds, or stops only at its documented size limits), with one
// program per map handler plus one for the sockops handlers.
func FuzzCheck(f *testing.F) {
	fuzzcheck.Fuzz(f, "../..", checkProperties)
}

// sizeLimit matches the errors of code generation's documented limits
// (docs/language.md §10), the only way a clean file may fail to compile.
var sizeLimit = regexp.MustCompile(`^program \S+ (is too large|has too many conditions): `)

// checkProperties checks src and asserts every property FuzzCheck names.
func checkProperties(src []byte) error {
	f := token.NewFile("fuzz.sock", src)
	c := diag.NewCollector(f)
	prog := check.Check(parser.ParseFile(f, c), c)
	diags := c.List()
	if err := fuzzcheck.CheckDiagnostics(f, diags); err != nil {
		return err
	}
	if diags.HasErrors() || len(prog.Handlers) == 0 {
		return nil
	}
	spec, err := codegen.Generate(prog, f)
	var ce *codegen.Error
	switch {
	case errors.As(err, &ce):
		if !sizeLimit.MatchString(ce.Msg) || !ce.Pos.IsValid() {
			return fmt.Errorf("checked clean, but code generation failed at %v: %s", f.Position(ce.Pos), ce.Msg)
		}
		return nil
	case err != nil:
		return fmt.Errorf("checked clean, but code generation failed: %w", err)
	}
	want := 0
	sockops := false
	for _, h := range prog.Handlers {
		if h.Hook.NeedsMap() != (h.Map != nil) {
			return fmt.Errorf("handler %s at %v: map %v", h.Hook, f.Position(h.Decl.Pos()), h.Map)
		}
		if h.Hook == hook.Invalid {
			return fmt.Errorf("handler at %v has no hook", f.Position(h.Decl.Pos()))
		}
		if h.Hook.Sockops() {
			sockops = true
		} else {
			want++
		}
	}
	if sockops {
		want++
	}
	if len(spec.Programs) != want {
		return fmt.Errorf("%d programs for %d handlers, want %d", len(spec.Programs), len(prog.Handlers), want)
	}
	for name, p := range spec.Programs {
		if len(p.Instructions) == 0 {
			return fmt.Errorf("program %s is empty", name)
		}
	}
	for _, m := range prog.Maps {
		if spec.Maps[m.Name] == nil {
			return fmt.Errorf("map %s is not in the spec", m.Name)
		}
	}
	return nil
}
