package runtime_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/runtime"
)

const pinSrc = "sockhash pinsocks: key u64, max 64\non stream verdict to pinsocks: redirect peer\n"

// loadPinned loads pinSrc pinned in dir, closed when the test ends; lines
// collects what Load reports.
func loadPinned(t *testing.T, dir string, lines *[]string) (*runtime.Runtime, error) {
	t.Helper()
	rt, err := runtime.LoadSource("pin.sock", []byte(pinSrc), runtime.Options{PinDir: dir, Logf: func(f string, a ...any) {
		if lines != nil {
			*lines = append(*lines, fmt.Sprintf(f, a...))
		}
	}})
	if err == nil {
		t.Cleanup(func() { rt.Close() })
	}
	return rt, err
}

// TestPinDirLock: while one Runtime has pinned in a directory, a second
// one is refused with the holder's pid and leaves the first one's pins
// alone; once the first is closed, the directory is free again.
func TestPinDirLock(t *testing.T) {
	kerneltest.Require(t)
	dir := filepath.Join(kerneltest.PinDir(t), "locked")
	first, err := loadPinned(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = loadPinned(t, dir, nil)
	var busy *runtime.PinDirInUseError
	if !errors.As(err, &busy) || busy.PID != os.Getpid() {
		t.Fatalf("second load on a locked pin directory: %v, want a PinDirInUseError naming pid %d", err, os.Getpid())
	}
	t.Logf("refusal: %v", err)
	if _, err := os.Stat(filepath.Join(dir, "pinsocks")); err != nil {
		t.Fatalf("the first run's pin is gone after the refused second load: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPinned(t, dir, nil); err != nil {
		t.Fatalf("load after the first Runtime closed: %v", err)
	}
}

// TestPinStaleReplaced: a pin named like the program's map, of the same
// shape, with a socket in it, is what a killed run leaves. Load takes the
// socket out, replaces the pin, and says so in one line; the other entries
// of the shared directory stay, before and after Close.
func TestPinStaleReplaced(t *testing.T) {
	kerneltest.Require(t)
	dir := kerneltest.PinDir(t)
	stale, err := ebpf.NewMap(&ebpf.MapSpec{Name: "pinsocks", Type: ebpf.SockHash, KeySize: 8, ValueSize: 8, MaxEntries: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	_, s := connPair(t, listen(t))
	raw, err := s.File()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := stale.Put(uint64(1), uint64(raw.Fd())); err != nil {
		t.Fatal(err)
	}
	if err := stale.Pin(filepath.Join(dir, "pinsocks")); err != nil {
		t.Fatal(err)
	}
	foreign, err := ebpf.NewMap(&ebpf.MapSpec{Name: "foreign", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	if err := foreign.Pin(filepath.Join(dir, "foreign")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}

	var lines []string
	rt, err := loadPinned(t, dir, &lines)
	if err != nil {
		t.Fatalf("load over a stale pin: %v", err)
	}
	t.Logf("reported: %q", lines)
	if len(lines) != 1 || !strings.Contains(lines[0], "removed stale pin "+filepath.Join(dir, "pinsocks")) || !strings.Contains(lines[0], "1 socket taken out") {
		t.Errorf("want one line about the stale pin and its socket, got %q", lines)
	}
	var v uint64
	if err := stale.Lookup(uint64(1), &v); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Errorf("the socket is still in the stale map (lookup: %v)", err)
	}
	now, err := ebpf.LoadPinnedMap(filepath.Join(dir, "pinsocks"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer now.Close()
	if mapID(t, now) == mapID(t, stale) {
		t.Error("the pin still names the stale map")
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"foreign", "subdir"} {
		if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
			t.Errorf("%s, not sockc's, is gone: %v", keep, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pinsocks")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin remains after Close: %v", err)
	}
}

// TestPinForeignNameRefused: an entry with the map's name that is not a
// map of its shape is not sockc's: Load stops with one sentence naming it,
// and leaves it and the directory as they were.
func TestPinForeignNameRefused(t *testing.T) {
	kerneltest.Require(t)
	for _, tc := range []struct {
		name  string
		make  func(path string) error
		words string
	}{
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory, not a stale pin"},
		{"array", func(p string) error {
			return pinNew(p, &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
		}, "is an array with 4-byte keys, 8-byte values, max 1, not a stale pin"},
		{"program", func(p string) error {
			prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "MIT",
				Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
			if err != nil {
				return err
			}
			defer prog.Close()
			return prog.Pin(p)
		}, "is a BPF object that is not a map, not a stale pin"},
		{"smaller", func(p string) error {
			return pinNew(p, &ebpf.MapSpec{Type: ebpf.SockHash, KeySize: 8, ValueSize: 8, MaxEntries: 32})
		}, "is a sockhash with 8-byte keys, 8-byte values, max 32, not a stale pin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := kerneltest.PinDir(t)
			path := filepath.Join(dir, "pinsocks")
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			_, err := loadPinned(t, dir, nil)
			if err == nil || !strings.Contains(err.Error(), path+" exists and "+tc.words) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("load over a foreign %s: %v", tc.name, err)
			}
			t.Logf("refusal: %v", err)
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the foreign %s is gone: %v", tc.name, err)
			}
		})
	}
}

// pinNew creates a map and pins it at path; the pin holds it.
func pinNew(path string, spec *ebpf.MapSpec) error {
	m, err := ebpf.NewMap(spec)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Pin(path)
}

func mapID(t *testing.T, m *ebpf.Map) ebpf.MapID {
	t.Helper()
	info, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.ID()
	if !ok {
		t.Fatal("the kernel gives no map IDs")
	}
	return id
}
