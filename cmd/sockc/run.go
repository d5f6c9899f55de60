package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/spf13/cobra"

	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/runtime"
	"github.com/sockc/sockc/runtime/features"
)

type runFlags struct {
	cgroups []string
	proxies []string
	accepts []string
	mapName string
	pin     string
	stats   time.Duration
	drain   time.Duration
	sndbuf  int
	// flowControl turns on runtime.Proxy.FlowControl.
	flowControl bool
	verbose     bool
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run FILE(.sock|.o) [flags] [-- COMMAND ARGS...]",
		Short: "Load a program, attach it, feed it sockets, and tear it all down at exit",
		Long: `run compiles FILE (or reads a BPF object), creates its maps, loads its
programs and attaches them: sk_msg and sk_skb programs to their maps,
sockops programs to a cgroup. It prints "sockc: ready" on stderr once
everything is attached and listening, and removes everything it created
when it ends (SIGINT or SIGTERM: exit status 0).

Sockets reach the maps in three ways:
  -- COMMAND ARGS   run COMMAND in a fresh child cgroup with the sockops
                    program attached (only COMMAND and its children are
                    affected), and exit with its status when it ends;
                    SIGINT/SIGTERM are passed on, a second one kills it
  --cgroup PATH     attach the sockops program to an existing cgroup2 dir
                    (repeatable, and with a command too): a bypass needs
                    both ends of a connection in scope
  --proxy L=U       accept on L, dial U, pair both sockets in the peer map:
                    an in-kernel TCP proxy (sockc never touches the bytes)
  --accept ADDR     accept on ADDR and pair each connection with itself:
                    with examples/echo.sock, an in-kernel echo server

When data flows through a map for 3s without one redirect finding its
socket, run says so once on stderr, with the likely cause (for a bypass:
the other end is outside the cgroups, or a socket the program does not
insert). --stats prints, per map, the sockets in it and those inserted,
and the redirects that found their socket and those that missed.

On SIGINT or SIGTERM, --proxy and --accept stop accepting, let the open
connections finish for up to --drain (10s), and then reset the ones still
open, both sides: a client sees its stream end whole, or a reset, never
a FIN after missing bytes. A second signal resets them at once. A client
whose upstream cannot be reached is reset too.

Killed with SIGKILL, sockc cannot tear down. The kernel removes its
programs, links and maps once the sockets in them are closed (COMMAND
gets SIGKILL too). Pins stay: the next run with the same --pin DIR
replaces them. The command's cgroup stays, with whatever COMMAND started:
the next sockc run kills that and removes the cgroup. Both say so on
stderr.`,
		Example: `  # As root. An echo server in the kernel: every byte comes back unseen.
  $ sockc run examples/echo.sock --accept 127.0.0.1:7777 &
  sockc: accepting on 127.0.0.1:7777
  sockc: ready
  $ echo hello | socat - TCP:127.0.0.1:7777
  hello
  $ kill %1

  # An in-kernel TCP proxy, with a line of statistics every 5 s.
  $ sockc run examples/proxy.sock --proxy 127.0.0.1:8080=127.0.0.1:80 --stats 5s

  # Same-host bypass for an iperf3 server and its client, both in one
  # cgroup of their own: both ends of a connection must be in scope.
  $ sockc run examples/bypass.sock -- sh -c 'iperf3 -s -1 & sleep 1; iperf3 -c 127.0.0.1'`,
		Args: func(c *cobra.Command, args []string) error {
			if n := c.ArgsLenAtDash(); n == 0 || len(args) == 0 {
				return usageErrorf("run: missing FILE (see 'sockc run --help')")
			} else if n > 1 || n < 0 && len(args) > 1 {
				return usageErrorf("run: unexpected arguments %v; put the command after --", args[1:])
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			var command []string
			if n := c.ArgsLenAtDash(); n >= 0 {
				command = args[n:]
				if len(command) == 0 {
					return usageErrorf("run: no command after --")
				}
			}
			return runRun(c.ErrOrStderr(), args[0], command, f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.cgroups, "cgroup", nil, "attach the sockops program to the cgroup2 directory `PATH` (repeatable; with a command, besides the command's)")
	fl.StringArrayVar(&f.proxies, "proxy", nil, "proxy `LISTEN=UPSTREAM` in the kernel (repeatable)")
	fl.StringArrayVar(&f.accepts, "accept", nil, "accept on `ADDR` and pair each connection with itself (repeatable)")
	fl.StringVar(&f.mapName, "map", "", "the peer `MAP` for --proxy and --accept (default: the map 'redirect peer' uses; in a program without one, the only sockhash keyed by u64)")
	fl.StringVar(&f.pin, "pin", "", "pin the maps under the bpffs directory `DIR`, locked while sockc runs (stale pins of a killed run are replaced)")
	fl.DurationVar(&f.stats, "stats", 0, "print one line of statistics every `DURATION`")
	fl.DurationVar(&f.drain, "drain", 10*time.Second, "on SIGINT or SIGTERM, let open --proxy and --accept connections finish for up to `DURATION`, then reset the rest (a second signal resets them at once)")
	fl.IntVar(&f.sndbuf, "send-buffer", runtime.DefaultSendBuffer, "give each --proxy and --accept socket a send buffer of `BYTES` (the kernel doubles it; 0 leaves it to the kernel's autotuning, which slows one fast flow to a third: see docs/benchmarks.md)")
	fl.BoolVar(&f.flowControl, "flow-control", false, "bound what the kernel queues for a --proxy or --accept peer that reads slowly or not at all, as a proxy in user space would (off by default: it slows an echo that is bulk both ways; needs Linux 5.13 or later; see docs/reliability.md)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "say what happens")
	return cmd
}

func runRun(stderr io.Writer, file string, command []string, f runFlags) (err error) {
	logf := func(format string, args ...any) {}
	if f.verbose {
		logf = func(format string, args ...any) { fmt.Fprintf(stderr, "sockc: "+format+"\n", args...) }
	}
	specs, err := checkRunArgs(file, f)
	if err != nil {
		return err
	}

	// Signals are caught from here on: a Ctrl-C during setup still
	// removes what was made.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	firstSig := make(chan os.Signal, 1)
	// abort ends the proxies' drain: a second signal, when no command
	// takes the signals.
	abort := make(chan struct{})
	exited := make(chan struct{})
	defer close(exited)
	go func() {
		select {
		case sig := <-sigs:
			firstSig <- sig
			cancel()
		case <-ctx.Done():
			return
		}
		if len(command) > 0 {
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "sockc: second signal: resetting the connections still open")
			close(abort)
		case <-exited:
		}
	}()

	notef := func(format string, args ...any) { fmt.Fprintf(stderr, "sockc: "+format+"\n", args...) }
	rt, kernel, err := loadRun(stderr, file, f.pin, notef)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rt.Close(); cerr != nil {
			fmt.Fprintf(stderr, "sockc: teardown: %v\n", cerr)
			if err == nil {
				err = &exitError{code: exitInput}
			}
		}
	}()
	removeStaleCgroups(notef)
	// After the load, so that a refusal stays the one line it is.
	logf("%s", kernel.Summary())
	for _, a := range rt.Attachments() {
		if a.Map != "" {
			logf("attached %s to map %s (%s)", a.Program, a.Map, a.Type)
		}
	}
	if err := attachCgroups(rt, file, command, f.cgroups, logf); err != nil {
		return err
	}

	// Listen on everything first, then serve.
	var proxies []*runtime.Proxy
	var listeners []net.Listener
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	if len(specs) > 0 {
		var err error
		proxies, listeners, err = listenProxies(stderr, rt, file, specs, f, abort, logf)
		if err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	serveErrs := make(chan error, len(proxies))
	for i, p := range proxies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Serve(ctx, listeners[i]); err != nil {
				serveErrs <- err
				cancel()
			}
		}()
	}
	// Stop serving (cancel) before waiting for the servers; deferred
	// calls run last first.
	defer wg.Wait()
	defer cancel()

	stallsDone := make(chan struct{})
	go func() {
		defer close(stallsDone)
		rt.WatchStalls(ctx, stallWindow, func(s runtime.Stall) { fmt.Fprintln(stderr, stallLine(s, rt.HasSockops())) })
	}()
	// The watcher reads the maps: it ends before teardown closes them.
	defer func() { cancel(); <-stallsDone }()

	if f.stats > 0 {
		statsCtx, stopStats := context.WithCancel(ctx)
		statsDone := make(chan struct{})
		go func() {
			defer close(statsDone)
			printStats(statsCtx, stderr, rt, proxies, f.stats)
		}()
		defer func() {
			// One last line with the final figures, once the proxies
			// have drained, before teardown.
			cancel()
			wg.Wait()
			stopStats()
			<-statsDone
			fmt.Fprintln(stderr, statsLine(rt, proxies))
		}()
	}

	if len(command) > 0 {
		return runCommand(ctx, stderr, rt, command, sigs, firstSig)
	}
	fmt.Fprintln(stderr, "sockc: ready")
	<-ctx.Done()
	select {
	case err := <-serveErrs:
		return &exitError{code: exitInput, msg: err.Error()}
	default:
		logf("signal received; removing everything")
		return nil
	}
}

