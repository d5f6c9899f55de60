package check

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/parser"
	"github.com/sockc/sockc/lang/token"
)

func TestZZProbe(t *testing.T) {
	path := os.Getenv("PROBE")
	if path == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(path)
	for _, src := range strings.Split(string(data), "\n====\n") {
		f := token.NewFile("p.sock", []byte(src))
		c := diag.NewCollector(f)
		af := parser.ParseFile(f, c)
		p := Check(af, c)
		w := bufio.NewWriter(os.Stdout)
		fmt.Fprintf(w, "##### %q\n", src)
		for _, m := range p.Maps {
			fmt.Fprintf(w, "  map %s %v key=%v declared=%v max=%d\n", m.Name, m.Kind, m.Key, m.KeyDeclared, m.Max)
		}
		for _, ctr := range p.Counters {
			fmt.Fprintf(w, "  counter %s %d\n", ctr.Name, ctr.Index)
		}
		c.List().Format(w)
		w.Flush()
	}
}
