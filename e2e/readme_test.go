package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/internal/mdfence"
	"github.com/sockc/sockc/internal/netns"
	"github.com/sockc/sockc/internal/probe"
)

const readmePath = "../README.md"

// readmeNotRun lists, by their exact text, the README blocks TestReadme
// does not run, and why. Any other block must be one the test knows how
// to run, so a new block is either run or listed here with its reason.
var readmeNotRun = map[string]string{
	"make test": "it is the command CI runs (.ci/run); run from a test it runs, it would recurse",
}

// readmeCommandWords are the first words of the shell blocks' commands;
// a block starting with any other word is a sockc program.
var readmeCommandWords = []string{"make", "export", "sockc", "bpftool", "rm", "sudo", "go"}

var (
	readmeFromRE = regexp.MustCompile(`from \[(examples/[\w.-]+\.sock)\]`)
	readmePortRE = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)
	readmePinRE  = regexp.MustCompile(`/sys/fs/bpf/[\w.-]+`)
	readmeTmpRE  = regexp.MustCompile(`(^|\s)/tmp/`)
	makeEchoRE   = regexp.MustCompile(`^\t@echo "(== [^"]*)"$`)
	// demoVerdictsRE is the demo's two verdicts in order, each after its
	// header.
	demoVerdictsRE = regexp.MustCompile(`(?s)== .*the data went through the TCP/IP stack\n.*== .*the kernel moved the data socket to socket, bypassing TCP/IP\n`)
)