// peerMap finds the map --proxy and --accept pair sockets in.
func peerMap(rt *runtime.Runtime, name string) (*runtime.Map, error) {
	if name != "" {
		m, err := rt.Map(name)
		if err != nil {
			// The flag names a map the program lacks, or one that
			// holds no sockets: the command line is wrong.
			return nil, usageErrorf("run: --map: %v (maps: %s)", err, strings.Join(rt.MapNames(), ", "))
		}
		return m, nil
	}
	cands := rt.PeerMaps()
	if len(cands) == 0 {
		// A foreign object: any sockhash keyed by u64 cookies.
		for _, n := range rt.MapNames() {
			_, companion := abi.PeerOf(n)
			if ms := rt.Spec().Maps[n]; ms.Type == ebpf.SockHash && ms.KeySize == 8 && !companion {
				cands = append(cands, n)
			}
		}
	}
	switch len(cands) {
	case 0:
		return nil, errors.New("--proxy and --accept need a program with `redirect peer` (a sockhash keyed by u64 cookies), and this one has none")
	case 1:
		return rt.Map(cands[0])
	}
	return nil, fmt.Errorf("several maps could pair sockets (%s): choose one with --map", strings.Join(cands, ", "))
}

// runCommand starts the command in its own cgroup and returns its exit
// status. SIGINT and SIGTERM go to the command as they come; a second one
// kills every process of its cgroup.
func runCommand(ctx context.Context, stderr io.Writer, rt *runtime.Runtime, command []string, sigs, firstSig <-chan os.Signal) error {
	path, err := exec.LookPath(command[0])
	if err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("run: %v", err)}
	}
	cmd := exec.Command(path, command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The command lives no longer than sockc. Killed with SIGKILL, sockc
	// runs no teardown, so the kernel sends the command SIGKILL. (What the
	// command started itself survives that; the next sockc run finds it
	// in the stale cgroup and kills it.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// With sockops handlers the command runs in a cgroup of its own;
	// without, it simply runs while the programs are attached (say, a
	// client of --proxy).
	wait, kill := cmd.Wait, func() error { return cmd.Process.Kill() }
	release, err := onOwnThread(func() error {
		if rt.HasSockops() {
			c, err := rt.StartCommand(cmd)
			if err != nil {
				return &exitError{code: exitInput, msg: err.Error()}
			}
			wait, kill = c.Wait, c.Kill
		} else if err := cmd.Start(); err != nil {
			return &exitError{code: exitInput, msg: fmt.Sprintf("run: %v", err)}
		}
		return nil
	})
	// Deferred calls run last first: the thread is released only after
	// the command has been waited for.
	defer release()
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "sockc: ready")
	done := make(chan error, 1)
	go func() { done <- wait() }()
	var werr error
	select {
	case werr = <-done:
	case sig := <-firstSig:
		cmd.Process.Signal(sig)
		select {
		case werr = <-done:
		case <-sigs:
			fmt.Fprintln(stderr, "sockc: second signal: killing the command")
			kill()
			werr = <-done
		}
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code := ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			code = 128 + int(st.Signal())
		}
		if rest := errors.Unwrap(werr); rest != nil && rest != ee {
			fmt.Fprintf(stderr, "sockc: %v\n", werr)
		}
		return &exitError{code: code}
	}
	if werr != nil {
		return &exitError{code: exitInput, msg: werr.Error()}
	}
	return nil
}

