package helpexample

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	example := `  # As root. An echo server.
  $ sockc run e.sock --accept 127.0.0.1:7777 &
  sockc: ready
  $ echo hi | socat - TCP:127.0.0.1:7777
  hi

  # Compile.
  $ sockc compile -S a.sock
  map m

  program p
  $ bpftool prog loadall a.o /sys/fs/bpf/a    # as root`
	want := []Step{
		{Cmd: "sockc run e.sock --accept 127.0.0.1:7777 &", Want: "sockc: ready\n", Root: true},
		{Cmd: "echo hi | socat - TCP:127.0.0.1:7777", Want: "hi\n", Root: true},
		{Cmd: "sockc compile -S a.sock", Want: "map m\n\nprogram p\n", Root: true},
		{Cmd: "bpftool prog loadall a.o /sys/fs/bpf/a    # as root", Root: true},
	}
	if got := Parse(example); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %#v\nwant %#v", got, want)
	}
	// Without "# As root" only the marked step needs root.
	if got := Parse("  $ a\n  $ b    # as root\n"); got[0].Root || !got[1].Root {
		t.Errorf("Parse: root marks %v, want only the second step", got)
	}
}

func TestFromHelp(t *testing.T) {
	help := "compile compiles FILE.\n\nUsage:\n  sockc compile FILE\n\nExamples:\n  $ sockc compile a.sock\n\n  $ sockc compile -S a.sock\n  map m\n\nFlags:\n  -h, --help   help\n"
	want := "  $ sockc compile a.sock\n\n  $ sockc compile -S a.sock\n  map m\n"
	if got := FromHelp(help); got != want {
		t.Errorf("FromHelp = %q, want %q", got, want)
	}
	if got := FromHelp("Usage:\n  sockc x\n"); got != "" {
		t.Errorf("FromHelp without examples = %q, want \"\"", got)
	}
}