// TestReadme runs every fenced block of README.md as a reader would, in a
// copy of the checkout, in one shell whose exports last: program
// blocks must check clean (and equal the example they say they come
// from), command blocks run as written, with free ports, a temporary file
// and a test pin directory in place of the ones shown. Only the blocks of
// readmeNotRun are not run; a block the test cannot run fails it.
func TestReadme(t *testing.T) {
	kerneltest.Require(t)
	blocks, err := mdfence.Read(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	clone, sh, base := readerCheckout(t, sharedGoCaches, "bpftool", "iperf3")
	r := newReadmeRun(t, clone, sh, blocks)
	t.Cleanup(func() {
		for _, term := range r.terms {
			term.kill()
		}
	})
	unused := map[string]bool{}
	for text := range readmeNotRun {
		unused[text] = true
	}
	var executed, notRun int
	for _, b := range blocks {
		where := fmt.Sprintf("%s:%d", readmePath, b.Line)
		text := strings.Join(b.Lines, "\n")
		if why, ok := readmeNotRun[text]; ok {
			t.Logf("%s: not run: %s", where, why)
			delete(unused, text)
			notRun++
			continue
		}
		if isCommandBlock(b.Lines) {
			for i, line := range b.Lines {
				if cmd := strings.TrimSpace(line); cmd != "" && !strings.HasPrefix(cmd, "#") {
					r.command(fmt.Sprintf("%s:%d", readmePath, b.Line+1+i), cmd)
				}
			}
		} else {
			r.program(where, b)
		}
		executed++
	}
	for text := range unused {
		t.Errorf("readmeNotRun lists a block README.md no longer has: %q", text)
	}
	base.AwaitGone(t)
	t.Logf("readme: %d blocks executed, %d commands run, %d not run (listed in readmeNotRun)", executed, r.commands, notRun)
}

// isCommandBlock reports whether a block is shell commands rather than a
// sockc program, by the first word of its first line that is not a
// comment.
func isCommandBlock(body []string) bool {
	for _, line := range body {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		return slices.Contains(readmeCommandWords, f[0])
	}
	return false
}

// readmeRun is the state of one run through the README.
type readmeRun struct {
	t        *testing.T
	sh       *tutorialShell
	clone    string
	sub      func(string) string
	terms    map[string]*tutorialTerm
	commands int
	source   string // the .sock file of the last `sockc compile`
}

func newReadmeRun(t *testing.T, clone string, sh *tutorialShell, blocks []mdfence.Block) *readmeRun {
	// The addresses, the bpffs directory and the /tmp files the commands
	// use are replaced with free ports, a test pin directory and a test
	// temporary directory, through the tutorial's substitution.
	doc := &tutorialDoc{}
	for _, b := range blocks {
		for _, line := range b.Lines {
			for _, m := range readmePortRE.FindAllStringSubmatch(line, -1) {
				if !slices.Contains(doc.ports, m[1]) {
					doc.ports = append(doc.ports, m[1])
				}
			}
			for _, pin := range readmePinRE.FindAllString(line, -1) {
				if doc.pins != "" && doc.pins != pin {
					t.Fatalf("README.md uses two bpffs paths, %s and %s: the test substitutes one", doc.pins, pin)
				}
				doc.pins = pin
			}
		}
	}
	ports := freePorts(t, doc.ports)
	pins := ""
	if doc.pins != "" {
		pins = filepath.Join(kerneltest.PinDir(t), filepath.Base(doc.pins))
	}
	tmp := t.TempDir()
	return &readmeRun{
		t:     t,
		clone: clone,
		terms: map[string]*tutorialTerm{},
		sh:    sh,
		sub: func(s string) string {
			s = doc.substitute(s, ports, pins)
			return readmeTmpRE.ReplaceAllString(s, "${1}"+tmp+"/")
		},
	}
}

// program checks a program block with `sockc check`, and, when the prose
// before it says it comes from an example, that it is that example
// without its comments.
func (r *readmeRun) program(where string, b mdfence.Block) {
	t := r.t
	t.Helper()
	text := strings.Join(b.Lines, "\n") + "\n"
	path := filepath.Join(t.TempDir(), "block.sock")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// The test's own sockc checks it: a program block is not a command
	// the reader runs, and may come before the README builds sockc.
	out, code, err := r.sh.run(sockcBin+" check "+path, time.Minute)
	r.commands++
	if err != nil || code != 0 || out != "" {
		t.Fatalf("%s: neither a command TestReadme runs (first word one of %v) nor a sockc program that checks clean: sockc check: exit status %d, %v\n%s",
			where, readmeCommandWords, code, err, out)
	}
	m := readmeFromRE.FindAllStringSubmatch(b.Before, -1)
	if len(m) == 0 {
		return
	}
	from := m[len(m)-1][1]
	data, err := os.ReadFile(filepath.Join(r.clone, filepath.FromSlash(from)))
	if err != nil {
		t.Fatalf("%s: the block says it comes from %s: %v", where, from, err)
	}
	if want := uncommented(string(data)); text != want {
		t.Fatalf("%s: the block differs from %s without its comments: copy one into the other\n--- README:\n%s--- %s:\n%s",
			where, from, text, from, want)
	}
}

// uncommented is a source file without its comment lines and the blank
// lines at its start and end.
func uncommented(src string) string {
	var lines []string
	for _, line := range strings.Split(src, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			lines = append(lines, line)
		}
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n") + "\n"
}

// command runs one command line of a README block.
func (r *readmeRun) command(where, line string) {
	t := r.t
	t.Helper()
	f := strings.Fields(line)
	if i := slices.IndexFunc(f, func(w string) bool { return strings.HasPrefix(w, "#") }); i >= 0 {
		f = f[:i]
	}
	cmd := r.sub(line)
	r.commands++
	switch {
	case f[0] == "sudo":
		t.Fatalf("%s: %s: CI runs as root and may have no sudo: say \"as root\" in the prose instead", where, line)
	case len(f) == 2 && f[0] == "make" && f[1] == "demo":
		out := r.runOK(where, cmd, 3*time.Minute)
		want := demoHeaders(t, r.clone)
		var got []string
		for _, l := range splitLines(out) {
			if strings.HasPrefix(l, "== ") {
				got = append(got, l)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %s printed the headers %q, want %q\n%s", where, line, got, want, out)
		}
		// What the README says the demo shows: the plain transfer goes
		// through TCP/IP, the one under sockc does not.
		if !demoVerdictsRE.MatchString(out) {
			t.Fatalf("%s: %s did not show what the README says: the plain transfer through TCP/IP, then the one under sockc bypassing it:\n%s", where, line, out)
		}
	case len(f) == 2 && f[0] == "make" && f[1] == "build":
		r.runOK(where, cmd, 3*time.Minute)
		if _, err := os.Stat(filepath.Join(r.clone, "bin", "sockc")); err != nil {
			t.Fatalf("%s: %s: %v", where, line, err)
		}
	case f[0] == "export":
		r.runOK(where, cmd, time.Minute)
	case len(f) > 2 && f[0] == "sockc" && f[1] == "run" && slices.Contains(f, "--"):
		r.runUnder(where, line)
	case len(f) > 2 && f[0] == "sockc" && f[1] == "run":
		r.server(where, line, cmd)
	case len(f) > 2 && f[0] == "sockc" && f[1] == "compile":
		r.runOK(where, cmd, time.Minute)
		r.source = f[len(f)-1]
	case len(f) > 2 && f[0] == "sockc" && (f[1] == "objdump" || f[1] == "check"):
		r.runOK(where, cmd, time.Minute)
	case len(f) == 2 && f[0] == "sockc" && f[1] == "doctor":
		// The README says its exit status tells whether sockc can run:
		// here, as root, it can.
		out := r.runOK(where, cmd, time.Minute)
		if lines := splitLines(strings.TrimSpace(out)); len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "sockc can run here") {
			t.Fatalf("%s: %s: does not end saying sockc can run here:\n%s", where, line, out)
		}
	case len(f) > 3 && f[0] == "bpftool" && f[1] == "prog" && f[2] == "loadall":
		r.runOK(where, cmd, time.Minute)
	case len(f) > 3 && f[0] == "bpftool" && f[1] == "prog" && f[2] == "dump":
		out := r.runOK(where, cmd, time.Minute)
		if r.source == "" {
			t.Fatalf("%s: %s: no `sockc compile` before it says which source the line info names", where, line)
		}
		// The README says the dump shows the .sock lines.
		if want := "[file:" + r.source + " line_num:"; !strings.Contains(out, want) {
			t.Fatalf("%s: %s: no %s annotation in the dump:\n%s", where, line, want, out)
		}
	case len(f) == 3 && f[0] == "rm" && f[1] == "-r" && strings.HasPrefix(f[2], kerneltest.BPFFSRoot+"/"):
		r.runOK(where, cmd, time.Minute)
		gone := strings.Fields(cmd)[2]
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Fatalf("%s: %s: %s is still there (%v)", where, line, gone, err)
		}
	default:
		t.Fatalf("%s: %s: a command TestReadme cannot run: teach it to, or list the block in readmeNotRun with the reason", where, line)
	}
}

