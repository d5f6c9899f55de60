package bench

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Peer is a third-party program a configuration needs.
type Peer struct {
	Program string // command name
	Package string // Debian package
	Version string // first line of its version output, if present
	Status  string // "present", "installed now", or why it is missing
}

// Available reports whether the peer can run.
func (p Peer) Available() bool { return p.Version != "" }

// peerPackages are the Debian packages of the programs configurations and
// the tools section need (ethtool sets the veth topology's offloads).
var peerPackages = map[string]string{"haproxy": "haproxy", "socat": "socat", "iperf3": "iperf3", "sockperf": "sockperf", "ethtool": "ethtool"}

// versionArgs ask each peer for its version.
var versionArgs = map[string][]string{"haproxy": {"-v"}, "socat": {"-V"}, "iperf3": {"--version"}, "sockperf": {"--version"}, "ethtool": {"--version"}}

// versionWord marks the line of a peer's version output that gives its
// version, if that line does not say "version" ("iperf 3.12 (cJSON 1.7.15)").
var versionWord = map[string]string{"iperf3": "iperf 3"}

// FindPeers looks up each program that the configurations need. With install
// set, a missing one is installed with apt-get (root only); otherwise, or
// if that fails, it is reported missing and its configurations are
// skipped.
func FindPeers(configs []Config, install bool, log io.Writer) map[string]Peer {
	peers := map[string]Peer{}
	updated := false
	for _, c := range configs {
		if c.Needs == "" || peers[c.Needs].Program != "" {
			continue
		}
		p := Peer{Program: c.Needs, Package: peerPackages[c.Needs]}
		if _, err := exec.LookPath(p.Program); err == nil {
			p.Status = "present"
		} else if !install {
			p.Status = "not installed; skipped (run without -install=false to install it)"
		} else if err := aptInstall(p.Package, &updated, log); err != nil {
			p.Status = fmt.Sprintf("not installed; skipped (%v)", err)
		} else {
			p.Status = "installed now"
		}
		if !strings.HasPrefix(p.Status, "not installed") {
			p.Version = programVersion(p.Program)
			if p.Version == "" {
				p.Status = "does not run; skipped"
			}
		}
		peers[p.Program] = p
	}
	return peers
}

func aptInstall(pkg string, updated *bool, log io.Writer) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("installing %s needs root", pkg)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("no apt-get to install %s", pkg)
	}
	fmt.Fprintf(log, "installing %s with apt-get\n", pkg)
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if !*updated {
		cmd := exec.Command("apt-get", "update", "-qq")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get update: %v: %s", err, lastLine(out))
		}
		*updated = true
	}
	cmd := exec.Command("apt-get", "install", "-y", "-qq", pkg)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %s: %v: %s", pkg, err, lastLine(out))
	}
	return nil
}

func programVersion(program string) string {
	out, _ := exec.Command(program, versionArgs[program]...).CombinedOutput()
	word := cmp.Or(versionWord[program], "version")
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(strings.ToLower(line), word) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
