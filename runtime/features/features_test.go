package features

import (
	"slices"
	"testing"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name, release, build, sig string
		want                      Version
		patchKnown, backports     bool
	}{
		{"Debian 11", "5.10.0-46-amd64", "#1 SMP Debian 5.10.262-1 (2026-10-19)", "", V(5, 10, 262), true, false},
		{"Debian 12", "6.1.0-57-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)", "", V(6, 1, 158), true, false},
		{"Debian 12 backports", "6.12.38+deb12-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.38-1~bpo12+1 (2025-07-21)", "", V(6, 12, 38), true, false},
		{"Debian 13", "6.12.118+deb13-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.118-1 (2026-11-01)", "", V(6, 12, 118), true, false},
		{"Ubuntu 22.04", "5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023", "Ubuntu 5.15.0-91.101-generic 5.15.131\n", V(5, 15, 131), true, false},
		{"RHEL 9", "5.14.0-427.13.1.el9_4.x86_64", "#1 SMP PREEMPT_DYNAMIC Wed Apr 10 10:29:16 EDT 2024", "", V(5, 14, 0), false, true},
		{"ABI name without a Debian build line", "6.1.0-57-amd64", "#1 SMP", "", V(6, 1, 0), false, false},
		{"this project's VM", "6.18.44-fc-v1252", "#1 SMP PREEMPT_DYNAMIC @0", "", V(6, 18, 44), true, false},
		{"mainline", "6.16.0", "#1 SMP", "", V(6, 16, 0), true, false},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			k, err := Describe(c.release, c.build, c.sig)
			if err != nil {
				t.Fatal(err)
			}
			if k.Version != c.want || k.PatchKnown != c.patchKnown || k.Backports != c.backports {
				t.Fatalf("Describe = %v (patch known %v, backports %v), want %v (%v, %v)",
					k.Version, k.PatchKnown, k.Backports, c.want, c.patchKnown, c.backports)
			}
		})
	}
	if _, err := Describe("unknown", "", ""); err == nil {
		t.Fatal("Describe accepts a release without a version")
	}
}

func kernel(t *testing.T, release, build string) Kernel {
	t.Helper()
	k, err := Describe(release, build, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKnownBugs(t *testing.T) {
	type want struct{ cve, eagain, teardown, splice string }
	tests := []struct {
		release, build string
		want           want
	}{
		// 5.10 never had the two regressions; splice is broken everywhere.
		{"5.10.0-46-amd64", "Debian 5.10.262-1 (x)", want{"fixed", "fixed", "affected", "affected"}},
		{"5.15.189", "", want{"affected", "fixed", "fixed", "affected"}},
		{"5.15.190", "", want{"fixed", "fixed", "fixed", "affected"}},
		{"5.15.185", "", want{"fixed", "affected", "fixed", "affected"}},
		{"6.1.53", "", want{"fixed", "affected", "fixed", "affected"}},
		{"6.1.54", "", want{"affected", "affected", "fixed", "affected"}},
		{"6.1.141", "", want{"affected", "affected", "fixed", "affected"}},
		{"6.1.142", "", want{"fixed", "fixed", "fixed", "affected"}},
		{"6.6.94", "", want{"fixed", "affected", "fixed", "affected"}},
		{"6.12.34", "", want{"fixed", "affected", "fixed", "affected"}},
		{"6.12.35", "", want{"fixed", "fixed", "fixed", "affected"}},
		{"6.14.11", "", want{"affected", "affected", "fixed", "affected"}},
		{"6.15.3", "", want{"fixed", "affected", "fixed", "affected"}},
		{"6.16.0", "", want{"fixed", "fixed", "fixed", "affected"}},
		{"6.18.44-fc-v1252", "", want{"fixed", "fixed", "fixed", "affected"}},
		// Patch level unknown: a series wholly in or out still tells.
		{"6.1.0-57-amd64", "#1 SMP", want{"unknown", "unknown", "fixed", "affected"}},
		{"6.10.0-1-amd64", "#1 SMP", want{"affected", "affected", "fixed", "affected"}},
		{"5.10.0-1-amd64", "#1 SMP", want{"fixed", "fixed", "affected", "affected"}},
		// RHEL backports: only the bug no release fixed can be told.
		{"5.14.0-427.el9.x86_64", "", want{"unknown", "unknown", "unknown", "affected"}},
	}
	for _, c := range tests {
		t.Run(c.release, func(t *testing.T) {
			bugs := KnownBugs(kernel(t, c.release, c.build))
			if len(bugs) != 4 {
				t.Fatalf("%d bugs, want 4", len(bugs))
			}
			var got []string
			for _, b := range bugs {
				switch {
				case !b.Known:
					got = append(got, "unknown")
				case b.Affected:
					got = append(got, "affected")
				default:
					got = append(got, "fixed")
				}
			}
			if w := []string{c.want.cve, c.want.eagain, c.want.teardown, c.want.splice}; !slices.Equal(got, w) {
				t.Fatalf("CVE-2025-38165, EAGAIN, psock teardown, splice: %v, want %v", got, w)
			}
			if got, want := HasUnlockedPsockTeardown(kernel(t, c.release, c.build)), c.want.teardown == "affected"; got != want {
				t.Fatalf("HasUnlockedPsockTeardown = %v, want %v", got, want)
			}
		})
	}
}

func TestSetByVersion(t *testing.T) {
	old := kernel(t, "5.10.0-46-amd64", "Debian 5.10.262-1 (x)")
	s := Assume(old, nil)
	for id, want := range map[ID]bool{
		SkbVerdictAttach: false, SockmapLinks: false, CgroupKill: false, MemcgAccounting: false,
		VerdictWithoutParser: true, CookieSkSKB: true, CookieSkMsg: false,
	} {
		if got := s.Has(id); got != want {
			t.Errorf("5.10: %s = %v, want %v", Lookup(id).Name, got, want)
		}
	}
	err := s.Require(SkbVerdictAttach, "on skb verdict", "use on stream verdict")
	const msg = "on skb verdict needs Linux 5.13 (BPF_SK_SKB_VERDICT); this kernel is 5.10: use on stream verdict"
	if err == nil || err.Error() != msg {
		t.Fatalf("Require = %v, want %q", err, msg)
	}
	if _, ok := err.(*MissingError); !ok {
		t.Fatalf("Require returns %T, want *MissingError", err)
	}
	forced := Assume(kernel(t, "6.18.44", ""), map[ID]bool{SockmapLinks: false})
	if forced.Has(SockmapLinks) || !forced.Has(SkbVerdictAttach) {
		t.Fatal("Assume: an assumed absence must win over the version, and the rest follow the version")
	}
	if r := forced.Result(CgroupKill); r.Probed || r.Note != "by version" {
		t.Fatalf("a feature neither probed nor assumed: %+v", r)
	}
}
