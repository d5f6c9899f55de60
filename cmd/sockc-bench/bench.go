package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sockc/sockc/internal/bench"
)

func runBench(args []string) error {
	fs := flag.NewFlagSet("sockc-bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "fewer workloads, rounds and seconds: a check of a change, about 3 minutes")
	rounds := fs.Int("rounds", 5, "rounds of every configuration and workload")
	duration := fs.Duration("duration", 2*time.Second, "length of each measurement")
	workloads := fs.String("workloads", "", "comma-separated workloads to run, by table name (e.g. \"bulk 1x64K,rr 64B\"; default: all)")
	configs := fs.String("configs", "", "comma-separated configurations to run (default: all)")
	sockc := fs.String("sockc", "bin/sockc", "the sockc binary")
	examples := fs.String("examples", "examples", "the directory of proxy.sock and bypass.sock")
	install := fs.Bool("install", true, "install missing peers (haproxy, socat, iperf3, sockperf) with apt-get")
	cdir := fs.String("c", "testdata/clang", "the directory of the examples' C equivalents")
	doc := fs.String("doc", "", "Markdown file whose results section to rewrite (e.g. docs/benchmarks.md)")
	svg := fs.String("plot", "", "SVG file to write the plot to")
	var variants []string
	fs.Func("proxy-program", "also run the sockc proxy with `NAME=FILE` (a .sock file or object); repeatable", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want NAME=FILE, e.g. parser=/tmp/parser.sock")
		}
		variants = append(variants, v)
		return nil
	})
	toolRounds := fs.Int("tool-rounds", 3, "rounds of the unmodified iperf3 and sockperf runs")
	toolSeconds := fs.Int("tool-seconds", 2, "seconds of each iperf3 and sockperf client run (-t)")
	toolTests := fs.String("tool-tests", "", "comma-separated iperf3 and sockperf tests to run, by table name (e.g. \"1 flow,ping-pong 64 B\"; default: all, and with -quick 1 flow and ping-pong 64 B)")
	veth := fs.Bool("veth", true, "also run iperf3 and sockperf between three network namespaces joined by veth, GRO on (needs ethtool)")
	only := fs.String("only", "", "run only the data plane with the load generator (data), the unmodified iperf3 and sockperf (tools), or the compiler (compiler)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" && *only != "data" && *only != "tools" && *only != "compiler" {
		return fmt.Errorf("-only %q: want data, tools or compiler", *only)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sockcPath, err := filepath.Abs(*sockc)
	if err != nil {
		return err
	}
	if _, err := os.Stat(sockcPath); err != nil {
		return fmt.Errorf("sockc binary: %w (run make build)", err)
	}
	if os.Geteuid() != 0 {
		return errors.New("the data-plane benchmark loads BPF programs: run it as root")
	}
	o := bench.Options{
		Env:       bench.Env{Sockc: sockcPath, Self: self, Examples: *examples},
		Rounds:    *rounds,
		Duration:  *duration,
		Workloads: bench.FullWorkloads(),
		Install:   *install,
		Veth:      *veth,
		Log:       os.Stderr,
	}
	if *quick {
		o.Workloads = bench.QuickWorkloads()
		if !flagSet(fs, "rounds") {
			o.Rounds = 3
		}
		if !flagSet(fs, "duration") {
			o.Duration = 500 * time.Millisecond
		}
		if !flagSet(fs, "tool-rounds") {
			*toolRounds = 1
		}
		if !flagSet(fs, "tool-seconds") {
			*toolSeconds = 1
		}
		if !flagSet(fs, "tool-tests") {
			*toolTests = "1 flow,ping-pong 64 B"
		}
	}
	if *workloads != "" {
		o.Workloads = nil
		for _, name := range strings.Split(*workloads, ",") {
			w, ok := bench.WorkloadNamed(strings.TrimSpace(name))
			if !ok {
				return fmt.Errorf("no workload %q", name)
			}
			o.Workloads = append(o.Workloads, w)
		}
	}
	if *toolTests != "" {
		for _, name := range strings.Split(*toolTests, ",") {
			t, ok := bench.ToolTestNamed(strings.TrimSpace(name))
			if !ok {
				return fmt.Errorf("no iperf3 or sockperf test %q", name)
			}
			o.ToolTests = append(o.ToolTests, t)
		}
	}
	if *configs != "" {
		o.Configs = strings.Split(*configs, ",")
	}
	for _, v := range variants {
		name, file, _ := strings.Cut(v, "=")
		o.Extra = append(o.Extra, bench.SockcProxyProgram(name, file))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	report := &bench.Report{Date: time.Now(), Machine: bench.ThisMachine()}
	if *only == "" || *only == "data" {
		if report.Data, err = bench.RunDataPlane(ctx, o); err != nil {
			return err
		}
	}
	if *only == "" || *only == "tools" {
		to := o
		to.Rounds, to.Duration = *toolRounds, time.Duration(*toolSeconds)*time.Second
		if report.Tools, err = bench.RunTools(ctx, to); err != nil {
			return err
		}
	}
	if *only == "" || *only == "compiler" {
		co := bench.CompilerOptions{Sockc: sockcPath, Examples: *examples, CDir: *cdir, Runs: 20, Log: os.Stderr}
		if *quick {
			co.Runs, co.BenchTime = 5, 200*time.Millisecond
		}
		report.Compiler, err = bench.RunCompiler(ctx, co)
		if err != nil {
			return err
		}
	}
	var tables bytes.Buffer
	if err := report.WriteMarkdown(&tables); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(tables.String())
	if *doc != "" {
		if err := bench.UpdateDoc(*doc, tables.Bytes()); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *doc)
	}
	if *svg != "" && report.Data != nil {
		var b bytes.Buffer
		if err := report.Data.WriteSVG(&b); err != nil {
			return err
		}
		if err := os.WriteFile(*svg, b.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *svg)
	}
	return nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
