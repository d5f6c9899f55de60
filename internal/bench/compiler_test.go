package bench

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReadyArgs: the `sockc run` mode of each example follows from its
// compiled programs, not from words in its text: a comment that names a
// hook or `redirect peer` changes nothing.
func TestReadyArgs(t *testing.T) {
	want := map[string][]string{
		"bypass.sock": {"--", "true"},
		"echo.sock":   {"--accept", "127.0.0.1:0"},
		"proxy.sock":  {"--proxy", "127.0.0.1:0=127.0.0.1:9"},
	}
	files, err := filepath.Glob("../../examples/*.sock")
	if err != nil {
		t.Fatal(err)
	}
	var ps []Program
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, Program{Name: filepath.Base(f), Sock: string(src), File: f})
	}
	if len(ps) != len(want) {
		t.Errorf("%d examples, the test knows %d: say what `sockc run` needs for the new one", len(ps), len(want))
	}
	ps = append(ps, Program{Name: "words.sock", Sock: `# Not on established, nor redirect peer: count them all.
sockhash socks: key u64
on msg to socks: pass
`})
	for _, p := range append(ps, GeneratedPrograms()...) {
		got, err := readyArgs(p)
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		if w, ok := want[p.Name]; (ok || p.Name == "words.sock") && !slices.Equal(got, w) {
			t.Errorf("readyArgs(%s) = %q, want %q", p.Name, got, w)
		}
	}
}
