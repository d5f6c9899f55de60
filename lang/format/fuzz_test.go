package format_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/format"
)

// FuzzSource checks on any input that Source either refuses it with
// diagnostics or formats it to a fixed point. Source itself checks that the
// output keeps the input's tokens.
func FuzzSource(f *testing.F) {
	for _, pattern := range []string{"../../examples/*.sock", "../../testdata/golden/*.sock"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			if src, err := os.ReadFile(path); err == nil {
				f.Add(src)
			}
		}
	}
	f.Add([]byte("on msg to m:\n  if size > 1:\n    drop\n  # c\n else: pass\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := format.Source("f.sock", src)
		var diags diag.List
		if errors.As(err, &diags) {
			return // it does not parse
		}
		if err != nil {
			t.Fatalf("Source: %v", err)
		}
		again, err := format.Source("f.sock", out)
		if err != nil {
			t.Fatalf("the output does not format: %v\n%s", err, out)
		}
		if string(again) != string(out) {
			t.Fatalf("not idempotent:\n--- first\n%s--- second\n%s", out, again)
		}
	})
}
