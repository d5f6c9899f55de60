package sockc

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/sockc/sockc/internal/fuzzcheck"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// FuzzCompile compiles arbitrary bytes with sockc.Build: source in, either
// diagnostics or a spec out. Build turns a panic into an "internal
// compiler error" diagnostic; the target fails on it (and on the other
// internal errors of docs/language.md §11.14), and re-runs the stages
// without Build's recover to show the panic's stack. It also asserts that
// the diagnostics are well formed and format without panic; that
// compiling twice gives the same diagnostics and, when clean, the same
// object bytes; and that a file the checker accepts compiles, unless it
// has no handler or passes a size limit of code generation. It is a test
// of package sockc, not sockc_test like the directory's other tests, so
// that it runs Build's own stages rather than a copy that could drift.
func FuzzCompile(f *testing.F) {
	fuzzcheck.Fuzz(f, ".", compileProperties)
}

// internalError matches the diagnostics that report a bug in sockc rather
// than in the file (docs/language.md §11.14).
var internalError = regexp.MustCompile(`^(internal compiler error|internal error|syntax error|code generation): `)

// cleanFailure matches the errors a file may get from Build after the
// checker accepted it: no handler, or a size limit of code generation.
var cleanFailure = regexp.MustCompile(`^(the file (has|declares maps but) no handler|program \S+ (is too large|has too many conditions): )`)

// compileProperties compiles src and asserts every property FuzzCompile
// names.
func compileProperties(src []byte) error {
	const name = "fuzz.sock"
	out, err := Build(name, src)
	diags, obj, err := result(out, err)
	if err != nil {
		return err
	}
	for _, d := range diags {
		if internalError.MatchString(d.Message) {
			return fmt.Errorf("%s: %s%s", d.Pos, d.Message, stagesStack(name, src))
		}
	}
	f := token.NewFile(name, src)
	if len(diags) == 1 && !diags[0].Pos.IsValid() {
		// A verdict on the whole file (an ELF object given for its
		// source) stands alone and has no position; every other
		// diagnostic points into the file.
		if d := diags[0]; d.Message == "" || d.Pos.Filename != name {
			return fmt.Errorf("whole-file diagnostic %q without a message or file name", d.Error())
		}
		if err := fuzzcheck.CheckFormat(diags[0]); err != nil {
			return err
		}
	} else if err := fuzzcheck.CheckDiagnostics(f, diags); err != nil {
		return err
	}

	out2, err2 := Build(name, src)
	diags2, obj2, err := result(out2, err2)
	if err != nil {
		return err
	}
	if a, b := formatted(diags), formatted(diags2); a != b {
		return fmt.Errorf("two compilations disagree on the diagnostics:\n%s\n---\n%s", a, b)
	}
	if !bytes.Equal(obj, obj2) {
		return fmt.Errorf("two compilations give different objects: %d and %d bytes", len(obj), len(obj2))
	}

	if out != nil {
		return nil
	}
	c := diag.NewCollector(f)
	check.Check(parser.ParseFile(f, c), c)
	if c.HasErrors() {
		return nil
	}
	for _, d := range diags.Errors() {
		if !cleanFailure.MatchString(d.Message) {
			return fmt.Errorf("the checker accepts the file, but Build fails: %s", d.Error())
		}
	}
	return nil
}

// result splits what Build returned into its diagnostics and, for a
// clean compile, the object bytes; err is set when Build broke its
// contract.
func result(out *Output, err error) (diag.List, []byte, error) {
	var diags diag.List
	switch {
	case err == nil && out == nil:
		return nil, nil, fmt.Errorf("Build returned neither an output nor an error")
	case err == nil:
		if out.Warnings.HasErrors() {
			return nil, nil, fmt.Errorf("Build succeeded with errors: %v", out.Warnings)
		}
		obj, oerr := Object(out.Spec)
		if oerr != nil {
			return nil, nil, fmt.Errorf("Build succeeded, but the object writer fails: %w", oerr)
		}
		return out.Warnings, obj, nil
	case !errors.As(err, &diags):
		return nil, nil, fmt.Errorf("Build failed with a %T, not a diag.List: %w", err, err)
	case !diags.HasErrors():
		return nil, nil, fmt.Errorf("Build failed with no error among its diagnostics: %v", diags)
	}
	return diags, nil, nil
}

func formatted(l diag.List) string {
	var b strings.Builder
	l.Format(&b)
	return b.String()
}

// stagesStack runs Build's stages without its recover, to find where an
// "internal compiler error" panicked; it returns the stack, or "" if
// nothing panics outside Build.
func stagesStack(name string, src []byte) (trace string) {
	defer func() {
		if r := recover(); r != nil {
			trace = fmt.Sprintf("\npanic outside Build: %v\n%s", r, fuzzcheck.Stack())
		}
	}()
	f := token.NewFile(name, src)
	_, _ = Options{}.stages(f, diag.NewCollector(f))
	return ""
}
