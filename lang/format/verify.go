package format

import (
	"fmt"
	"strings"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// sameTokens checks that out scans to the tokens and comments of src:
// the same words, literals and operators, and the same lines, indented
// blocks and comments, so that formatting cannot change what a file means.
func sameTokens(filename string, src, out []byte) error {
	before, _, _ := scan(filename, src)
	after, outFile, errs := scan(filename, out)
	if errs.HasErrors() {
		return fmt.Errorf("the output does not scan: %w", errs)
	}
	if len(before.Tokens) != len(after.Tokens) {
		return fmt.Errorf("the output has %d tokens, the source %d", len(after.Tokens), len(before.Tokens))
	}
	for i, a := range after.Tokens {
		if !sameToken(before.Tokens[i], a) {
			return fmt.Errorf("output line %d has %q where the source has %q", outFile.Position(a.Pos).Line, a.Text, before.Tokens[i].Text)
		}
	}
	if len(before.Comments) != len(after.Comments) {
		return fmt.Errorf("the output has %d comments, the source %d", len(after.Comments), len(before.Comments))
	}
	for i, a := range after.Comments {
		if a.Text != strings.TrimRight(before.Comments[i].Text, " \t") {
			return fmt.Errorf("output comment %q differs from the source's %q", a.Text, before.Comments[i].Text)
		}
	}
	return nil
}

func scan(filename string, src []byte) (scanner.Result, *token.File, diag.List) {
	f := token.NewFile(filename, src)
	errs := diag.NewCollector(f)
	res := scanner.Scan(f, errs)
	return res, f, errs.List()
}

// sameToken compares kind and text; the text of a Newline token is "\n"
// or, at the end of a file without a final newline, "".
func sameToken(a, b token.Token) bool {
	if a.Kind != b.Kind {
		return false
	}
	return a.Kind == token.Newline || a.Text == b.Text
}
