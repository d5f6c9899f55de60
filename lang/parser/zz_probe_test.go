package parser

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/scanner"
	"github.com/sockc/sockc/lang/token"
)

func TestZZProbe(t *testing.T) {
	path := os.Getenv("PROBE")
	if path == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(path)
	for _, src := range strings.Split(string(data), "\n====\n") {
		src = strings.ReplaceAll(src, "\\t", "\t")
		f := token.NewFile("p.sock", []byte(src))
		c := diag.NewCollector(f)
		res := scanner.Scan(f, c)
		w := bufio.NewWriter(os.Stdout)
		fmt.Fprintf(w, "##### %q\n", src)
		if os.Getenv("TOKS") != "" {
			for _, tk := range res.Tokens {
				fmt.Fprintf(w, "  %d %q %d:%d@%d\n", tk.Type, tk.Value, tk.Pos.Line, tk.Pos.Column, tk.Pos.Offset)
			}
		}
		f2 := token.NewFile("p.sock", []byte(src))
		c2 := diag.NewCollector(f2)
		af := ParseFile(f2, c2)
		fmt.Fprintf(w, "decls=%d\n", len(af.Decls)); for _, d := range af.Decls { fmt.Fprintf(w, "  %T %+v\n", d, d) }
		c2.List().Format(w)
		w.Flush()
	}
}
