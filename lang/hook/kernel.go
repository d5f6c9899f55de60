package hook

import (
	"fmt"
	"strconv"
	"strings"
)

// KernelVersion is a Linux release, major.minor.
type KernelVersion struct{ Major, Minor int }

// MinSupportedKernel is the oldest Linux release sockc supports and tests
// (Debian 11's 5.10). Every hook but skb verdict works there.
func MinSupportedKernel() KernelVersion { return KernelVersion{5, 10} }

func (v KernelVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Before reports whether v is an older release than w.
func (v KernelVersion) Before(w KernelVersion) bool {
	return v.Major < w.Major || v.Major == w.Major && v.Minor < w.Minor
}

// ParseKernelVersion reads MAJOR.MINOR, with an optional .PATCH that is
// ignored: releases bring features, patch levels fix them.
func ParseKernelVersion(s string) (KernelVersion, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return KernelVersion{}, fmt.Errorf("kernel version %q: want MAJOR.MINOR, e.g. 5.10", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 1000 {
			return KernelVersion{}, fmt.Errorf("kernel version %q: want MAJOR.MINOR, e.g. 5.10", s)
		}
		n[i] = v
	}
	return KernelVersion{n[0], n[1]}, nil
}

// Needs returns the Linux release a hook's program needs and the kernel
// feature that came with it, when that release is newer than
// MinSupportedKernel (ok false otherwise).
func (k Kind) Needs() (v KernelVersion, feature string, ok bool) {
	e := k.get()
	if e.feature == "" {
		return KernelVersion{}, "", false
	}
	return e.kernel, e.feature, true
}
