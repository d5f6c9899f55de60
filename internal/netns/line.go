package netns

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Line is three network namespaces in a row, as three hosts on two
// links: client, proxy and server, joined by a veth pair between client
// and proxy and another between proxy and server. The proxy namespace
// forwards IPv4 between the two, so the client reaches the server through
// it, routed, or connects to a program listening in it. Every name and
// address lives inside the three namespaces: nothing is added to the
// namespace that creates them.
type Line struct {
	Client, Proxy, Server string // namespace names, under /run/netns
}

// The addresses of a Line: one private /24 per link.
const (
	ClientAddr      = "10.77.1.1" // the client's, on the client link
	ProxyClientAddr = "10.77.1.2" // the proxy's, on the client link
	ProxyServerAddr = "10.77.2.1" // the proxy's, on the server link
	ServerAddr      = "10.77.2.2" // the server's, on the server link
)

// The veth devices of a Line, each named after the namespace at its
// other end.
const (
	ClientDev      = "to-proxy"  // in the client namespace
	ProxyClientDev = "to-client" // in the proxy namespace
	ProxyServerDev = "to-server" // in the proxy namespace
	ServerDev      = "to-proxy"  // in the server namespace
)

// NewLine names a Line's namespaces prefix-client, prefix-proxy and
// prefix-server.
func NewLine(prefix string) Line {
	return Line{Client: prefix + "-client", Proxy: prefix + "-proxy", Server: prefix + "-server"}
}

// Device is one veth device of a Line.
type Device struct{ Netns, Name string }

// Devices are the Line's four veth devices: client, proxy's two, server.
func (l Line) Devices() []Device {
	return []Device{{l.Client, ClientDev}, {l.Proxy, ProxyClientDev}, {l.Proxy, ProxyServerDev}, {l.Server, ServerDev}}
}

// SetupCommands are the commands that build the Line, in order.
func (l Line) SetupCommands() [][]string {
	var cmds [][]string
	for _, ns := range []string{l.Client, l.Proxy, l.Server} {
		cmds = append(cmds, []string{"ip", "netns", "add", ns})
	}
	for _, ns := range []string{l.Client, l.Proxy, l.Server} {
		cmds = append(cmds, []string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	cmds = append(cmds,
		[]string{"ip", "-n", l.Client, "link", "add", ClientDev, "type", "veth", "peer", "name", ProxyClientDev, "netns", l.Proxy},
		[]string{"ip", "-n", l.Server, "link", "add", ServerDev, "type", "veth", "peer", "name", ProxyServerDev, "netns", l.Proxy},
	)
	addrs := []string{ClientAddr, ProxyClientAddr, ProxyServerAddr, ServerAddr}
	for i, d := range l.Devices() {
		cmds = append(cmds, []string{"ip", "-n", d.Netns, "addr", "add", addrs[i] + "/24", "dev", d.Name})
	}
	for _, d := range l.Devices() {
		cmds = append(cmds, []string{"ip", "-n", d.Netns, "link", "set", d.Name, "up"})
	}
	return append(cmds,
		[]string{"ip", "-n", l.Client, "route", "add", "default", "via", ProxyClientAddr},
		[]string{"ip", "-n", l.Server, "route", "add", "default", "via", ProxyServerAddr},
		Enter(l.Proxy, "sysctl", "-qw", "net.ipv4.ip_forward=1"),
	)
}

// Create builds the Line. On an error it removes what it had built.
func (l Line) Create(ctx context.Context) error {
	for _, argv := range l.SetupCommands() {
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			err = fmt.Errorf("create namespaces: %s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
			return errors.Join(err, l.Remove())
		}
	}
	return nil
}

// Remove deletes the Line's namespaces, and with them its veth devices,
// those that exist: after a partial Create too. A process still in one
// (the caller's, which it failed to stop) is killed first, by its id, so
// that it does not keep the namespace alive unnamed.
func (l Line) Remove() error {
	var errs []error
	for _, ns := range []string{l.Client, l.Proxy, l.Server} {
		if !Exists(ns) {
			continue
		}
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("remove namespace %s: %v: %s", ns, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// Exists reports whether a named network namespace exists.
func Exists(name string) bool {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

// Enter returns argv wrapped to run in the named network namespace, and
// in it only: unlike `ip netns exec`, nsenter leaves the mounts (/sys,
// the bpf and cgroup file systems) as they are. The command keeps
// nsenter's process: its /proc/PID/net is the namespace's. An empty name
// leaves argv as it is.
func Enter(name string, argv ...string) []string {
	if name == "" {
		return argv
	}
	return append([]string{"nsenter", "--net=" + Path(name), "--"}, argv...)
}

// Path is where a named network namespace is mounted.
func Path(name string) string { return "/run/netns/" + name }
