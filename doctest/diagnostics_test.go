package doctest

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// This file checks that §11 of docs/language.md, the catalogue of
// diagnostics, lists every diagnostic the compiler can print, and nothing
// the compiler no longer prints.
//
// The code side is read with go/ast, not by running the compiler: every
// call that reports a diagnostic (lang/diag's Collector.Errorf, Warnf and
// Add, the wrappers the packages define around them, the diag.Diagnostic
// literals of the root package, and in lang/codegen the errors that
// codegen.Generate returns, each of which becomes a diagnostic) gives a
// message pattern: its text with a wildcard for each part that varies (a
// fmt verb, or a value the code computes). Message and hint arguments that
// are variables are followed to what is assigned to them, and calls to the
// package's own functions to what those return, so that messages built
// through helpers are found too.
//
// The doc side is the message templates of the catalogue, in which
// upper-case words stand for the parts that vary: the bold code spans
// (**`...`**) of §11.2 to §11.13, the code spans that open the bullets of
// §11.14, and the hints, the code spans of a "hint" clause such as
// "(hint: `...`)". A pattern matches a template when the template is one of
// the texts the pattern can print, each wildcard taking the place of one
// varying part (which never holds a clause separator, ": " or "; "). A
// template documents the patterns that match it with the most fixed text:
// "write N for decimal, or 0x... for hex" documents "write %v for decimal,
// or 0x... for hex", not "write %v" as well.

// diagWild stands, in a pattern, for a part of the text that varies.
const diagWild = "\x00"

// diagSourceDirs are the packages whose diagnostics §11 catalogues: the
// scanner, the parser, the checker, the code generator, and the root
// package, which reports the whole-file and code generation diagnostics.
var diagSourceDirs = []string{".", "lang/scanner", "lang/parser", "lang/check", "lang/codegen"}

// diagCodegenDir is the package whose returned errors are diagnostics:
// sockc.Build reports every error of codegen.Generate.
const diagCodegenDir = "lang/codegen"

// diagException is a diagnostic the catalogue deliberately leaves out. For
// a message whose text is only known at run time (a pass-through of another
// error), message is "%v" and where tells which one it is.
type diagException struct {
	where   string // file:function
	kind    string // "message" or "hint"
	message string // the pattern, each varying part written %v
	reason  string
}

// diagNotInDoc lists the reports that are no user-facing diagnostic of
// their own, each with the reason.
var diagNotInDoc = []diagException{
	{"lang/parser/parser.go:reportSyntax", "message", "%v",
		"participle's own wording of a parse error other than an unexpected token; none is known to occur " +
			"(it would be a bug of the grammar, §11.14 in spirit), and its text is participle's, with no template to give"},
	{"sockc.go:Check", "message", "%v",
		"the text of an error Build returns that is not a diag.List; Build returns only diag.Lists, so this is a guard"},
	{"sockc.go:stages", "message", "%v",
		"the Msg of a codegen.Error, passed through; those messages are checked where they are made, the fmt.Errorf calls of lang/codegen"},
}

// diagEnding is a doc template that is not a whole message or hint but
// one of the alternative endings of a hint the doc gives whole once: the
// code keeps the ending in a variable.
type diagEnding struct {
	whole  string // the hint with this ending, as a template
	reason string
}

// diagDocEndings lists the templates of §11 that are endings of a hint.
// Each is checked twice: whole must match a hint of the code, and the text
// inside the parentheses must be a string the code writes.
var diagDocEndings = map[string]diagEnding{
	"(inferred from its use at LINE:COL)": {"map M has key T (inferred from its use at LINE:COL)",
		"an ending of the key hint `map M has key T (declared)`, §11.10; the code puts it in the variable origin"},
	"(a sockmap is indexed by u32)": {"map M has key T (a sockmap is indexed by u32)",
		"an ending of the key hint `map M has key T (declared)`, §11.10; the code puts it in the variable origin"},
}

