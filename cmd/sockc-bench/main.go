// Command sockc-bench measures sockc's data plane and compiler against the
// programs a user would pick instead, and writes the results as a
// Markdown table and an SVG plot. `make bench` and `make bench-quick` run
// it; see docs/benchmarks.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "load":
			exit(runLoad(os.Args[2:]))
		case "goproxy":
			exit(runGoProxy(os.Args[2:]))
		}
	}
	exit(runBench(os.Args[1:]))
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockc-bench:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
