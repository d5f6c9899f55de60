package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cilium/ebpf"
	cfeatures "github.com/cilium/ebpf/features"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/runtime"
	"github.com/sockc/sockc/runtime/features"
)

func newDoctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say whether sockc can run on this host, and what this kernel lacks",
		Long: `doctor reports, for this host: the kernel and its upstream version (as
Debian's and Ubuntu's kernels state it), what sockc requires (BPF
sockmaps, the sk_msg, sk_skb and sockops program types, CAP_BPF with
CAP_NET_ADMIN, cgroup2 and bpffs), each kernel feature sockc uses that
came after Linux 5.10 with the fallback sockc takes without it, the
capabilities of the caller, and the known sockmap bugs whose fixes this
kernel has or lacks.

Features are probed where a probe can tell (a throwaway map and program,
attached and detached; nothing stays), else read from the version.

The exit status is 0 when sockc can run here, 1 when it cannot (each
reason is printed), 2 for a usage error.`,
		Example: `  # As root, on a kernel with every feature sockc uses (6.10 or later).
  $ sockc doctor | tail -1
  sockc can run here.
  $ sockc doctor --json | grep can_run
    "can_run": true,`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			r, err := diagnose()
			if err != nil {
				return &exitError{code: exitInput, msg: err.Error()}
			}
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(r)
			} else {
				err = r.print(out)
			}
			if err != nil {
				return err
			}
			if !r.CanRun {
				return &exitError{code: exitInput}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// doctorReport is what sockc doctor finds; its JSON form is --json's.
type doctorReport struct {
	Kernel       doctorKernel               `json:"kernel"`
	CanRun       bool                       `json:"can_run"`
	Problems     []string                   `json:"problems"`
	Requirements []doctorCheck              `json:"requirements"`
	Features     []doctorFeature            `json:"features"`
	Capabilities []features.CapabilityState `json:"capabilities"`
	Memlock      string                     `json:"memlock"`
	Bugs         []doctorBug                `json:"bugs"`
	set          *features.Set              `json:"-"`
	bugs         []features.BugStatus       `json:"-"`
}

type doctorKernel struct {
	Release     string `json:"release"`
	Build       string `json:"build"`
	Version     string `json:"version"`
	PatchKnown  bool   `json:"patch_known"`
	VersionFrom string `json:"version_from"`
}

type doctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

type doctorFeature struct {
	Name     string `json:"name"`
	Since    string `json:"since"`
	Status   string `json:"status"` // yes, no
	Probed   bool   `json:"probed"`
	Note     string `json:"note,omitempty"`
	Uses     string `json:"uses"`
	Without  string `json:"without,omitempty"`
	Fallback bool   `json:"fallback"`
	Needed   bool   `json:"needed"`
}

type doctorBug struct {
	Name   string `json:"name"`
	Status string `json:"status"` // affected, fixed, unknown
	Effect string `json:"effect"`
	Fix    string `json:"fix"`
}

// diagnose gathers the report. Only a kernel it cannot even name is an
// error; everything else is a finding.
func diagnose() (*doctorReport, error) {
	mount, _ := runtime.Cgroup2Mount()
	set, err := features.Probe(features.ProbeOptions{Cgroup2: mount})
	if err != nil {
		return nil, err
	}
	k := set.Kernel
	r := &doctorReport{set: set, Problems: []string{}}
	r.Kernel = doctorKernel{Release: k.Release, Build: k.Build, Version: k.Version.String(), PatchKnown: k.PatchKnown, VersionFrom: k.VersionFrom}

	require := func(name string, err error, blocking bool, detail string) {
		c := doctorCheck{Name: name, OK: err == nil, Detail: detail}
		if err != nil {
			c.Detail = err.Error()
			if blocking {
				r.Problems = append(r.Problems, name+": "+err.Error())
			}
		}
		r.Requirements = append(r.Requirements, c)
	}
	require("little-endian CPU", runtime.CheckHost(), true, "")
	if k.Version.Before(features.MinSupported()) {
		require("Linux "+features.MinSupported().Short()+" or later", fmt.Errorf("Linux %s is older than sockc supports and tests", k.Version.Short()), false, "")
	} else {
		require("Linux "+features.MinSupported().Short()+" or later", nil, true, "Linux "+k.Version.String())
	}
	lacks, lerr := runtime.LackingCapabilities()
	switch {
	case lerr != nil:
		require("capabilities", lerr, true, "")
	case len(lacks) > 0:
		require("capabilities", fmt.Errorf("this process lacks %s: run as root, or grant CAP_BPF and CAP_NET_ADMIN", strings.Join(lacks, " and ")), true, "")
	default:
		require("capabilities", nil, true, "CAP_BPF and CAP_NET_ADMIN, or what stands in for them on this kernel")
	}
	privileged := lerr == nil && len(lacks) == 0
	// Without the capabilities the kernel refuses every probe: only the
	// missing capabilities are worth saying then.
	if privileged {
		require("BPF sockmap and sockhash maps", kernelHas(cfeatures.HaveMapType(ebpf.SockHash), "CONFIG_BPF_SYSCALL and CONFIG_NET_SOCK_MSG"), true, "")
		for _, pt := range []struct {
			typ  ebpf.ProgramType
			name string // the kernel's
		}{{ebpf.SkMsg, "sk_msg"}, {ebpf.SkSKB, "sk_skb"}, {ebpf.SockOps, "sockops"}} {
			require(pt.name+" programs", kernelHas(cfeatures.HaveProgramType(pt.typ), "CONFIG_BPF_SYSCALL, CONFIG_NET_SOCK_MSG and CONFIG_CGROUP_BPF"), true, "")
		}
	}
	if mount != "" {
		require("cgroup2 (for sockops: bypass and -- COMMAND)", nil, false, mount)
	} else {
		require("cgroup2 (for sockops: bypass and -- COMMAND)", errors.New("not mounted: sockops programs cannot attach (--proxy and --accept still work)"), false, "")
	}
	if runtime.BPFFSMounted(runtime.BPFFSRoot) {
		require("bpffs (for --pin)", nil, false, runtime.BPFFSRoot)
	} else {
		require("bpffs (for --pin)", errors.New("not mounted at "+runtime.BPFFSRoot+": sockc run --pin mounts it"), false, "")
	}

	for _, f := range features.All() {
		res := set.Result(f.ID)
		df := doctorFeature{Name: f.Name, Status: res.Status.String(), Probed: res.Probed, Note: res.Note,
			Uses: f.Uses, Fallback: f.Fallback, Needed: f.Needed}
		if f.Since != (features.Version{}) {
			df.Since = f.Since.Short()
		}
		if res.Status != features.Present {
			df.Without = f.Without
		}
		r.Features = append(r.Features, df)
	}
	if caps, err := features.Capabilities(); err == nil {
		r.Capabilities = caps
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil {
		r.Memlock = "unlimited"
		if lim.Cur != unix.RLIM_INFINITY {
			r.Memlock = fmt.Sprintf("%d KiB", lim.Cur/1024)
		}
	}
	r.bugs = features.KnownBugs(k)
	for _, b := range r.bugs {
		st := "fixed"
		switch {
		case !b.Known:
			st = "unknown"
		case b.Affected:
			st = "affected"
		}
		r.Bugs = append(r.Bugs, doctorBug{Name: b.Bug.Name, Status: st, Effect: b.Bug.Effect, Fix: b.Bug.Fix})
	}
	r.CanRun = len(r.Problems) == 0
	return r, nil
}

// kernelHas words a cilium/ebpf feature probe's answer.
func kernelHas(err error, config string) error {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("this kernel lacks it (%s)", config)
	}
	return err
}

func (r *doctorReport) print(w io.Writer) error {
	var b strings.Builder
	k := r.set.Kernel
	fmt.Fprintf(&b, "kernel    %s\n", k.Release)
	if k.PatchKnown {
		fmt.Fprintf(&b, "upstream  Linux %s (from %s)\n", k.Version, k.VersionFrom)
	} else {
		fmt.Fprintf(&b, "upstream  Linux %s, patch level unknown", k.Version.Short())
		if k.VersionFrom != "" {
			fmt.Fprintf(&b, " (%s)", k.VersionFrom)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nrequirements\n")
	for _, c := range r.Requirements {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		line := fmt.Sprintf("  %s  %s", mark, c.Name)
		if c.Detail != "" {
			line += ": " + c.Detail
		}
		b.WriteString(line + "\n")
	}
	fmt.Fprintf(&b, "\nfeatures since Linux %s\n", features.MinSupported().Short())
	for _, f := range r.Features {
		how := "by version"
		if f.Probed {
			how = "probed"
		}
		since := "no Linux release"
		if f.Since != "" {
			since = "Linux " + f.Since
		}
		fmt.Fprintf(&b, "  %-4s  %s (%s, %s): %s\n", f.Status, f.Name, since, how, f.Uses)
		if f.Without != "" && f.Needed {
			word := "without it"
			if f.Fallback {
				word = "fallback"
			}
			fmt.Fprintf(&b, "        %s: %s\n", word, f.Without)
		}
	}
	b.WriteString("\ncapabilities\n ")
	for _, c := range r.Capabilities {
		mark := "-"
		if c.Effective {
			mark = "+"
		}
		fmt.Fprintf(&b, " %s%s", mark, c.Name)
	}
	fmt.Fprintf(&b, "\n  RLIMIT_MEMLOCK %s\n", r.Memlock)
	b.WriteString("\nknown sockmap bugs\n")
	for _, bug := range r.bugs {
		fmt.Fprintf(&b, "  %s\n", bug)
	}
	b.WriteString("\n")
	if r.CanRun {
		var fallbacks []string
		for _, f := range r.Features {
			if f.Status != "yes" && f.Needed && f.Fallback {
				fallbacks = append(fallbacks, f.Name)
			}
		}
		if len(fallbacks) > 0 {
			fmt.Fprintf(&b, "sockc can run here, with %d fallback(s): %s.\n", len(fallbacks), strings.Join(fallbacks, "; "))
		} else {
			b.WriteString("sockc can run here.\n")
		}
	} else {
		fmt.Fprintf(&b, "sockc cannot run here: %s.\n", strings.Join(r.Problems, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
