// Package runtime loads socket-redirect programs into the kernel and runs
// them: it creates the maps, loads the programs, attaches sk_msg and sk_skb
// programs to their maps and sockops programs to a cgroup (an existing one,
// or a fresh one for a command it starts), puts sockets into maps with keys
// laid out exactly as the compiler lays them out, pairs sockets for
// `redirect peer` (and runs an in-kernel TCP proxy on that), and removes
// everything it created on Close: links, attachments, maps, pins, cgroups.
// It is the embedding API behind `sockc run`.
package runtime

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/lang/abi"
	"github.com/sockc/sockc/lang/keys"
	"github.com/sockc/sockc/lang/object"
	"github.com/sockc/sockc/runtime/features"
)

// Options configure loading.
type Options struct {
	// PinDir, if set, is a directory on bpffs where the maps are pinned
	// (as PinDir/MAP) so that bpftool and other tools can inspect them.
	// bpffs is mounted at /sys/fs/bpf if needed. Close removes the pins,
	// and the directory if Load created it.
	//
	// The Runtime holds an exclusive flock(2) on the directory until
	// Close, and Load fails with a *PinDirInUseError while another holds
	// it. With the lock free, pins named after this program's maps that
	// are maps of the same shape are stale (a run was killed before its
	// teardown): Load takes their sockets out and removes them. Anything
	// else with one of those names stops the load; other entries are left
	// alone, so the directory may be shared.
	PinDir string
	// Logf, if set, receives one line for each stale pin Load removes.
	Logf func(format string, args ...any)
	// Attach names the map of programs that follow neither sockc's naming
	// (HOOK_MAP) nor have a single candidate map: program -> map.
	Attach map[string]string
	// Keys gives the key layout of maps, for Put with Go values; for a
	// compiled .sock file it comes from the compiler. Maps without a layout
	// take raw key bytes (PutKey) or, if 4 or 8 bytes long, a scalar.
	Keys map[string]keys.Layout
	// Features is what the kernel offers, probed once by the caller
	// (features.Probe) and shared; nil makes Load probe what it decides
	// by. Load attaches with BPF_PROG_ATTACH where sockmap links are
	// missing and refuses, in one sentence naming the release that brings
	// it, what has no fallback (skb verdict before 5.13). A Set made with
	// features.Assume forces a fallback, for tests. (Where cgroup.kill is
	// missing the runtime kills process by process, whatever the Set
	// says: it finds out when it writes the file.)
	Features *features.Set
}

// Runtime is a loaded set of maps and programs. Its methods are safe for
// concurrent use.
type Runtime struct {
	spec     *ebpf.CollectionSpec
	coll     *ebpf.Collection
	plan     []Attachment
	layouts  map[string]keys.Layout
	counters []string
	// statSlots locate the statistics of abi.MapStatsMap.
	statSlots []statSlot
	// peers maps each map that `redirect peer` uses to its companion.
	peers    map[string]string
	features *features.Set

	mu     sync.Mutex
	undo   []func() error // teardown steps, run last to first
	closed bool
	done   chan struct{} // closed when Close has finished
	cerr   error         // Close's result
	maps   map[string]*Map
}

