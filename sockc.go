// Package sockc compiles sockc socket-redirect programs (SOCKMAP/SOCKHASH
// with sk_msg, sk_skb and sockops handlers) to eBPF. It is the embedding
// API of the compiler; the runtime package loads and attaches the result.
package sockc

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/check"
	"github.com/sockc/sockc/lang/codegen"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

// Output is a compiled file.
type Output struct {
	// Spec holds the maps and programs, ready for ebpf.NewCollection or
	// the ELF writer.
	Spec *ebpf.CollectionSpec
	// Program is the checked file: maps with their key layouts, handlers
	// and counters.
	Program *check.Program
	// Manifest is what a loader needs to know of Spec beyond its maps
	// and programs (codegen.Manifest): runtime.LoadSource takes it from
	// here rather than reading it back from the names.
	Manifest *abi.Manifest
	// Warnings are the diagnostics that did not stop compilation.
	Warnings diag.List
}

// Compile compiles one .sock file. On failure the error is a diag.List
// holding every diagnostic of the file (errors and warnings), each with its
// position.
func Compile(filename string, src []byte) (*ebpf.CollectionSpec, error) {
	out, err := Build(filename, src)
	if err != nil {
		return nil, err
	}
	return out.Spec, nil
}

// Options configure a build; the zero Options is what Build, Check and
// Compile use.
type Options struct {
	// MinKernel, if set, is the oldest Linux release the file must load
	// on: each handler whose program needs a newer one gets a warning
	// (on skb verdict needs 5.13). Zero checks nothing.
	MinKernel hook.KernelVersion
}

// Check parses, checks and compiles a file, and returns all diagnostics
// sorted by position; the file is clean when the list has no errors. Code
// generation runs too, because a few limits (program size) are only known
// then: a clean Check means Compile succeeds.
func Check(filename string, src []byte) diag.List { return Options{}.Check(filename, src) }

// Check is the package's Check with these options.
func (o Options) Check(filename string, src []byte) diag.List {
	out, err := o.Build(filename, src)
	var diags diag.List
	if errors.As(err, &diags) {
		return diags
	}
	if err != nil {
		return diag.List{{Severity: diag.Error, Message: err.Error(), Pos: token.Position{Filename: filename}}}
	}
	return out.Warnings
}

// Build compiles a file and returns the spec with the checked program and
// warnings. The error, if any, is a diag.List.
func Build(filename string, src []byte) (*Output, error) { return Options{}.Build(filename, src) }

// Build is the package's Build with these options.
func (o Options) Build(filename string, src []byte) (out *Output, err error) {
	if err := checkSource(filename, src); err != nil {
		return nil, err
	}
	f := token.NewFile(filename, src)
	errs := diag.NewCollector(f)
	defer func() {
		// A panic here is a bug in sockc, never the user's fault: report
		// it as a diagnostic rather than crash the embedding program.
		if r := recover(); r != nil {
			errs.Errorf(token.NoPos, token.NoPos, "internal compiler error: %v (please report this with the input file)", r)
			out, err = nil, errs.List()
		}
	}()
	return o.stages(f, errs)
}

// stages runs the compiler's stages on f, each adding its diagnostics to
// errs: parse, check (and the MinKernel warnings, if asked), and, if the
// file is clean and has a handler, generate code. It does not recover
// from a panic: Build does, and FuzzCompile runs stages alone to show
// where one came from.
func (o Options) stages(f *token.File, errs *diag.Collector) (*Output, error) {
	file := parser.ParseFile(f, errs)
	prog := check.Check(file, errs)
	if o.MinKernel != (hook.KernelVersion{}) && !errs.HasErrors() {
		check.MinKernel(prog, o.MinKernel, errs)
	}
	if errs.HasErrors() {
		return nil, errs.List()
	}
	if len(prog.Handlers) == 0 {
		// Declarations alone make no program: nothing to load or attach.
		const hint = "add a handler: on msg to MAP: ..., on stream verdict to MAP: ..., on established: ..."
		if len(file.Decls) == 0 {
			errs.Add(diag.Error, token.PosOf(0), token.NoPos, hint, "the file has no handler: there is no program to compile")
		} else {
			d := file.Decls[0]
			errs.Add(diag.Error, d.Pos(), d.End(), hint, "the file declares maps but no handler: there is no program to compile")
		}
		return nil, errs.List()
	}
	spec, gerr := codegen.Generate(prog, f)
	if gerr != nil {
		var ce *codegen.Error
		if errors.As(gerr, &ce) {
			errs.Errorf(ce.Pos, ce.End, "%s", ce.Msg)
		} else {
			errs.Errorf(token.NoPos, token.NoPos, "%s", fmt.Sprintf("code generation: %v", gerr))
		}
		return nil, errs.List()
	}
	return &Output{Spec: spec, Program: prog, Manifest: codegen.Manifest(prog), Warnings: errs.List()}, nil
}

// MaxSourceSize is the largest source file sockc reads, in bytes. sockc
// programs are small: the largest that fits the limits of one program
// (8192 instructions) is about 100 KB of source. The bound keeps the time
// and memory of checking a hostile or mistaken input (a log file, a core
// dump, a generated file gone wrong) small: the parser's worst case at
// this size, a broken file, takes about half a second
// (lang/parser/hostile_test.go).
const MaxSourceSize = 512 << 10

// ReadSource reads a source file from r, but no more than one byte past
// MaxSourceSize: enough for Build to say the file is too large, without
// reading all of /dev/zero or a huge log into memory.
func ReadSource(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, MaxSourceSize+1))
}

// checkSource rejects, with one diagnostic each, inputs that are not
// sockc source at all and would otherwise bury the user under scanner
// errors or take long to scan: a file too large, or an object file given
// where its source was meant. The diagnostic has no position: it is about
// the whole file.
func checkSource(filename string, src []byte) error {
	var msg, hint string
	switch {
	case len(src) > MaxSourceSize:
		// No size: ReadSource stops at MaxSourceSize+1 bytes, and the
		// message is the same for any larger file.
		msg = fmt.Sprintf("file too large: sockc reads at most %d bytes (%d KiB)", MaxSourceSize, MaxSourceSize>>10)
		hint = "a sockc program is a few kilobytes; is this the right file?"
	case bytes.HasPrefix(src, []byte(elf.ELFMAG)):
		msg = "this is an ELF object file, not sockc source"
		hint = "list the maps and programs of an object with: sockc objdump " + filename
	default:
		return nil
	}
	return diag.List{{Severity: diag.Error, Message: msg, Hint: hint, Pos: token.Position{Filename: filename}}}
}
