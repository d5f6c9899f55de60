package check_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/disasm"
)

func TestZZBuild(t *testing.T) {
	path := os.Getenv("PROBE2")
	if path == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(path)
	for _, src := range strings.Split(string(data), "\n====\n") {
		fmt.Printf("##### %q\n", src)
		out, err := sockc.Build("p.sock", []byte(src))
		if err != nil {
			fmt.Println("ERR:", err)
			continue
		}
		out.Warnings.Format(os.Stdout)
		disasm.Spec(os.Stdout, out.Spec)
	}
}
