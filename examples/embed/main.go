// Command embed compiles a sockc program with the sockc package and runs
// it with the runtime package, inside an ordinary Go program: an echo
// server whose bytes never leave the kernel. It is the last-but-one
// chapter of docs/tutorial.md; run it as root:
//
//	go run ./examples/embed
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/runtime"
)

// source is the program: every socket in echo is paired with itself, so
// what it receives goes straight back out of it.
const source = `
sockhash echo: key u64
on stream verdict to echo:
    count echoed
    redirect peer
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run() error {
	// The compiler: source in, eBPF maps and programs out, with its
	// account of them (where each program attaches, the counters). A
	// mistake in the source comes back as a diag.List, one diagnostic
	// per mistake.
	out, err := sockc.Build("echo.sock", []byte(source))
	var diags diag.List
	if errors.As(err, &diags) {
		diags.Format(os.Stderr)
		return errors.New("echo.sock does not compile")
	}
	if err != nil {
		return err
	}
	fmt.Println("compiled echo.sock: programs", names(out.Spec.Programs), "maps", names(out.Spec.Maps))

	// The runtime: create the maps, load the programs, attach them.
	// Close removes everything again.
	rt, err := runtime.LoadOutput(out, runtime.Options{})
	if err != nil {
		return err
	}
	defer rt.Close()
	echo, err := rt.Map("echo")
	if err != nil {
		return err
	}

	// A Proxy without an upstream pairs each client with itself: an
	// in-kernel echo server, what `sockc run --accept` does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- (&runtime.Proxy{Map: echo}).Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	// A client: send a line, read it back.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	msg := []byte("hello from Go")
	if _, err := c.Write(msg); err != nil {
		return err
	}
	back := make([]byte, len(msg))
	if _, err := io.ReadFull(c, back); err != nil {
		return err
	}
	fmt.Printf("sent %q, got back %q\n", msg, back)

	counters, err := rt.Counters()
	if err != nil {
		return err
	}
	fmt.Printf("the verdict program echoed %d message(s) in the kernel\n", counters["echoed"])
	return nil
}

// names lists the keys of a map of programs or maps, sorted.
func names[V any](m map[string]V) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
