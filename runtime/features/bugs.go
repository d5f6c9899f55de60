package features

import "fmt"

// Bug is a known kernel bug on the paths sockc's programs take.
type Bug struct {
	// Name is the CVE or the fix's subject.
	Name string
	// Effect says what it does to a sockc user.
	Effect string
	// Fix names the upstream commit and release, or says there is none.
	Fix string
	// Affected lists the upstream versions that have the bug, as
	// half-open ranges [From, To); To is the zero Version where no
	// release fixed it.
	Affected []Range
}

// Range is the half-open version range [From, To); a zero To is open.
type Range struct{ From, To Version }

func (r Range) has(v Version) bool {
	return !v.Before(r.From) && (r.To == (Version{}) || v.Before(r.To))
}

// Bugs lists the known bugs, from the kernel CVE team's records and the
// stable releases' change logs.
func Bugs() []Bug {
	return []Bug{
		{
			Name: "CVE-2025-38165 (bpf, sockmap: Fix panic when calling skb_linearize)",
			Effect: "a kernel panic when sk_msg data is redirected to a socket whose " +
				"receive path needs a linear skb",
			Fix: "5ca2e29f6834 in 6.16; 5.15.190, 6.1.142, 6.6.94, 6.12.34, 6.15.3",
			// Brought by a454d84ee20b (6.6), backported to 6.5.4, 6.1.54
			// and 5.15.189; 5.10 never had it. 6.7-6.11, 6.13 and 6.14
			// ended unfixed.
			Affected: []Range{
				{V(5, 15, 189), V(5, 15, 190)},
				{V(6, 1, 54), V(6, 1, 142)},
				{V(6, 5, 4), V(6, 6, 94)},
				{V(6, 7, 0), V(6, 12, 34)},
				{V(6, 13, 0), V(6, 15, 3)},
			},
		},
		{
			Name: "bpf, sockmap: Fix data lost during EAGAIN retries (April 2025)",
			Effect: "redirected bytes silently lost when the target socket's send " +
				"buffer is full and the backlog worker retries",
			Fix: "7683167196bd in 6.16; 5.15.186, 6.1.142, 6.6.95, 6.12.35, 6.15.4",
			// Brought by e3526bb92a20 (5.13); 5.10 clears no redirect
			// state before the retry. 6.14 ended unfixed.
			Affected: []Range{
				{V(5, 13, 0), V(5, 15, 186)},
				{V(5, 16, 0), V(6, 1, 142)},
				{V(6, 2, 0), V(6, 6, 95)},
				{V(6, 7, 0), V(6, 12, 35)},
				{V(6, 13, 0), V(6, 15, 4)},
			},
		},
		unlockedPsockTeardown(),
		{
			Name: "splice(2) from a socket in a sockmap blocks",
			Effect: "a reader that splices (Go's io.Copy between TCP connections, " +
				"haproxy with splicing on) waits for data that sockc delivered to the " +
				"socket's psock queue, which splice does not read; sockc's own relay " +
				"does not splice",
			Fix:      "none upstream (patches posted 2024-2025, not merged)",
			Affected: []Range{{MinSupported(), Version{}}},
		},
	}
}

// unlockedPsockTeardown: before 5.13 the kernel purges a psock's queues
// without their lock when the psock's last reference goes, while its
// backlog worker and the verdicts of other sockets may still be using
// them. Cong Wang's "skmsg: Avoid lock_sock() in sk_psock_backlog()"
// (5.13) purges under psock->ingress_lock and makes sock_map_close wait
// for the worker. sockc's kernel matrix met both effects on 5.10.262.
func unlockedPsockTeardown() Bug {
	return Bug{
		Name: "psock torn down without its queue lock (before 5.13)",
		Effect: "a kernel crash (NULL pointer dereference in sk_psock_drop) when a " +
			"socket whose psock is busy is deleted from its map, and a WARNING in " +
			"sock_map_destroy that leaks the socket when a reader of held bytes " +
			"races its close; sockc deletes no busy socket and refuses --flow-control here",
		Fix:      "\"skmsg: Avoid lock_sock() in sk_psock_backlog()\" in 5.13; not in 5.10's stable series",
		Affected: []Range{{MinSupported(), V(5, 13, 0)}},
	}
}

// HasUnlockedPsockTeardown reports whether kernel k is known to have the
// bug of unlockedPsockTeardown: what makes the proxy's flow control, and
// a delete from a map of a socket in use, unsafe there.
func HasUnlockedPsockTeardown(k Kernel) bool {
	st := status(unlockedPsockTeardown(), k)
	return st.Known && st.Affected
}

// affects reports whether v is in one of the bug's affected ranges.
func (b Bug) affects(v Version) bool {
	for _, r := range b.Affected {
		if r.has(v) {
			return true
		}
	}
	return false
}

// BugStatus is one bug on one kernel.
type BugStatus struct {
	Bug Bug
	// Affected is true when the kernel's version is in an affected
	// range; Known is false when the version cannot tell (a vendor kernel
	// that backports fixes without changing it).
	Affected, Known bool
}

// String is one line for doctor.
func (b BugStatus) String() string {
	switch {
	case !b.Known:
		return fmt.Sprintf("unknown   %s: this kernel's version does not tell (fix: %s)", b.Bug.Name, b.Bug.Fix)
	case b.Affected:
		return fmt.Sprintf("AFFECTED  %s: %s (fix: %s)", b.Bug.Name, b.Bug.Effect, b.Bug.Fix)
	}
	return fmt.Sprintf("ok        %s: fixed in this release, or never in it (fix: %s)", b.Bug.Name, b.Bug.Fix)
}

// KnownBugs says, for each known bug, whether kernel k has it.
func KnownBugs(k Kernel) []BugStatus {
	var out []BugStatus
	for _, b := range Bugs() {
		out = append(out, status(b, k))
	}
	return out
}

// status says whether kernel k has bug b.
func status(b Bug, k Kernel) BugStatus {
	st := BugStatus{Bug: b, Known: true, Affected: b.affects(k.Version)}
	// Without the upstream patch level only an open range (no fix
	// anywhere) or a whole release series in or out can tell; a kernel
	// that backports fixes (and bugs) says nothing but the former.
	switch {
	case openFor(b, k.Version):
	case k.Backports:
		st.Known = false
	case !k.PatchKnown && !seriesDecides(b, k.Version):
		st.Known = false
	}
	return st
}

// openFor reports whether v is in a range that no release closes.
func openFor(b Bug, v Version) bool {
	for _, r := range b.Affected {
		if r.To == (Version{}) && r.has(v) {
			return true
		}
	}
	return false
}

// seriesDecides reports whether every patch level of v's series is in
// the same state.
func seriesDecides(b Bug, v Version) bool {
	first, last := V(v.Major, v.Minor, 0), V(v.Major, v.Minor, 1<<20)
	if b.affects(first) != b.affects(last) {
		return false
	}
	for _, r := range b.Affected {
		for _, edge := range []Version{r.From, r.To} {
			if edge.Major == v.Major && edge.Minor == v.Minor && edge.Patch > 0 {
				return false
			}
		}
	}
	return true
}