// onOwnThread runs start on an OS thread reserved for it until release is
// called. Pdeathsig fires when the thread that forked the child ends, not
// the process, and Go ends a thread when a goroutine locked to it returns:
// a thread that any goroutine could lock and leave would kill the command
// at random. This one stays locked, and so alive, until release.
func onOwnThread(start func() error) (release func(), err error) {
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		errc <- start()
		<-done
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }, <-errc
}

// removeStaleCgroups removes the cgroups that killed sockc runs left, and
// kills what still ran in them, one line each.
func removeStaleCgroups(notef func(string, ...any)) {
	stale, err := runtime.RemoveStaleCgroups(runtime.CommandCgroupPrefix)
	for _, c := range stale {
		what := "it was empty"
		if len(c.Killed) > 0 {
			what = fmt.Sprintf("killed what still ran in it: %s", strings.Join(c.Killed, ", "))
		}
		notef("removed stale cgroup %s of sockc pid %d, which was killed; %s", c.Path, c.Owner, what)
	}
	if err != nil {
		notef("stale cgroups: %v", err)
	}
}

func printStats(ctx context.Context, w io.Writer, rt *runtime.Runtime, proxies []*runtime.Proxy, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fmt.Fprintln(w, statsLine(rt, proxies))
	}
}

// statsLine is one line of figures: sockets per map, counters, proxied
// connections.
func statsLine(rt *runtime.Runtime, proxies []*runtime.Proxy) string {
	var parts []string
	ms, _ := rt.MapStats()
	for _, n := range rt.MapNames() {
		if m, err := rt.Map(n); err == nil {
			if k, err := m.Len(); err == nil {
				parts = append(parts, fmt.Sprintf("%s=%d", n, k))
			}
		}
		if st, ok := ms[n]; ok {
			parts = append(parts, fmt.Sprintf("%s.inserted=%d %s.redirected=%d %s.missed=%d", n, st.Inserted, n, st.Redirected, n, st.Missed))
		}
	}
	if ctr, err := rt.Counters(); err == nil && len(ctr) > 0 {
		names := make([]string, 0, len(ctr))
		for n := range ctr {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("count.%s=%d", n, ctr[n]))
		}
	}
	var st runtime.ProxyStats
	for _, p := range proxies {
		s := p.Stats()
		st.Accepted += s.Accepted
		st.Active += s.Active
		st.FailedDials += s.FailedDials
		st.Relayed += s.Relayed
		st.Closed += s.Closed
		st.Aborted += s.Aborted
		st.Held += s.Held
	}
	if len(proxies) > 0 {
		// relayed: connections copied in user space because a side
		// closed before the pair was made; an operator should see how
		// much traffic misses the kernel path. aborted: connections
		// reset because sockc stopped before they ended. held: times a
		// connection's bytes were held back because its other side fell
		// behind (flow control), and copied by sockc.
		parts = append(parts, fmt.Sprintf("proxied=%d active=%d closed=%d relayed=%d failed=%d aborted=%d held=%d",
			st.Accepted, st.Active, st.Closed, st.Relayed, st.FailedDials, st.Aborted, st.Held))
	}
	return "sockc: stats " + strings.Join(parts, " ")
}

