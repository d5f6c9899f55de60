// Command sockc compiles, checks and runs sockc socket-redirect programs.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