// runOK runs a command to its end and wants exit status 0.
func (r *readmeRun) runOK(where, cmd string, timeout time.Duration) string {
	r.t.Helper()
	out, code, err := r.sh.run(cmd, timeout)
	if err != nil || code != 0 {
		r.t.Fatalf("%s: $ %s: exit status %d, %v\n%s", where, cmd, code, err, out)
	}
	return out
}

// server starts a `sockc run` that serves until interrupted, waits for
// its "sockc: ready", checks that it does its job, and stops it with ^C,
// which must exit 0. An --accept address must echo what a client sends;
// a --proxy must carry it to its upstream and back, the test serving an
// echo upstream on the address shown (a free port in its place).
func (r *readmeRun) server(where, line, cmd string) {
	t := r.t
	t.Helper()
	var clients []string
	f := strings.Fields(cmd)
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "--accept":
			clients = append(clients, f[i+1])
		case "--proxy":
			listen, upstream, ok := strings.Cut(f[i+1], "=")
			if !ok {
				t.Fatalf("%s: --proxy %s is not LISTEN=UPSTREAM", where, f[i+1])
			}
			ln, err := net.Listen("tcp", upstream)
			if err != nil {
				t.Fatalf("%s: serve the upstream %s: %v", where, upstream, err)
			}
			t.Cleanup(probe.EchoServer(ln))
			clients = append(clients, listen)
		}
	}
	term, err := r.sh.start(where, cmd)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	r.terms[where] = term
	if lines, ok := term.await(func(l []string) bool { return slices.Contains(l, "sockc: ready") }, time.Minute); !ok {
		t.Fatalf("%s: $ %s: never printed sockc: ready\n%s", where, cmd, strings.Join(lines, "\n"))
	}
	for _, addr := range clients {
		if err := echoRoundTrip(addr, 1<<20); err != nil {
			t.Fatalf("%s: $ %s: a client of %s: %v", where, cmd, addr, err)
		}
	}
	delete(r.terms, where)
	lines, code, err := term.interrupt(30 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("%s: $ %s: exit status %d after ^C, %v\n%s", where, cmd, code, err, strings.Join(lines, "\n"))
	}
}

