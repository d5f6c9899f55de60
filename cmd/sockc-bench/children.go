package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sockc/sockc/internal/bench"
)

// runLoad is the load generator, run by the harness in a process of its
// own (inside `sockc run` for the bypass): it serves and drives one
// workload and writes the result as JSON.
func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var l bench.Load
	kind := fs.String("kind", "bulk", "workload: bulk, rr or connect")
	fs.IntVar(&l.Workload.Flows, "flows", 1, "concurrent connections (bulk)")
	fs.IntVar(&l.Workload.Size, "size", 64<<10, "write or message size in bytes")
	fs.DurationVar(&l.Duration, "duration", 2*time.Second, "how long to send")
	fs.StringVar(&l.Listen, "listen", "127.0.0.1:0", "the server's address")
	fs.StringVar(&l.Connect, "connect", "", "where the client connects (default: the server)")
	out := fs.String("out", "", "write the result here (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l.Workload.Kind = bench.Kind(*kind)
	if l.Connect == "" {
		l.Connect = l.Listen
	}
	r, err := l.Run(context.Background())
	if err != nil {
		return fmt.Errorf("%s: %w", l.Workload.Name(), err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = fmt.Println(string(b))
		return err
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

// runGoProxy is the userspace proxy the harness compares sockc with. It
// prints "listening on ADDR" when ready and stops on SIGTERM or SIGINT.
func runGoProxy(args []string) error {
	fs := flag.NewFlagSet("goproxy", flag.ContinueOnError)
	mode := fs.String("mode", "rw", "rw (read/write loop) or copy (io.Copy)")
	listen := fs.String("listen", "127.0.0.1:0", "address to accept on")
	upstream := fs.String("upstream", "", "address to relay to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	context.AfterFunc(ctx, func() { ln.Close() })
	return bench.ServeGoProxy(ln, *upstream, bench.GoProxyMode(*mode))
}
