package format

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

// sameTokens checks that out scans to the tokens and comments of src:
// the same words, literals and operators, and the same lines, indented
// blocks and comments, so that formatting cannot change what a file means.
func sameTokens(filename string, src, out []byte) error {
	before, _ := scan(filename, src)
	after, errs := scan(filename, out)
	if errs.HasErrors() {
		return fmt.Errorf("the output does not scan: %w", errs)
	}
	if len(before.Tokens) != len(after.Tokens) {
		return fmt.Errorf("the output has %d tokens, the source %d", len(after.Tokens), len(before.Tokens))
	}
	for i, a := range after.Tokens {
		if !sameToken(before.Tokens[i], a) {
			return fmt.Errorf("output line %d has %q where the source has %q", a.Pos.Line, a.Value, before.Tokens[i].Value)
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

func scan(filename string, src []byte) (scanner.Result, diag.List) {
	f := token.NewFile(filename, src)
	errs := diag.NewCollector(f)
	res := scanner.Scan(f, errs)
	return res, errs.List()
}

// sameToken compares type and value; the value of a Newline token is "\n"
// or, at the end of a file without a final newline, "".
func sameToken(a, b lexer.Token) bool {
	if a.Type != b.Type {
		return false
	}
	return a.Type == scanner.Newline || a.Value == b.Value
}