// runUnder runs a `sockc run FILE -- COMMAND` line to its end, as
// written, in a network namespace of its own with only lo up: its ports
// (iperf3's default 5201) are free there, and the namespace's TCP
// counters count its traffic alone. A bypass line must engage: the data
// its command moves must not become TCP segments (OutSegs of
// /proc/net/snmp stays at the handshakes and closes), and sockc must not
// report a map whose redirects all miss.
func (r *readmeRun) runUnder(where, line string) {
	t := r.t
	t.Helper()
	script := filepath.Join(t.TempDir(), "line.sh")
	if err := os.WriteFile(script, []byte(r.sub(line)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := r.runOK(where, netns.Quote(netns.Command("bash", script)...), 2*time.Minute)
	if strings.Contains(line, "iperf3 -c") {
		if !strings.Contains(out, "iperf Done.") {
			t.Fatalf("%s: $ %s: iperf3 did not run to completion\n%s", where, line, out)
		}
	}
	if strings.Contains(out, "found no socket") {
		t.Fatalf("%s: $ %s: sockc says the bypass did not engage\n%s", where, line, out)
	}
	segs, err := netns.TCPSegments([]byte(out))
	if err != nil {
		t.Fatalf("%s: $ %s: %v\n%s", where, line, err, out)
	}
	// A loopback transfer through TCP sends a segment per 64 KiB at the
	// very least: a second of iperf3 is tens of thousands. Through the
	// bypass only connection setup and teardown are segments.
	if segs > 500 {
		t.Fatalf("%s: $ %s: TCP sent %d segments in the command's network namespace: the data went through TCP/IP, the bypass did not engage\n%s", where, line, segs, out)
	}
	t.Logf("%s: %s: %d TCP segments for the whole command", where, line, segs)
}

// demoHeaders returns the "== " lines the Makefile's demo target echoes.
func demoHeaders(t *testing.T, clone string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(clone, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var heads []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "demo:"):
			in = true
		case in && !strings.HasPrefix(line, "\t"):
			in = false
		case in:
			if m := makeEchoRE.FindStringSubmatch(line); m != nil {
				heads = append(heads, m[1])
			}
		}
	}
	if len(heads) != 2 {
		t.Fatalf("the Makefile's demo target echoes %d \"== \" headers, want 2: %q", len(heads), heads)
	}
	return heads
}

// echoRoundTrip checks an echo through addr with probe.HalfCloseEcho, as
// exchange (run_test.go) does, within 30 s of a 10 s dial.
func echoRoundTrip(addr string, size int) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	return probe.HalfCloseEcho(c.(*net.TCPConn), size, 30*time.Second)
}