// LoadFile loads a .sock source or a BPF object file, chosen by content
// (ELF magic) rather than by name; a file named *.o must be an object.
// Every error names the file. A source is read up to sockc.MaxSourceSize
// (and one byte more, to say it is too large), an object through
// object.Read, so that neither a huge nor a damaged file costs more than
// its own size.
func LoadFile(path string, opts Options) (*Runtime, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file: give a .sock source or a BPF object", path)
	}
	var magic [len(elf.ELFMAG)]byte
	n, _ := f.ReadAt(magic[:], 0)
	if string(magic[:n]) == elf.ELFMAG || strings.HasSuffix(path, ".o") {
		// The file's name goes with what is wrong with the file, not
		// with what the kernel says of its programs.
		spec, err := object.Read(f, fi.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return Load(spec, opts)
	}
	src, err := sockc.ReadSource(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return LoadSource(path, src, opts)
}

// LoadSource compiles a .sock source and loads it. A compile error is the
// compiler's diag.List. Where each program attaches, the maps' key
// layouts, the companions of `redirect peer`, the counters and the
// statistics come from the compiler (sockc.Output.Manifest); opts.Keys
// adds to the layouts or replaces them.
func LoadSource(filename string, src []byte, opts Options) (*Runtime, error) {
	out, err := sockc.Build(filename, src)
	if err != nil {
		return nil, err
	}
	return LoadOutput(out, opts)
}

// LoadOutput loads what the compiler made (sockc.Build) by the
// compiler's own account of it, its manifest: where each program
// attaches, the key layouts, the companions of `redirect peer`, the
// counters and the statistics, none of them read back from names as Load
// must. A Go program that compiles its own source loads it this way.
func LoadOutput(out *sockc.Output, opts Options) (*Runtime, error) {
	if out == nil || out.Spec == nil {
		return nil, errors.New("runtime: LoadOutput: no compiled output")
	}
	return load(out.Spec, out.Manifest, opts)
}

// LoadObject loads a BPF ELF object of size bytes, sockc's or clang's. The
// object is checked before cilium/ebpf reads it (object.Read): a damaged
// file is one clear error, never a panic or a huge allocation.
func LoadObject(r io.ReaderAt, size int64, opts Options) (*Runtime, error) {
	spec, err := object.Read(r, size)
	if err != nil {
		return nil, err
	}
	return Load(spec, opts)
}

// Load creates the maps and programs of spec, pins the maps if asked, and
// attaches every sk_msg and sk_skb program to its map. Sockops programs
// wait for AttachCgroup. On error, everything created so far is removed.
//
// spec may come from anywhere, so Load reads what it needs to know back
// from the names sockc gives programs and maps (Plan, abi.PeerOf) and
// from the BTF of the counters and statistics maps. LoadSource, which has
// the compiler's own account, does not.
func Load(spec *ebpf.CollectionSpec, opts Options) (*Runtime, error) {
	return load(spec, nil, opts)
}

// load is Load with the compiler's manifest of spec, or nil for an
// object from elsewhere (a file, or a spec given to Load).
func load(spec *ebpf.CollectionSpec, man *abi.Manifest, opts Options) (_ *Runtime, err error) {
	if err := CheckHost(); err != nil {
		return nil, err
	}
	var plan []Attachment
	if man != nil {
		plan, err = planManifest(spec, man, opts.Attach)
	} else {
		plan, err = Plan(spec, opts.Attach)
	}
	if err != nil {
		return nil, err
	}
	// Before 5.11 BPF memory counts against RLIMIT_MEMLOCK; lift it (a
	// no-op on newer kernels, and harmless if not permitted: the load then
	// explains itself).
	_ = rlimit.RemoveMemlock()
	fs := opts.Features
	if fs == nil {
		// Only what Load decides by: cgroup.kill is tried and its
		// absence handled where it is used, and its probe may make a
		// cgroup, which a library call should not.
		only := []features.ID{features.MemcgAccounting, features.SockmapLinks, features.SkbVerdictAttach}
		if fs, err = features.Probe(features.ProbeOptions{Only: only}); err != nil {
			return nil, err
		}
	}
	if err := checkPlan(plan, fs); err != nil {
		return nil, err
	}
	rt := &Runtime{spec: spec, plan: plan, layouts: map[string]keys.Layout{}, maps: map[string]*Map{}, done: make(chan struct{}), features: fs}
	if man != nil {
		rt.fromManifest(man)
	} else {
		rt.fromNames()
	}
	for k, v := range opts.Keys {
		rt.layouts[k] = v
	}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{})
	if err != nil {
		return nil, explainLoad(err, fs)
	}
	rt.coll = coll
	rt.push(func() error { coll.Close(); return nil })
	// A socket in a map holds the programs attached to the map, and the
	// programs hold the maps they use: sockets would keep everything
	// alive after the last file descriptor closes. Take them out first.
	rt.push(rt.emptyMaps)
	if opts.PinDir != "" {
		if err := rt.pin(opts.PinDir, opts.Logf); err != nil {
			return nil, err
		}
	}
	for _, a := range plan {
		if a.Map == "" {
			continue
		}
		if err := rt.attachToMap(a); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// emptyMaps removes every socket from the sockmaps and sockhashes.
func (rt *Runtime) emptyMaps() error {
	var errs []error
	for name, m := range rt.coll.Maps {
		if m.Type() != ebpf.SockMap && m.Type() != ebpf.SockHash {
			continue
		}
		if err := clearMap(m); err != nil {
			errs = append(errs, fmt.Errorf("empty map %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// clearMap deletes every entry. A sockmap is an array: every index is a
// key, so each is deleted (an empty slot answers EINVAL). In a sockhash,
// deleting while iterating skips entries, so it collects the keys first and
// repeats until none is left.
func clearMap(m *ebpf.Map) error {
	if m.Type() == ebpf.SockMap {
		for i := uint32(0); i < m.MaxEntries(); i++ {
			if err := deleteEntry(m, i); err != nil {
				return err
			}
		}
		return nil
	}
	for round := 0; round < 10; round++ {
		keys, err := hashKeys(m)
		if err != nil || len(keys) == 0 {
			return err
		}
		for _, k := range keys {
			if err := deleteEntry(m, k); err != nil {
				return err
			}
		}
	}
	return errors.New("entries keep appearing")
}

// hashKeys lists the keys of a sockhash.
func hashKeys(m *ebpf.Map) ([][]byte, error) {
	var keys [][]byte
	var cur any
	for {
		next := make([]byte, m.KeySize())
		err := m.NextKey(cur, &next)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return keys, nil
		}
		if err != nil {
			return keys, err
		}
		keys = append(keys, next)
		cur = next
	}
}

// deleteEntry deletes one entry; an entry that is not there is not an
// error (a closed socket leaves the map by itself; an empty sockmap slot
// answers EINVAL, a missing sockhash key ENOENT).
func deleteEntry(m *ebpf.Map, key any) error {
	if err := m.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) && !errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}

// errClosed is returned by operations on a closed Runtime.
var errClosed = errors.New("runtime closed")

// push registers a teardown step. After Close it runs the step at once
// and returns errClosed: what was made after the teardown must not stay.
func (rt *Runtime) push(f func() error) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return errors.Join(errClosed, f())
	}
	rt.undo = append(rt.undo, f)
	rt.mu.Unlock()
	return nil
}

// Close detaches every program and removes every map, link, pin and cgroup
// the Runtime created, in reverse order of creation, killing the processes
// of commands it started that still run. Later and concurrent calls wait
// for the first to finish and return its result. Sockets are not closed:
// they leave the maps and work as plain sockets again.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		<-rt.done
		return rt.cerr
	}
	rt.closed = true
	undo := rt.undo
	rt.undo = nil
	rt.mu.Unlock()
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		if err := undo[i](); err != nil {
			errs = append(errs, err)
		}
	}
	rt.cerr = errors.Join(errs...)
	close(rt.done)
	return rt.cerr
}

