// Package features finds out what the running kernel offers sockc: its
// upstream version (through the distributions' own ways of saying it),
// the features sockc uses that came after its oldest supported kernel,
// each probed where a probe can tell, and the known sockmap bugs whose
// fixes the kernel has or lacks.
package features

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/lang/hook"
)

// Version is a Linux version.
type Version struct {
	Major, Minor, Patch int
}

// V is shorthand for a Version literal.
func V(major, minor, patch int) Version { return Version{major, minor, patch} }

// MinSupported is the oldest kernel sockc supports and tests: Debian 11's
// 5.10 (hook.MinSupportedKernel). The features sockc needs that are older
// go unchecked.
func MinSupported() Version {
	v := hook.MinSupportedKernel()
	return V(v.Major, v.Minor, 0)
}

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Short is major.minor, as a kernel feature's "since" reads.
func (v Version) Short() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Compare returns -1, 0 or +1 as v is older than, the same as or newer
// than w.
func (v Version) Compare(w Version) int {
	for _, d := range [3]int{v.Major - w.Major, v.Minor - w.Minor, v.Patch - w.Patch} {
		if d < 0 {
			return -1
		}
		if d > 0 {
			return 1
		}
	}
	return 0
}

// Before reports whether v is older than w.
func (v Version) Before(w Version) bool { return v.Compare(w) < 0 }

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?`)

// ParseVersion reads the leading MAJOR.MINOR[.PATCH] of s (a release
// such as 6.1.0-57-amd64 or 6.12.118+deb13-amd64).
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("not a kernel version: %q", s)
	}
	var v Version
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Patch, _ = strconv.Atoi(m[3])
	}
	return v, nil
}

// Kernel is the running kernel as uname and the distribution describe it.
type Kernel struct {
	// Release is uname -r, e.g. 6.1.0-57-amd64.
	Release string
	// Build is uname -v, e.g. #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (...).
	Build string
	// Version is the upstream version: major and minor from the release,
	// the patch level from where the distribution states it.
	Version Version
	// PatchKnown is false where the patch level is not the upstream one
	// (RHEL and its rebuilds backport fixes without changing it; Debian
	// before 13 zeroes it in the release): a known bug's status cannot be
	// read from the version then.
	PatchKnown bool
	// Backports is true for vendor kernels (RHEL and its rebuilds) that
	// take fixes and features from newer releases without changing the
	// version: neither a bug nor a feature can be read from it.
	Backports bool
	// VersionFrom says where Version was read.
	VersionFrom string
}

func (k Kernel) String() string {
	if strings.HasPrefix(k.Release, k.Version.String()) || !k.PatchKnown {
		return k.Release
	}
	return fmt.Sprintf("%s (Linux %s)", k.Release, k.Version)
}

// Running describes the running kernel.
func Running() (Kernel, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Kernel{}, fmt.Errorf("uname: %w", err)
	}
	sig, _ := os.ReadFile("/proc/version_signature")
	return Describe(unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Version[:]), string(sig))
}

var (
	// Debian's uname -v ends with "Debian UPSTREAM-DEBIANREV (DATE)".
	debianBuildRE = regexp.MustCompile(`Debian (\d+\.\d+\.\d+)[-+~]`)
	// Ubuntu's /proc/version_signature: "Ubuntu 5.15.0-91.101-generic 5.15.131".
	ubuntuSigRE = regexp.MustCompile(`^Ubuntu \S+ (\d+\.\d+\.\d+)`)
	// RHEL and its rebuilds: 5.14.0-427.13.1.el9_4.x86_64.
	rhelReleaseRE = regexp.MustCompile(`\.el\d+`)
)

// Describe works out the upstream version from uname -r (release), uname
// -v (build) and /proc/version_signature (signature, Ubuntu's; empty
// elsewhere).
func Describe(release, build, signature string) (Kernel, error) {
	k := Kernel{Release: release, Build: build}
	v, err := ParseVersion(release)
	if err != nil {
		return k, err
	}
	k.Version, k.PatchKnown, k.VersionFrom = v, true, "uname -r"
	switch {
	case ubuntuSigRE.MatchString(signature):
		up, _ := ParseVersion(ubuntuSigRE.FindStringSubmatch(strings.TrimSpace(signature))[1])
		k.Version, k.VersionFrom = up, "/proc/version_signature (Ubuntu)"
	case debianBuildRE.MatchString(build):
		up, _ := ParseVersion(debianBuildRE.FindStringSubmatch(build)[1])
		if up.Major == v.Major && up.Minor == v.Minor {
			k.Version, k.VersionFrom = up, "uname -v (Debian)"
		}
	case rhelReleaseRE.MatchString(release):
		k.PatchKnown, k.Backports = false, true
		k.VersionFrom = "uname -r (RHEL: fixes are backported without changing the version)"
	case v.Patch == 0 && strings.Contains(release, "-"):
		// 6.1.0-57-amd64 without a Debian build line: the patch level
		// is an ABI name's zero, not the upstream one.
		k.PatchKnown = false
	}
	return k, nil
}