// checkRunArgs checks everything about the command line before the
// kernel is touched, so that usage errors are status 2 for everyone, and
// returns the --proxy and --accept specs.
func checkRunArgs(file string, f runFlags) ([]proxySpec, error) {
	if f.sndbuf < 0 {
		return nil, usageErrorf("run: --send-buffer %d: want a number of bytes, 0 or more", f.sndbuf)
	}
	if f.drain < 0 {
		return nil, usageErrorf("run: --drain %v: want a duration of 0 or more", f.drain)
	}
	seen := map[string]bool{}
	for _, cg := range f.cgroups {
		if seen[filepath.Clean(cg)] {
			return nil, usageErrorf("run: --cgroup %s given twice", cg)
		}
		seen[filepath.Clean(cg)] = true
	}
	specs, err := parseProxySpecs(f.proxies, f.accepts)
	if err != nil {
		return nil, err
	}
	if f.flowControl && len(specs) == 0 {
		return nil, usageErrorf("run: --flow-control applies to --proxy and --accept; give one")
	}
	// What the command line names must exist before anything is loaded:
	// a wrong path is the caller's mistake (status 2), not the program's.
	if fi, err := os.Stat(file); err != nil {
		return nil, usageErrorf("%v", err)
	} else if !fi.Mode().IsRegular() {
		return nil, usageErrorf("run: %s is not a regular file: give a .sock source or a BPF object", file)
	}
	for _, cg := range f.cgroups {
		if fi, err := os.Stat(cg); err != nil {
			return nil, usageErrorf("run: --cgroup: %v", err)
		} else if !fi.IsDir() {
			return nil, usageErrorf("run: --cgroup %s is not a directory (want a cgroup2 directory)", cg)
		}
	}
	return specs, nil
}