// Spec returns the collection spec the Runtime was loaded from.
func (rt *Runtime) Spec() *ebpf.CollectionSpec { return rt.spec }

// Attachments returns where each program is attached (or, for sockops,
// will be).
func (rt *Runtime) Attachments() []Attachment { return append([]Attachment(nil), rt.plan...) }

// Program returns a loaded program by name.
func (rt *Runtime) Program(name string) (*ebpf.Program, error) {
	p, ok := rt.coll.Programs[name]
	if !ok {
		return nil, fmt.Errorf("no program %s", name)
	}
	return p, nil
}

// MapNames lists the sockmaps and sockhashes.
func (rt *Runtime) MapNames() []string {
	var out []string
	for n, m := range rt.spec.Maps {
		if m.Type == ebpf.SockMap || m.Type == ebpf.SockHash {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Map returns the sockmap or sockhash called name.
func (rt *Runtime) Map(name string) (*Map, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if m, ok := rt.maps[name]; ok {
		return m, nil
	}
	em, ok := rt.coll.Maps[name]
	if !ok {
		return nil, fmt.Errorf("no map %s", name)
	}
	if em.Type() != ebpf.SockMap && em.Type() != ebpf.SockHash {
		return nil, fmt.Errorf("map %s is a %s, not a sockmap or sockhash", name, em.Type())
	}
	layout, ok := rt.layouts[name]
	if !ok {
		layout = rawLayout(em)
	}
	m := &Map{name: name, m: em, layout: layout, flow: rt.coll.Maps[abi.FlowMap], flowCtl: rt.coll.Maps[abi.FlowCtlMap]}
	if p, ok := rt.peers[name]; ok {
		m.peers = rt.coll.Maps[p]
	}
	rt.maps[name] = m
	return m, nil
}

// PeerMaps lists the maps whose programs use `redirect peer`: those that
// have a companion map, so Map.Pair can pair sockets in them.
func (rt *Runtime) PeerMaps() []string {
	var out []string
	for _, n := range rt.MapNames() {
		if _, ok := rt.peers[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// Features returns what the kernel offers, as Load found or was told.
func (rt *Runtime) Features() *features.Set { return rt.features }

// HasSockops reports whether the collection has a sockops program, which
// needs AttachCgroup to run.
func (rt *Runtime) HasSockops() bool {
	for _, a := range rt.plan {
		if a.Type == ebpf.AttachCGroupSockOps {
			return true
		}
	}
	return false
}
