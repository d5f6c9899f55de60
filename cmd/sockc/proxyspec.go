package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// proxySpec is one --proxy LISTEN=UPSTREAM or --accept LISTEN: the
// address to accept on, and the upstream to dial for each client ("" to
// pair each connection with itself). Either address may be IPv4 or IPv6,
// each independently of the other.
type proxySpec struct {
	flag     string // the flag and its value, for messages: --proxy "L=U"
	listen   string
	upstream string
}

// parseProxySpecs checks the values of --proxy and --accept, before
// anything is loaded, and returns them in that order. Every address is
// HOST:PORT, an IPv6 host in brackets ([::1]:8080); an empty host listens
// on every address of both families. A malformed upstream is a usage
// error here rather than a reset of every client later.
func parseProxySpecs(proxies, accepts []string) ([]proxySpec, error) {
	var specs []proxySpec
	for _, p := range proxies {
		flag := fmt.Sprintf("--proxy %q", p)
		// Neither an IPv6 address nor a port has a '=': the first one
		// splits the two addresses, brackets or not.
		listen, upstream, ok := strings.Cut(p, "=")
		if !ok || listen == "" || upstream == "" {
			return nil, usageErrorf("run: %s: want LISTEN=UPSTREAM, e.g. 127.0.0.1:8080=127.0.0.1:80 or [::1]:8080=[::1]:80", flag)
		}
		if err := checkAddr(listen, false); err != nil {
			return nil, usageErrorf("run: %s: listen address: %v", flag, err)
		}
		if err := checkAddr(upstream, true); err != nil {
			return nil, usageErrorf("run: %s: upstream: %v", flag, err)
		}
		specs = append(specs, proxySpec{flag: flag, listen: listen, upstream: upstream})
	}
	for _, a := range accepts {
		flag := fmt.Sprintf("--accept %q", a)
		if err := checkAddr(a, false); err != nil {
			return nil, usageErrorf("run: %s: %v", flag, err)
		}
		specs = append(specs, proxySpec{flag: flag, listen: a})
	}
	return specs, nil
}

// checkAddr checks that addr is HOST:PORT as net.Listen and net.Dial take
// it, with a port a dial can reach if dial is set (not 0). The host is
// left to the resolver unless it is an IP address.
func checkAddr(addr string, dial bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if hint := bracketHint(addr); hint != "" {
			return fmt.Errorf("%s: an IPv6 address takes brackets: %s", addr, hint)
		}
		return fmt.Errorf("want HOST:PORT, with an IPv6 address in brackets ([::1]:8080): %w", err)
	}
	if port == "" {
		return fmt.Errorf("no port in %s", addr)
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	if dial && n == 0 {
		return fmt.Errorf("%s: port 0 cannot be dialed", addr)
	}
	if strings.Contains(host, ":") {
		// In brackets: it must be an IPv6 address, maybe with a zone.
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
	}
	return nil
}

// bracketHint returns how to write addr, an IPv6 address with a port but
// without brackets ("::1:80"), in brackets ("[::1]:80"); or "" if addr is
// not one.
func bracketHint(addr string) string {
	if strings.HasPrefix(addr, "[") {
		return ""
	}
	// "::1:80" is a valid address too (::0.1.0.128), but the last ':'
	// more likely starts a port.
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		if ip, err := netip.ParseAddr(addr[:i]); err == nil && ip.Is6() {
			return "[" + addr[:i] + "]" + addr[i:]
		}
	}
	if ip, err := netip.ParseAddr(addr); err == nil && ip.Is6() {
		return "[" + addr + "]:PORT" // no port: "::1"
	}
	return ""
}

// listener opens the listener of sp; an error names the flag.
func (sp proxySpec) listener() (net.Listener, error) {
	ln, err := net.Listen("tcp", sp.listen)
	if err != nil {
		return nil, fmt.Errorf("run: %s: %w%s", sp.flag, err, noIPv6Hint(sp.listen, err))
	}
	return ln, nil
}

// noIPv6Hint says where to look when an IPv6 address cannot be bound:
// IPv6 disabled, on the host or on the interface.
func noIPv6Hint(addr string, err error) string {
	host, _, _ := net.SplitHostPort(addr)
	ip, perr := netip.ParseAddr(host)
	if perr != nil || !ip.Is6() || ip.Is4In6() {
		return ""
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) {
		return " (is IPv6 enabled? see `ip -6 addr` and the sysctls net.ipv6.conf.*.disable_ipv6)"
	}
	return ""
}
