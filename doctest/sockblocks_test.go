package doctest

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sockc/sockc"
)

// docBlock is a fenced code block of docs/language.md.
type docBlock struct {
	line int
	kind string // sock, sock-error, sock-warning
	src  string
	want string // the message an error or warning block must produce
}

var expectRE = regexp.MustCompile(`^<!-- (error|warning): (.*) -->$`)

// readDocBlocks collects the ```sock, ```sock-error and ```sock-warning
// blocks of a Markdown file, with the <!-- error: ... --> or
// <!-- warning: ... --> line that follows each error or warning block.
func readDocBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	var blocks []docBlock
	for _, f := range readFences(t, path) {
		if !strings.HasPrefix(f.Info, "sock") {
			continue
		}
		b := docBlock{line: f.Line, kind: f.Info, src: f.Body()}
		if m := expectRE.FindStringSubmatch(f.Next()); m != nil && b.kind != "sock" {
			b.want = m[2]
		}
		blocks = append(blocks, b)
	}
	return blocks
}

var fromFileRE = regexp.MustCompile("^For `((?:testdata|examples)/[\\w./-]+\\.sock)`:$")

// TestLanguageDocBlocksFromFiles: a block that the doc introduces as a
// file of the repository ("For `testdata/golden/NAME.sock`:") is that
// file, so that the listing shown after it is the golden one.
func TestLanguageDocBlocksFromFiles(t *testing.T) {
	found := 0
	for _, f := range readFences(t, "docs/language.md") {
		m := fromFileRE.FindStringSubmatch(f.Intro())
		if m == nil {
			continue
		}
		found++
		data, err := os.ReadFile(m[1])
		if err != nil {
			t.Errorf("docs/language.md:%d: the block is introduced as %s: %v", f.Line, m[1], err)
			continue
		}
		if string(data) != f.Body() {
			t.Errorf("docs/language.md:%d: the block differs from %s, which it says it is:\n--- doc\n%s--- file\n%s", f.Line, m[1], f.Body(), data)
		}
	}
	if found == 0 {
		t.Error("docs/language.md introduces no block as a file of the repository; the -S listing of §12 did")
	}
}

// TestLanguageDocBlocks compiles every code block of docs/language.md:
// sock blocks must be clean, sock-error blocks must fail with the message
// the document quotes, sock-warning blocks must compile with that warning.
func TestLanguageDocBlocks(t *testing.T) {
	blocks := readDocBlocks(t, "docs/language.md")
	counts := map[string]int{}
	for _, b := range blocks {
		counts[b.kind]++
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) {
			diags := sockc.Check("doc.sock", []byte(b.src))
			var text strings.Builder
			diags.Format(&text)
			switch b.kind {
			case "sock":
				if len(diags) != 0 {
					t.Errorf("block at docs/language.md:%d should compile cleanly:\n%s", b.line, text.String())
				}
			case "sock-error", "sock-warning":
				if b.want == "" {
					t.Fatalf("block at docs/language.md:%d has no <!-- %s: ... --> line after it", b.line, strings.TrimPrefix(b.kind, "sock-"))
				}
				if (b.kind == "sock-error") != diags.HasErrors() {
					t.Errorf("block at docs/language.md:%d: has errors = %v:\n%s", b.line, diags.HasErrors(), text.String())
				}
				if !strings.Contains(text.String(), b.want) {
					t.Errorf("block at docs/language.md:%d: diagnostics lack %q:\n%s", b.line, b.want, text.String())
				}
			default:
				t.Errorf("unknown block kind %q at docs/language.md:%d", b.kind, b.line)
			}
		})
	}
	if counts["sock"] < 10 || counts["sock-error"] < 40 {
		t.Errorf("found %v blocks; the reference should keep its examples", counts)
	}
}
