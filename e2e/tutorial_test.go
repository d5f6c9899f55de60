package e2e

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
)

const tutorialPath = "../docs/tutorial.md"

// TestTutorial follows docs/tutorial.md as a reader would: in a copy of
// the checkout (the reader's clone), it writes every file the tutorial has
// the reader create, runs every command, starts and stops the servers of
// the other terminals, and compares every output the tutorial shows with
// what the command printed. It fails when a shown output stops matching.
func TestTutorial(t *testing.T) {
	kerneltest.Require(t)
	doc, err := readTutorial(tutorialPath)
	if err != nil {
		t.Fatal(err)
	}
	clone, sh, base := readerCheckout(t, freshGoCaches, "socat", "bpftool")
	ports := freePorts(t, doc.ports)
	pins := ""
	if doc.pins != "" {
		pins = filepath.Join(kerneltest.PinDir(t), "tutorial")
	}
	sub := func(s string) string { return doc.substitute(s, ports, pins) }

	terms := map[string]*tutorialTerm{}
	t.Cleanup(func() {
		// Pass or fail, nothing the tutorial started outlives the test.
		for _, term := range terms {
			term.kill()
		}
	})
	var steps, outputs, exact, fuzzy, notRun int
	for _, b := range doc.blocks {
		where := fmt.Sprintf("%s:%d", tutorialPath, b.line)
		m, err := newOutputMatcher(mapStrings(b.patterns, sub))
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		switch {
		case b.notRun != "":
			notRun++
			t.Logf("%s: not run: %s", where, b.notRun)
			continue
		case b.file != "":
			writeTutorialFile(t, where, clone, b)
			steps++
		case b.lang == "sock":
			src := strings.Join(b.body, "\n") + "\n"
			if diags := sockc.Check("fragment.sock", []byte(src)); len(diags) > 0 {
				var text strings.Builder
				diags.Format(&text)
				t.Errorf("%s: the fragment does not check clean:\n%s", where, text.String())
			}
			steps++
		case b.lang == "console" && b.term == "":
			cmds, err := b.commands()
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range cmds {
				want := mapStrings(c.want, sub)
				out, code, err := sh.run(sub(c.cmd), 3*time.Minute)
				if err != nil {
					t.Fatalf("%s: $ %s: %v\n%s", where, c.cmd, err, out)
				}
				wantCode := 0
				if i == len(cmds)-1 {
					wantCode = b.exit
				}
				if code != wantCode {
					t.Fatalf("%s: $ %s: exit status %d, want %d\n%s", where, c.cmd, code, wantCode, out)
				}
				got := splitLines(out)
				if !m.match(want, got) {
					t.Fatalf("%s: $ %s: the output differs from the tutorial's\n--- shown:\n%s\n--- printed:\n%s",
						where, c.cmd, strings.Join(want, "\n"), strings.Join(got, "\n"))
				}
				m.count(want)
				steps++
				outputs++
			}
		case b.lang == "console" && b.term != "" && slices.Contains(b.body, "^C"):
			term := terms[b.term]
			if term == nil {
				t.Fatalf("%s: ^C in terminal %s, where nothing runs", where, b.term)
			}
			delete(terms, b.term)
			lines, code, err := term.interrupt(30 * time.Second)
			if err != nil {
				t.Fatalf("%s: terminal %s: %v", where, b.term, err)
			}
			// The ^C line marks when the reader presses it; what the
			// command printed before and after is one stream.
			shown := slices.DeleteFunc(slices.Clone(b.body), func(l string) bool { return l == "^C" })
			want, got := mapStrings(shown, sub), lines[term.seen:]
			if code != b.exit {
				t.Fatalf("%s: terminal %s: exit status %d after ^C, want %d\n%s", where, b.term, code, b.exit, strings.Join(lines, "\n"))
			}
			if !m.match(want, got) {
				t.Fatalf("%s: terminal %s: the output after its start differs from the tutorial's\n--- shown:\n%s\n--- printed:\n%s",
					where, b.term, strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			m.count(want)
			steps++
			outputs++
		case b.lang == "console":
			cmds, err := b.commands()
			if err != nil {
				t.Fatal(err)
			}
			if len(cmds) != 1 || terms[b.term] != nil {
				t.Fatalf("%s: a terminal block starts one command in a terminal where nothing runs", where)
			}
			term, err := sh.start(b.term, sub(cmds[0].cmd))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			terms[b.term] = term
			want := mapStrings(cmds[0].want, sub)
			got, ok := term.await(func(lines []string) bool { return m.match(want, lines) }, time.Minute)
			if !ok {
				t.Fatalf("%s: terminal %s: $ %s: never printed what the tutorial shows\n--- shown:\n%s\n--- printed:\n%s",
					where, b.term, cmds[0].cmd, strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			term.seen = len(got)
			m.count(want)
			steps++
			outputs++
		default:
			t.Fatalf("%s: a ```%s block the test cannot run: every block of the tutorial must be run", where, b.lang)
		}
		if err := m.stale(); err != nil {
			t.Errorf("%s: %v", where, err)
		}
		exact += m.exact
		fuzzy += m.fuzzy
	}
	for name := range terms {
		t.Errorf("the tutorial never stops what runs in terminal %s: tell the reader to press ^C there", name)
	}
	// Only getting the source (git clone) is not run: the test stands in
	// a copy of the checkout under test. Anything more is a step no one
	// checks.
	if notRun > 1 {
		t.Errorf("%d blocks are not run; only the clone may be", notRun)
	}
	base.AwaitGone(t)
	t.Logf("tutorial: %d steps executed, %d outputs checked (%d lines exactly, %d by pattern), %d block not run",
		steps, outputs, exact, fuzzy, notRun)
}

// writeTutorialFile writes a file the reader creates. A file that the
// checkout already has (an example the tutorial prints in full) must be
// the tutorial's text exactly, so that the two cannot drift apart.
func writeTutorialFile(t *testing.T, where, clone string, b *tutorialBlock) {
	t.Helper()
	text := strings.Join(b.body, "\n") + "\n"
	path := filepath.Join(clone, filepath.FromSlash(b.file))
	if old, err := os.ReadFile(path); err == nil && string(old) != text {
		t.Fatalf("%s: the tutorial's %s differs from the checkout's: copy one into the other", where, b.file)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goCaches says whose Go module and build caches a reader's shell uses.
type goCaches int

const (
	// freshGoCaches are empty: the reader's first build, which must
	// print what the document shows.
	freshGoCaches goCaches = iota
	// sharedGoCaches are shared by the tests that pass it (created
	// empty by TestMain): for documents whose build output is not
	// compared, so that only the first of them pays for a cold build.
	sharedGoCaches
)

// readerCheckout sets up what a reader of a document has: the tools it
// uses (bash, make and go, and those named), a fresh copy of the checkout,
// and a shell in it with the reader's environment and the given Go
// caches. base is the kernel's objects of sockc's names from before,
// for AwaitGone at the end.
func readerCheckout(t *testing.T, caches goCaches, tools ...string) (clone string, sh *tutorialShell, base kerneltest.Baseline) {
	t.Helper()
	for _, tool := range append([]string{"bash", "make", "go"}, tools...) {
		kerneltest.Tool(t, tool)
	}
	base = kerneltest.Snapshot(t, "echo", "conns", "socks", "sockops")
	clone = filepath.Join(t.TempDir(), "sockc")
	if err := copyCheckout("..", clone); err != nil {
		t.Fatal(err)
	}
	// A reader's Go has none of this machine's go env settings, and at
	// first no module or build cache. bin is not on PATH: the document's
	// own export line puts it there (tutorialShell.run keeps exports).
	goHome := sharedGoHome
	if caches == freshGoCaches {
		goHome = t.TempDir()
	}
	sh = &tutorialShell{dir: clone, env: append(readerEnv(),
		"GOENV=off",
		"GOFLAGS=-modcacherw", // so that the test can remove the cache
		"GOMODCACHE="+filepath.Join(goHome, "mod"),
		"GOCACHE="+filepath.Join(goHome, "cache"),
	)}
	return clone, sh, base
}

// copyCheckout copies the source tree at src to dst, .git included (go
// build stamps the binary from it, as in a reader's clone), without build
// outputs: what a fresh clone holds.
func copyCheckout(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() && rel == "bin" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil // sockets, symlinks: nothing a clone has
	})
}

// freePorts maps each port number the tutorial uses to a loopback port
// that is free now, all different.
func freePorts(t *testing.T, ports []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out[p] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	return out
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// readerEnv is this process's environment without what make passes to
// the commands it runs: under `make test` (CI), the tutorial's own `make
// build` would otherwise run as a sub-make and print "Entering directory"
// lines that a reader at a shell never sees.
func readerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return env
}
