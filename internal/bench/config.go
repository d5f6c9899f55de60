package bench

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sockc/sockc/internal/netns"
)

// Config is one way of carrying a workload's bytes: directly, through a
// proxy, or under sockc's bypass.
type Config struct {
	Name string
	// Role says what the configuration is compared with.
	Role Role
	// Needs is the program the configuration runs, if it is not ours; the
	// harness installs it or skips the configuration.
	Needs string
	// start starts the configuration's long-lived peer and returns where
	// clients connect and how to stop it. Without one, clients connect to
	// the server directly.
	start func(ctx context.Context, env *Env) (addr string, p *process, err error)
	// wrap turns the load command into the command to run, for
	// configurations that run the load inside something (the bypass).
	wrap func(env *Env, argv []string) []string
}

// Role places a configuration in the comparison.
type Role string

// The roles of the configurations.
const (
	Baseline    Role = "baseline"     // plain loopback, no proxy
	UserProxy   Role = "user proxy"   // a proxy in user space
	SockcProxy  Role = "sockc proxy"  // sockc run proxy.sock --proxy
	SockcBypass Role = "sockc bypass" // sockc run bypass.sock -- ...
)

// Env is what configurations need from the harness.
type Env struct {
	Sockc    string // the sockc binary
	Self     string // the sockc-bench binary, for the load and the Go proxy
	Examples string // the directory of proxy.sock and bypass.sock
	Upstream string // the server's address, fixed for the whole run
	TempDir  string
	// Netns is the network namespace the configurations' peers run in,
	// by name; the harness's own if empty.
	Netns string
	// Host is the address the peers listen on; 127.0.0.1 if empty.
	Host string
	// Stats has the sockc proxy print its statistics when it stops, for
	// the harness to read the verdict program's runs from.
	Stats bool
}

// host is the address the peers listen on.
func (e *Env) host() string { return cmp.Or(e.Host, "127.0.0.1") }

// command is argv run where the peers run.
func (e *Env) command(argv ...string) []string { return netns.Enter(e.Netns, argv...) }

// Configs returns every configuration, in the order of the tables, in a
// new slice the caller may change.
func Configs() []Config {
	return []Config{
		{Name: "direct", Role: Baseline},
		{Name: "go read/write", Role: UserProxy, start: goProxy(ReadWrite)},
		{Name: "go io.Copy", Role: UserProxy, start: goProxy(Copy)},
		{Name: "haproxy", Role: UserProxy, Needs: "haproxy", start: startHAProxy},
		{Name: "socat", Role: UserProxy, Needs: "socat", start: startSocat},
		SockcProxyProgram("sockc proxy", ""),
		{
			Name: "sockc bypass", Role: SockcBypass,
			wrap: func(env *Env, argv []string) []string {
				return append([]string{env.Sockc, "run", filepath.Join(env.Examples, "bypass.sock"), "--"}, argv...)
			},
		},
	}
}

var listeningLine = regexp.MustCompile(`^listening on (\S+)$`)

func goProxy(mode GoProxyMode) func(context.Context, *Env) (string, *process, error) {
	return func(ctx context.Context, env *Env) (string, *process, error) {
		var addr string
		p, err := startProcess(ctx, "go proxy ("+string(mode)+")",
			env.command(env.Self, "goproxy", "-mode", string(mode), "-listen", net.JoinHostPort(env.host(), "0"), "-upstream", env.Upstream),
			func(line string) bool {
				if m := listeningLine.FindStringSubmatch(line); m != nil {
					addr = m[1]
					return true
				}
				return false
			})
		return addr, p, err
	}
}

func startHAProxy(ctx context.Context, env *Env) (string, *process, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	// TCP mode, no health checks, one thread per core (HAProxy's default):
	// the configuration its documentation gives for a plain TCP relay.
	cfg := fmt.Sprintf(`global
	maxconn 4096
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
listen bench
	bind %s
	server upstream %s
`, net.JoinHostPort(env.host(), strconv.Itoa(port)), env.Upstream)
	path := filepath.Join(env.TempDir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return "", nil, fmt.Errorf("haproxy: %w", err)
	}
	return startListener(ctx, "haproxy", env.host(), port, env.command("haproxy", "-db", "-f", path))
}

func startSocat(ctx context.Context, env *Env) (string, *process, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	return startListener(ctx, "socat", env.host(), port, env.command("socat",
		fmt.Sprintf("TCP-LISTEN:%d,bind=%s,reuseaddr,fork,backlog=1024", port, env.host()),
		"TCP:"+env.Upstream))
}

// startListener starts a peer that announces nothing and waits until it
// listens on host:port (IPv4).
func startListener(ctx context.Context, name, host string, port int, argv []string) (string, *process, error) {
	p, err := startProcess(ctx, name, argv, nil)
	if err != nil {
		return "", nil, err
	}
	if err := waitListening(ctx, p, host, port); err != nil {
		return "", nil, err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), p, nil
}

var sockcProxyLine = regexp.MustCompile(`^sockc: proxy (\S+) -> `)

// SockcProxyProgram is the sockc proxy configuration running program (a
// .sock file or object; examples/proxy.sock if empty), for comparing
// variants of the proxy program under the same load.
func SockcProxyProgram(name, program string) Config {
	return Config{Name: name, Role: SockcProxy, start: func(ctx context.Context, env *Env) (string, *process, error) {
		file := program
		if file == "" {
			file = filepath.Join(env.Examples, "proxy.sock")
		}
		argv := []string{env.Sockc, "run", file, "--proxy", net.JoinHostPort(env.host(), "0") + "=" + env.Upstream}
		if env.Stats {
			// No line until it stops: then one with the final figures.
			argv = append(argv, "--stats", "24h")
		}
		var addr string
		p, err := startProcess(ctx, name, env.command(argv...),
			func(line string) bool {
				if m := sockcProxyLine.FindStringSubmatch(line); m != nil {
					addr = m[1]
				}
				return strings.TrimSpace(line) == "sockc: ready"
			})
		if err == nil && addr == "" {
			p.stop()
			err = fmt.Errorf("%s: no proxy address before ready:\n%s", name, p.tail)
		}
		return addr, p, err
	}}
}
