package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
)

// PinDirInUseError is Load's error when another live run holds the lock
// of the pin directory.
type PinDirInUseError struct {
	Dir string
	// PID is the process holding the lock, 0 if it cannot be seen.
	PID int
}

func (e *PinDirInUseError) Error() string {
	who := "another sockc run"
	if e.PID > 0 {
		who = fmt.Sprintf("another sockc run (pid %d)", e.PID)
	}
	return fmt.Sprintf("pin directory %s is in use by %s: stop that run first, or pin elsewhere", e.Dir, who)
}

// pin locks the pin directory for the life of the Runtime, replaces the
// stale pins a killed run left there, and pins every map as dir/NAME.
//
// A pin directory may be shared with other programs (even be the bpffs
// root), so nothing is removed but pins named after this program's maps
// that are maps matching their spec; anything else with such a name stops
// the load. A run killed with SIGKILL cannot remove its pins, but its lock
// dies with it: a free lock means the pins are nobody's.
func (rt *Runtime) pin(dir string, logf func(string, ...any)) error {
	if err := EnsureBPFFS(dir); err != nil {
		return err
	}
	lock, created, err := lockPinDir(dir)
	if err != nil {
		return err
	}
	// One step: the directories made here are removed (when empty) before
	// the lock goes, so that a run starting meanwhile never locks a
	// directory that is about to vanish.
	if err := rt.push(func() error {
		var errs []error
		for _, d := range created {
			errs = append(errs, removeIfEmpty(d))
		}
		lock.Close()
		return errors.Join(errs...)
	}); err != nil {
		return err
	}
	names := make([]string, 0, len(rt.coll.Maps))
	for n := range rt.coll.Maps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(dir, n)
		if err := removeStalePin(path, n, rt.spec.Maps[n], logf); err != nil {
			return err
		}
	}
	for _, n := range names {
		m := rt.coll.Maps[n]
		path := filepath.Join(dir, n)
		if err := m.Pin(path); err != nil {
			return fmt.Errorf("pin map %s at %s: %w", n, path, err)
		}
		if err := rt.push(func() error {
			if err := m.Unpin(); err != nil {
				return fmt.Errorf("unpin %s: %w", path, err)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// lockPinDir creates dir if needed (returning the levels it created,
// deepest first) and locks it. A run that ends removes the directory it
// made just before it unlocks; if that happens between our open and our
// lock, the lock is on a removed directory, so it is checked and taken
// again.
func lockPinDir(dir string) (lock *os.File, created []string, err error) {
	defer func() {
		if err != nil {
			for _, d := range created {
				removeIfEmpty(d)
			}
			created = nil
		}
	}()
	for try := 0; try < 3; try++ {
		made, err := mkdirAllRecorded(dir)
		created = append(made, created...)
		if err != nil {
			return nil, created, err
		}
		lock, err := tryLockDir(dir)
		switch {
		case errors.Is(err, errLocked):
			return nil, created, &PinDirInUseError{Dir: dir, PID: lockHolder(dir)}
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return nil, created, fmt.Errorf("pin directory: %w", err)
		}
		same, err := stillNamed(lock, dir)
		if err == nil && same {
			return lock, created, nil
		}
		lock.Close()
		if err != nil {
			return nil, created, err
		}
	}
	return nil, created, fmt.Errorf("pin directory %s keeps being removed while sockc locks it", dir)
}

// stillNamed reports whether path still names the directory f has open.
func stillNamed(f *os.File, path string) (bool, error) {
	fst, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("pin directory %s: %w", path, err)
	}
	pst, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pin directory %s: %w", path, err)
	}
	return os.SameFile(fst, pst), nil
}

// mkdirAllRecorded creates dir and its missing parents, returning every
// level it created, deepest first, to remove them all at the end.
func mkdirAllRecorded(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil || d == filepath.Dir(d) {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			// EACCES on a parent is not "missing": say so, rather
			// than have MkdirAll report a level that exists.
			return nil, pinAccessError(dir, err)
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, pinAccessError(dir, err)
	}
	return missing, nil
}

// pinAccessError words a failure to reach or create the pin directory.
func pinAccessError(dir string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("pinning in %s needs write access on the bpffs (root): %w", dir, err)
	}
	return fmt.Errorf("create pin directory %s: %w", dir, err)
}

// removeStalePin removes the pin at path if it is a stale pin of the map
// name that spec describes: a map with the same type, key and value sizes, size and
// flags. Sockets still in it are taken out first: a socket in a sockmap
// holds the programs attached there, and they hold the map, so without
// that the old map, its programs and the redirection of those sockets
// would outlive the unpin. Anything else at path is not sockc's: the load
// stops with a sentence that says what is there.
func removeStalePin(path, name string, spec *ebpf.MapSpec, logf func(string, ...any)) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pin %s: %w", path, err)
	}
	notOurs := func(what string) error {
		return fmt.Errorf("%s exists and is %s, not a stale pin of this program's map %s (%s): remove it, or pin elsewhere",
			path, what, name, shape(kindOf(spec.Type), spec.KeySize, spec.ValueSize, spec.MaxEntries, spec.Flags))
	}
	if !fi.Mode().IsRegular() {
		return notOurs("a " + fileKind(fi.Mode()))
	}
	old, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		return notOurs("a BPF object that is not a map")
	}
	defer old.Close()
	if err := spec.Compatible(old); err != nil {
		return notOurs(shape(kindOf(old.Type()), old.KeySize(), old.ValueSize(), old.MaxEntries(), old.Flags()))
	}
	sockets := 0
	if old.Type() == ebpf.SockMap || old.Type() == ebpf.SockHash {
		n, err := (&Map{name: name, m: old}).Len()
		if err != nil {
			return fmt.Errorf("stale pin %s: %w", path, err)
		}
		if err := clearMap(old); err != nil {
			return fmt.Errorf("empty stale pin %s: %w", path, err)
		}
		sockets = n
	}
	if err := old.Unpin(); err != nil {
		return fmt.Errorf("remove stale pin %s: %w", path, err)
	}
	if logf != nil {
		what := ""
		if old.Type() == ebpf.SockMap || old.Type() == ebpf.SockHash {
			what = "; it held no socket"
			if sockets == 1 {
				what = "; 1 socket taken out of it"
			} else if sockets > 1 {
				what = fmt.Sprintf("; %d sockets taken out of it", sockets)
			}
		}
		logf("removed stale pin %s (%s left by a run that did not tear down%s)", path, kindOf(old.Type()), what)
	}
	return nil
}

// kindOf names a map type with its article: "a sockhash", "an array".
func kindOf(t ebpf.MapType) string {
	kind := strings.ToLower(t.String())
	if strings.ContainsAny(kind[:1], "aeiou") {
		return "an " + kind
	}
	return "a " + kind
}

// shape describes a map by what decides whether a pin can be reused.
func shape(kind string, key, value, max, flags uint32) string {
	s := fmt.Sprintf("%s with %d-byte keys, %d-byte values, max %d", kind, key, value, max)
	if flags != 0 {
		s += fmt.Sprintf(", flags %#x", flags)
	}
	return s
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	}
	return "file that is not a pin"
}

func removeIfEmpty(dir string) error {
	err := os.Remove(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	entries, rerr := os.ReadDir(dir)
	if rerr == nil && len(entries) > 0 {
		// Someone else's pins live there too: leave the directory.
		return nil
	}
	return fmt.Errorf("remove pin directory %s: %w", dir, err)
}