// TestLanguageDocListsEveryDiagnostic: every message and hint the compiler
// can print matches a template of §11 of docs/language.md, and every
// template matches something the compiler prints.
func TestLanguageDocListsEveryDiagnostic(t *testing.T) {
	text, err := os.ReadFile("docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	tmpls, err := diagCatalogue(string(text))
	if err != nil {
		t.Fatal(err)
	}
	var code, values []diagMsg
	for _, dir := range diagSourceDirs {
		pkg, err := diagLoad(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, vals, err := pkg.collect()
		if err != nil {
			t.Fatal(err)
		}
		code, values = append(code, msgs...), append(values, vals...)
	}
	rep := diagCompare(code, values, tmpls, diagNotInDoc, diagDocEndings)
	for _, p := range rep.problems {
		t.Error(p)
	}
	if rep.messages < 40 || rep.msgTemplates < 40 || rep.hints < 20 {
		t.Errorf("only %d messages, %d templates and %d hints: the reading of the code or of the doc is broken",
			rep.messages, rep.msgTemplates, rep.hints)
	}
	t.Logf("language: %d diagnostic messages of the compiler found in §11.2, %d templates matched to code",
		rep.messages, rep.msgTemplates)
	t.Logf("language: %d diagnostic hints of the compiler found in §11.2, %d hint templates matched to code",
		rep.hints, rep.hintTemplates)
}

// TestLanguageDiagnosticCatalogueSeesGaps feeds the reading and the
// comparison a message the doc lacks, a template the code lacks, a
// message reported through a wrapper, and stale exceptions, and requires
// each to be reported.
func TestLanguageDiagnosticCatalogueSeesGaps(t *testing.T) {
	src := `package fake

import (
	"fmt"

	"github.com/sockc/sockc/lang/diag"
)

type checker struct{ errs *diag.Collector }

func (c *checker) errorf(n node, format string, args ...any) {
	c.errs.Errorf(n.Pos(), n.End(), format, args...)
}

func (c *checker) hintf(n node, hint, format string, args ...any) {
	c.errs.Add(diag.Error, n.Pos(), n.End(), hint, format, args...)
}

func (c *checker) run(n node, name string, k int) {
	c.errorf(n, "unknown map %s", name)
	c.errorf(n, "frobnicated %d widgets", k)
	c.errorf(n, "widget %s", name)
	c.errorf(n, "widget %s is broken", name)
	msg := "expected " + name
	if k > 1 {
		msg = fmt.Sprintf("gadget %d is %s", k, name)
	}
	c.hintf(n, suggest(k), "%s", msg)
	c.errs.Warnf(n.Pos(), n.End(), "unreachable statement")
}

func suggest(k int) string {
	if k > 0 {
		return "did you mean " + fmt.Sprint(k) + "?"
	}
	return "try harder"
}
`
	pkg, err := diagLoad("fake", map[string]string{"fake/fake.go": src})
	if err != nil {
		t.Fatal(err)
	}
	code, values, err := pkg.collect()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range code {
		got = append(got, m.kind+": "+diagShow(m.pattern))
	}
	sort.Strings(got)
	want := []string{
		"hint: did you mean %v?",
		"hint: try harder",
		"message: expected %v",
		"message: frobnicated %v widgets",
		"message: gadget %v is %v",
		"message: unknown map %v",
		"message: warning: unreachable statement",
		"message: widget %v",
		"message: widget %v is broken",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("collected\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	doc := "## 11. Diagnostics\n\n### 11.2 Catalogue\n\n" +
		"**`unknown map M`** (hint: `did you mean\nN?`, otherwise `try harder`). Not `a hint`.\n\n" +
		"```sock-error\nsockhash m\n**`not a template`**\n```\n<!-- error: **`nor this`** -->\n\n" +
		"**`expected WHAT`**, **`gadget N is NAME`**, **`widget W is broken`**.\n\n" +
		"**`warning: unreachable statement`**\n\n**`gizmo G exploded`** (hint: `the default`).\n\n" +
		"### 11.14 Internal errors\n\n- `internal error: DETAILS` and `oops: DETAILS`: bugs.\n\n## 12. Next\n\n**`outside`**\n"
	tmpls, err := diagCatalogue(doc)
	if err != nil {
		t.Fatal(err)
	}
	var tt []string
	for _, tm := range tmpls {
		tt = append(tt, tm.kind+": "+tm.text)
	}
	wantT := "message: unknown map M\nhint: did you mean N?\nhint: try harder\nmessage: expected WHAT\nmessage: gadget N is NAME\n" +
		"message: widget W is broken\n" +
		"message: warning: unreachable statement\nmessage: gizmo G exploded\nhint: the default\n" +
		"message: internal error: DETAILS\nmessage: oops: DETAILS"
	if strings.Join(tt, "\n") != wantT {
		t.Fatalf("templates\n%s\nwant\n%s", strings.Join(tt, "\n"), wantT)
	}

	allowed := []diagException{{"fake/fake.go:gone", "message", "vanished %v", "stale"}}
	rep := diagCompare(code, values, tmpls, allowed, nil)
	all := strings.Join(rep.problems, "\n")
	for _, want := range []string{
		`"frobnicated %v widgets" is not in the catalogue`,
		// It matches "widget W is broken", but the template is the other's.
		`"widget %v" is not in the catalogue`,
		`"gizmo G exploded" matches no message`,
		`"the default" matches no hint`,
		`"internal error: DETAILS" matches no message`,
		`"vanished %v" of fake/fake.go:gone is no longer reported`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the comparison does not say %s; it says\n%s", want, all)
		}
	}
	for _, clean := range []string{"unknown map", "expected %v", "gadget", "did you mean", "try harder", "unreachable", `"widget %v is broken"`} {
		if strings.Contains(all, clean) {
			t.Errorf("the comparison reports %q, which the doc has; it says\n%s", clean, all)
		}
	}
	if rep.messages != 5 || rep.msgTemplates != 5 {
		t.Errorf("figures: %d messages, %d templates matched; want 5 and 5", rep.messages, rep.msgTemplates)
	}
	rep = diagCompare(code, values, tmpls, []diagException{{"fake/fake.go:run", "message", "unknown map %v", "wrong"}}, nil)
	if all := strings.Join(rep.problems, "\n"); !strings.Contains(all, `"unknown map %v" is in the catalogue`) {
		t.Errorf("an exception the doc lists is not reported:\n%s", all)
	}
}

// TestLanguageDiagnosticMatch pins down what a pattern matches.
func TestLanguageDiagnosticMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, template string
		want              bool
	}{
		{"unknown map %s", "unknown map M", true},
		{"unknown map %s", "unknown field M", false},
		{"invalid integer literal %s", "invalid integer literal X", true},
		// A varying part is one value, never a clause of its own.
		{"invalid integer literal %s", "invalid integer literal X: leading zero", false},
		{"%s 0 does nothing: the byte count must be at least 1", "cork 0 does nothing: ...", true},
		{"%s 0 does nothing: the byte count must be at least 1", "cork 1 does nothing: ...", false},
		{"add: on stream verdict to %s: ...", "add: on stream verdict to M: ...", true},
		{"100%% sure", "100% sure", true},
		{"second %s (first at %s)", "second on HOOK handler (first at LINE:COL)", true},
		{"frobnicated %d widgets", "frobnicated N gadgets", false},
	} {
		p := diagVerbs(tc.pattern)
		if got := diagMatch(p, diagTemplatePattern(tc.template)); got != tc.want {
			t.Errorf("diagMatch(%q, %q) = %v, want %v", tc.pattern, tc.template, got, tc.want)
		}
	}
}
