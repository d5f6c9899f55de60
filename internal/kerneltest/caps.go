package kerneltest

import (
	"fmt"
	goruntime "runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// WithBPFCapabilitiesOnly runs f on an OS thread of its own whose
// effective capabilities are CAP_BPF and CAP_NET_ADMIN only: what sockc
// promises to need. Without CAP_PERFMON and CAP_SYS_ADMIN the verifier
// refuses what it accepts from root (pointer compares, narrow stores into
// spilled stack slots), so a load that works here works for a service
// given just those two. Capabilities belong to a thread: f's BPF calls
// must run on the calling goroutine, and the thread ends with it, never
// to be reused by the Go scheduler. f may call t.Error, not t.Fatal.
func WithBPFCapabilitiesOnly(t testing.TB, f func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// No UnlockOSThread: the thread exits with this goroutine.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- fmt.Errorf("capget: %w", err)
			return
		}
		keep := [2]uint32{}
		for _, c := range []uint{unix.CAP_BPF, unix.CAP_NET_ADMIN} {
			keep[c/32] |= 1 << (c % 32)
		}
		for i := range data {
			data[i].Effective &= keep[i]
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- fmt.Errorf("capset: %w", err)
			return
		}
		defer func() { done <- nil }()
		f()
	}()
	if err := <-done; err != nil {
		t.Fatalf("drop capabilities: %v", err)
	}
}
