package features

import (
	"fmt"
	"strings"

	"github.com/sockc/sockc/lang/hook"
)

// ID names a kernel feature sockc uses that came after MinSupported, or
// whose presence a distribution's build decides.
type ID int

// The features, in the order sockc doctor lists them.
const (
	SkbVerdictAttach ID = iota + 1
	VerdictWithoutParser
	SockmapLinks
	CgroupKill
	MemcgAccounting
	CookieSkSKB
	CookieSockOps
	CookieSkMsg
)

// Feature is what sockc knows of one kernel feature.
type Feature struct {
	ID ID
	// Name is the kernel's name for it.
	Name string
	// Since is the upstream release that brought it.
	Since Version
	// Uses says what sockc uses it for.
	Uses string
	// Without says what sockc does where it is missing: its fallback, or
	// what cannot work.
	Without string
	// Fallback reports whether sockc works without it (Without says how).
	Fallback bool
	// Needed reports whether sockc misses something without it; a
	// feature listed for information only (a helper sockc does not call
	// from that program type) is not.
	Needed bool
}

// All lists the features sockc knows, in doctor's order.
func All() []Feature {
	return []Feature{
		{ID: SkbVerdictAttach, Name: skbVerdictFeature, Since: skbVerdictSince,
			Uses:    "on skb verdict handlers",
			Without: "on skb verdict cannot attach: use on stream verdict", Needed: true},
		{ID: VerdictWithoutParser, Name: "stream verdict without a stream parser", Since: V(5, 10, 0),
			Uses:    "on stream verdict handlers without an on stream parser",
			Without: "add on stream parser to MAP: length", Needed: true},
		{ID: SockmapLinks, Name: "BPF links for sk_msg and sk_skb programs", Since: V(6, 10, 0),
			Uses:    "attaching sk_msg and sk_skb programs to their maps",
			Without: "BPF_PROG_ATTACH, detached at teardown; after a SIGKILL the kernel detaches once the map is freed", Fallback: true, Needed: true},
		{ID: CgroupKill, Name: "cgroup.kill", Since: V(5, 14, 0),
			Uses:    "killing what a command left in its cgroup at teardown",
			Without: "SIGKILL to each process in cgroup.procs, round after round until none is left", Fallback: true, Needed: true},
		{ID: MemcgAccounting, Name: "BPF memory charged to the memory cgroup", Since: V(5, 11, 0),
			Uses:    "creating maps and loading programs whatever RLIMIT_MEMLOCK says",
			Without: "BPF memory counts against RLIMIT_MEMLOCK: sockc lifts the limit, which takes CAP_SYS_RESOURCE where the hard limit is lower", Fallback: true, Needed: true},
		{ID: CookieSkSKB, Name: "bpf_get_socket_cookie in sk_skb programs", Since: V(4, 14, 0),
			Uses:    "redirect peer",
			Without: "redirect peer cannot load", Needed: true},
		{ID: CookieSockOps, Name: "bpf_get_socket_cookie in sockops programs", Since: V(4, 19, 0),
			Uses: "nothing yet (listed for programs from other compilers)"},
		{ID: CookieSkMsg, Name: "bpf_get_socket_cookie in sk_msg programs", Since: Version{},
			Uses: "nothing: no kernel has it, which is why redirect peer is an sk_skb statement"},
	}
}

// The skb verdict hook's needs, as the compiler states them for its
// --min-kernel warnings.
var skbVerdictSince, skbVerdictFeature = func() (Version, string) {
	v, name, _ := hook.SkbVerdict.Needs()
	return V(v.Major, v.Minor, 0), name
}()

// Lookup returns the feature with this ID.
func Lookup(id ID) Feature {
	for _, f := range All() {
		if f.ID == id {
			return f
		}
	}
	return Feature{ID: id, Name: fmt.Sprintf("feature %d", int(id))}
}

// Status is what is known of a feature on this kernel.
type Status int

// The statuses.
const (
	Unknown Status = iota
	Present
	Absent
)

func (s Status) String() string {
	switch s {
	case Present:
		return "yes"
	case Absent:
		return "no"
	}
	return "unknown"
}

// Result is a feature's status and how it was found.
type Result struct {
	Status Status
	// Probed is true when a probe of the kernel decided, false when the
	// kernel's version did (or the status is unknown).
	Probed bool
	// Note says more: why a probe could not decide, what it saw.
	Note string
}

// Set is what the running kernel offers, found once (Probe) and then
// asked (Has); a Set is read-only after it is made, so it may be shared.
type Set struct {
	Kernel  Kernel
	results map[ID]Result
}

// Assume makes a Set whose features are as given, the others decided by
// the kernel's version: for tests, and to force a fallback on a kernel
// that has the feature.
func Assume(k Kernel, have map[ID]bool) *Set {
	s := &Set{Kernel: k, results: map[ID]Result{}}
	for id, ok := range have {
		st := Absent
		if ok {
			st = Present
		}
		s.results[id] = Result{Status: st, Note: "assumed"}
	}
	return s
}

// Result returns what is known of a feature. A feature neither probed
// nor assumed is decided by the kernel's version.
func (s *Set) Result(id ID) Result {
	if r, ok := s.results[id]; ok && r.Status != Unknown {
		return r
	}
	r := s.results[id]
	f := Lookup(id)
	switch {
	case f.Since == (Version{}):
		r.Status = Absent
	case s.Kernel.Version.Before(f.Since):
		r.Status = Absent
	default:
		r.Status = Present
	}
	if r.Note == "" {
		r.Note = "by version"
	} else {
		r.Note = "by version: " + r.Note
	}
	return r
}

// Has reports whether the kernel has the feature.
func (s *Set) Has(id ID) bool { return s.Result(id).Status == Present }

// MissingError says that something needs a kernel feature this kernel
// lacks, which release brings it, and what to do instead.
type MissingError struct {
	// What needs the feature, e.g. "on skb verdict".
	What    string
	Feature Feature
	Kernel  Kernel
	// Instead is what to do on this kernel, or "".
	Instead string
}

func (e *MissingError) Error() string {
	msg := fmt.Sprintf("%s needs Linux %s (%s); this kernel is %s", e.What, e.Feature.Since.Short(), e.Feature.Name, e.Kernel.Version.Short())
	if e.Instead != "" {
		msg += ": " + e.Instead
	}
	return msg
}

// Require returns a *MissingError if the kernel lacks the feature.
func (s *Set) Require(id ID, what, instead string) error {
	if s.Has(id) {
		return nil
	}
	return &MissingError{What: what, Feature: Lookup(id), Kernel: s.Kernel, Instead: instead}
}

// Summary lists the features a Set lacks, for one line of a log.
func (s *Set) Summary() string {
	var missing []string
	for _, f := range All() {
		if f.Needed && !s.Has(f.ID) {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) == 0 {
		return fmt.Sprintf("kernel %s has every feature sockc uses", s.Kernel)
	}
	return fmt.Sprintf("kernel %s lacks %s", s.Kernel, strings.Join(missing, ", "))
}
