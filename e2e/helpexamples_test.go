package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockc/sockc/internal/helpexample"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/internal/mdfence"
)

// TestHelpExamplesAsRoot runs, as root, each worked example of sockc's
// help that has steps needing root, as the built binary prints it, in a
// directory holding the examples with that sockc on PATH: every step in
// order (the ones anyone can run too, since later steps build on them),
// with free loopback ports and a test pin directory in place of those
// shown. A step's shown output must be what it prints; a "sockc run"
// ending in & must print what is shown under it before the next step, and
// `kill %N` must end that job with status 0; at the end no job may run
// and no bpffs path the example names may remain. cmd/sockc's
// TestHelpExamples runs the examples without root steps.
func TestHelpExamplesAsRoot(t *testing.T) {
	kerneltest.Require(t)
	for _, tool := range []string{"bash", "socat", "iperf3", "bpftool"} {
		kerneltest.Tool(t, tool)
	}
	ran := 0
	names := sockcCommands(t)
	for _, name := range names {
		help := sockcHelp(t, name)
		steps := helpexample.Parse(helpexample.FromHelp(help))
		if !slices.ContainsFunc(steps, func(s helpexample.Step) bool { return s.Root }) {
			continue
		}
		t.Run(strings.ReplaceAll(strings.TrimSpace("sockc "+name), " ", "_"), func(t *testing.T) {
			runHelpExample(t, strings.TrimSpace("sockc "+name), steps)
		})
		ran++
	}
	t.Logf("help examples as root: %d commands' helps read, %d examples with root steps run", len(names), ran)
	if ran < 2 {
		t.Errorf("only %d help examples have root steps; sockc --help and sockc run --help have them", ran)
	}
}

// sockcCommands returns "" for the root command and the names of the
// commands below it that the helps list ("completion bash" for one a level
// down).
func sockcCommands(t *testing.T) []string {
	t.Helper()
	names := subcommands(t, "")
	if len(names) == 1 {
		t.Fatal("sockc --help lists no commands")
	}
	return names
}

// subcommands returns name and, depth first, the commands that
// `sockc NAME --help` lists and those below them.
func subcommands(t *testing.T, name string) []string {
	t.Helper()
	names := []string{name}
	_, rest, ok := strings.Cut(sockcHelp(t, name), "\nAvailable Commands:\n")
	if !ok {
		return names
	}
	for _, line := range strings.Split(rest, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(line, " ") {
			break
		}
		names = append(names, subcommands(t, strings.TrimSpace(name+" "+f[0]))...)
	}
	return names
}

func sockcHelp(t *testing.T, name string) string {
	t.Helper()
	args := append(strings.Fields(name), "--help")
	out, err := exec.Command(sockcBin, args...).Output()
	if err != nil {
		t.Fatalf("sockc %s --help: %v", name, err)
	}
	return string(out)
}

var killJobRE = regexp.MustCompile(`^kill %(\d+)$`)

// runHelpExample runs the steps of one example in a fresh directory.
func runHelpExample(t *testing.T, name string, steps []helpexample.Step) {
	base := kerneltest.Snapshot(t, "echo", "conns", "socks", "sockops")
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS("../examples")); err != nil {
		t.Fatal(err)
	}
	sh := &tutorialShell{dir: dir, env: append(readerEnv(),
		"PATH="+filepath.Dir(sockcBin)+string(os.PathListSeparator)+os.Getenv("PATH"))}
	var block mdfence.Block
	for _, s := range steps {
		block.Lines = append(block.Lines, s.Cmd)
	}
	r := newReadmeRun(t, dir, sh, []mdfence.Block{block})
	var jobs []*tutorialTerm
	t.Cleanup(func() {
		for _, j := range jobs {
			j.kill()
		}
	})
	for i, s := range steps {
		where := fmt.Sprintf("%s --help, step %d", name, i+1)
		line, _, _ := strings.Cut(s.Cmd, " #")
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		switch {
		case strings.HasSuffix(line, " &"):
			cmd := r.sub(strings.TrimSuffix(line, " &"))
			job, err := sh.start(where, cmd)
			if err != nil {
				t.Fatalf("%s: $ %s: %v", where, cmd, err)
			}
			jobs = append(jobs, job)
			want := splitLines(r.sub(s.Want))
			if lines, ok := job.await(func(l []string) bool { return containsInOrder(l, want) }, time.Minute); !ok {
				t.Fatalf("%s: $ %s printed\n%s\nthe example shows\n%s", where, cmd, strings.Join(lines, "\n"), s.Want)
			}
		case killJobRE.MatchString(line):
			n, _ := strconv.Atoi(killJobRE.FindStringSubmatch(line)[1])
			if n < 1 || n > len(jobs) {
				t.Fatalf("%s: %s: there are %d jobs", where, line, len(jobs))
			}
			lines, code, err := jobs[n-1].signal(syscall.SIGTERM, 30*time.Second)
			if err != nil || code != 0 {
				t.Fatalf("%s: %s: the job ended with exit status %d, %v\n%s", where, line, code, err, strings.Join(lines, "\n"))
			}
		case len(f) > 2 && f[0] == "sockc" && f[1] == "run" && slices.Contains(f, "--"):
			r.runUnder(where, line)
		case len(f) > 2 && f[0] == "sockc" && f[1] == "run":
			r.server(where, line, r.sub(line))
		default:
			cmd := r.sub(line)
			out, code, err := sh.run(cmd, time.Minute)
			switch {
			case err != nil:
				t.Fatalf("%s: $ %s: %v\n%s", where, cmd, err, out)
			case s.Want == "" && code != 0:
				t.Fatalf("%s: $ %s: exit status %d\n%s", where, cmd, code, out)
			case s.Want != "" && out != r.sub(s.Want):
				t.Fatalf("%s: $ %s printed\n%s\nthe example shows\n%s", where, cmd, out, s.Want)
			}
		}
	}
	for _, j := range jobs {
		select {
		case <-j.done:
		default:
			t.Errorf("%s --help: a job started with & is still running at the end of the example", name)
		}
	}
	// A reader who pastes the example is left with nothing pinned.
	for _, s := range steps {
		for _, pin := range readmePinRE.FindAllString(s.Cmd, -1) {
			if _, err := os.Stat(r.sub(pin)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s --help: the example leaves %s behind (%v): end it by removing it", name, pin, err)
			}
		}
	}
	base.AwaitGone(t)
}

// containsInOrder reports whether want appears in lines as a subsequence.
func containsInOrder(lines, want []string) bool {
	i := 0
	for _, l := range lines {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	return i == len(want)
}