// loadRun loads file for sockc run, with the fallback of each feature
// the kernel lacks: the kernel is asked once what it offers (sockc
// doctor lists it). A compile error is printed as the compiler's list.
func loadRun(stderr io.Writer, file, pin string, notef func(string, ...any)) (*runtime.Runtime, *features.Set, error) {
	mount, _ := runtime.Cgroup2Mount()
	kernel, err := features.Probe(features.ProbeOptions{Cgroup2: mount})
	if err != nil {
		return nil, nil, &exitError{code: exitInput, msg: err.Error()}
	}
	rt, err := runtime.LoadFile(file, runtime.Options{PinDir: pin, Logf: notef, Features: kernel})
	var diags diag.List
	if errors.As(err, &diags) {
		diags.Format(stderr)
		return nil, nil, errReported
	}
	if err != nil {
		return nil, nil, &exitError{code: exitInput, msg: err.Error()}
	}
	return rt, kernel, nil
}

// attachCgroups attaches rt's sockops program to each --cgroup, after
// checking that the file and the command line agree on sockops.
func attachCgroups(rt *runtime.Runtime, file string, command, cgroups []string, logf func(string, ...any)) error {
	if rt.HasSockops() && len(cgroups) == 0 && len(command) == 0 {
		return usageErrorf("run: %s has sockops handlers (on established/connect/accept): give --cgroup PATH, or run a command: sockc run %s -- COMMAND", file, file)
	}
	if !rt.HasSockops() && len(cgroups) > 0 {
		return usageErrorf("run: --cgroup given, but %s has no sockops handlers", file)
	}
	for _, cg := range cgroups {
		if err := rt.AttachCgroup(cg); err != nil {
			return &exitError{code: exitInput, msg: err.Error()}
		}
		logf("attached sockops to cgroup %s", cg)
	}
	return nil
}

// listenProxies listens on each --proxy and --accept address and makes
// its Proxy over the peer map. The listeners it returns, on error too,
// are the caller's to close.
func listenProxies(stderr io.Writer, rt *runtime.Runtime, file string, specs []proxySpec, f runFlags, abort chan struct{}, logf func(string, ...any)) (proxies []*runtime.Proxy, listeners []net.Listener, err error) {
	m, err := peerMap(rt, f.mapName)
	var ee *exitError
	if errors.As(err, &ee) {
		return nil, listeners, ee
	}
	if err != nil {
		return nil, listeners, &exitError{code: exitInput, msg: err.Error()}
	}
	if f.flowControl {
		if !m.Metered() {
			return nil, listeners, &exitError{code: exitInput, msg: fmt.Sprintf("run: --flow-control: %s does not meter map %s: it needs `redirect peer` in a stream or skb verdict handler, compiled by this version of sockc", file, m.Name())}
		}
		if err := runtime.FlowControlSupported(); err != nil {
			return nil, listeners, &exitError{code: exitInput, msg: "run: --flow-control: " + err.Error()}
		}
	}
	for _, sp := range specs {
		ln, err := sp.listener()
		if err != nil {
			return nil, listeners, &exitError{code: exitInput, msg: err.Error()}
		}
		listeners = append(listeners, ln)
		sndbuf := f.sndbuf
		if sndbuf == 0 {
			sndbuf = -1 // the kernel's own
		}
		proxies = append(proxies, &runtime.Proxy{Map: m, Upstream: sp.upstream, Drain: f.drain, Abort: abort, SendBuffer: sndbuf, FlowControl: f.flowControl, Logf: logf})
		if sp.upstream != "" {
			fmt.Fprintf(stderr, "sockc: proxy %s -> %s\n", ln.Addr(), sp.upstream)
		} else {
			fmt.Fprintf(stderr, "sockc: accepting on %s\n", ln.Addr())
		}
	}
	return proxies, listeners, nil
}
