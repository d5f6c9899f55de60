package kerneltest

import (
	"net"
	"testing"
)

// RequireIPv6 skips t, or fails it when kernel tests are required, unless
// a TCP socket can listen on the IPv6 loopback address [::1]: a kernel
// booted with ipv6.disable=1, or with net.ipv6.conf.lo.disable_ipv6=1,
// has none.
func RequireIPv6(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		const why = "no IPv6 loopback address (see `ip -6 addr show lo` and sysctl net.ipv6.conf.lo.disable_ipv6)"
		if Required() {
			t.Fatalf("IPv6 test cannot run: %s: %v (%s=1 forbids skipping)", why, err, RequireEnv)
		}
		t.Skipf("IPv6 test skipped: %s: %v (%s=1 makes this a failure)", why, err, RequireEnv)
	}
	ln.Close()
}
