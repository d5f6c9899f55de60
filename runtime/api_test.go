package runtime_test

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/sockc/sockc"
	"github.com/sockc/sockc/internal/kerneltest"
	"github.com/sockc/sockc/lang/keys"
	"github.com/sockc/sockc/runtime"
)

func addrPort(a net.Addr) (netip.Addr, uint16) {
	ap := a.(*net.TCPAddr).AddrPort()
	return ap.Addr().Unmap(), ap.Port()
}

// TestKeysMatchCompiler puts a socket into a tuple-keyed sockhash with a key
// built in Go, and lets the compiled program find it with a key built in
// BPF from the sender's fields (remote_port included, whose byte order the
// compiler converts): the two encodings must be the same bytes.
func TestKeysMatchCompiler(t *testing.T) {
	rt := load(t, "keys.sock", `
sockhash flows: key (ip4, port, ip4, port)
on msg to flows: redirect key(remote_ip4, remote_port, local_ip4, local_port) ingress
`)
	flows, err := rt.Map("flows")
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	sender, _ := connPair(t, ln)
	_, target := connPair(t, ln)
	// The sender must be in the map for its msg program to run; any key.
	if err := flows.Put(sender, netip.MustParseAddr("192.0.2.1"), 1, netip.MustParseAddr("192.0.2.2"), 2); err != nil {
		t.Fatal(err)
	}
	rip, rport := addrPort(sender.RemoteAddr())
	lip, lport := addrPort(sender.LocalAddr())
	if err := flows.Put(target, rip, rport, lip, lport); err != nil {
		t.Fatal(err)
	}
	sender.Write([]byte("found by key"))
	if got := readExactly(t, target, 12); got != "found by key" {
		t.Fatalf("target got %q", got)
	}
	if n, err := flows.Len(); err != nil || n != 2 {
		t.Errorf("Len = %d, %v; want 2", n, err)
	}
	if err := flows.Delete(rip, rport, lip, lport); err != nil {
		t.Fatal(err)
	}
	if n, _ := flows.Len(); n != 1 {
		t.Errorf("after Delete, Len = %d, want 1", n)
	}
}

// TestStandaloneMap builds the pieces without a .sock runtime: a sockmap
// made with NewMap, a program loaded from an ELF object, attached with
// Map.Attach, and a socket put in with PutRaw.
func TestStandaloneMap(t *testing.T) {
	kerneltest.Require(t)
	socks, err := runtime.NewMap("standalone", ebpf.SockMap, keys.ScalarU32(), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := socks.Close(); err != nil {
			t.Error(err)
		}
	})
	spec, err := sockc.Compile("ingress.sock", []byte("sockmap standalone: max 2\non msg to standalone: redirect key(1) ingress\n"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sockc.Object(spec)
	if err != nil {
		t.Fatal(err)
	}
	objSpec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	var objs struct {
		Prog *ebpf.Program `ebpf:"msg_standalone"`
	}
	if err := objSpec.LoadAndAssign(&objs, &ebpf.CollectionOptions{MapReplacements: map[string]*ebpf.Map{"standalone": socks.EBPF()}}); err != nil {
		t.Fatal(err)
	}
	defer objs.Prog.Close()
	att, err := socks.Attach(objs.Prog, ebpf.AttachSkMsgVerdict)
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()

	ln := listen(t)
	sender, _ := connPair(t, ln)
	_, target := connPair(t, ln)
	raw, err := sender.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := socks.PutRaw(raw, 0); err != nil {
		t.Fatal(err)
	}
	if err := socks.Put(target, 1); err != nil {
		t.Fatal(err)
	}
	sender.Write([]byte("by hand"))
	if got := readExactly(t, target, 7); got != "by hand" {
		t.Fatalf("target got %q", got)
	}
}

// TestPutExplainsRefusal: a TCP socket that is neither established nor
// listening is refused by the kernel (EOPNOTSUPP); the error says why.
func TestPutExplainsRefusal(t *testing.T) {
	rt := load(t, "m.sock", "sockmap m: max 2\non msg to m: pass\n")
	m, err := rt.Map("m")
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	key, _ := m.Encode(0)
	err = m.PutFD(fd, key)
	if err == nil || !strings.Contains(err.Error(), "must be established or listening") {
		t.Fatalf("PutFD of an unconnected TCP socket = %v", err)
	}
}

// TestLoadObjectFromClang loads the object clang builds from
// testdata/clang/proxy.c and proxies through it: the runtime takes
// foreign objects that follow the HOOK_MAP naming.
func TestLoadObjectFromClang(t *testing.T) {
	kerneltest.Require(t)
	obj := buildClangObject(t, "../testdata/clang/proxy.c")
	rt, err := runtime.LoadFile(obj, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	conns, err := rt.Map("conns")
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	c1, s1 := connPair(t, ln)
	c2, s2 := connPair(t, ln)
	if err := conns.Pair(s1, s2); err != nil {
		t.Fatal(err)
	}
	c1.Write([]byte("via clang's program"))
	if got := readExactly(t, c2, 19); got != "via clang's program" {
		t.Fatalf("c2 got %q", got)
	}
	ctr, err := rt.Counters()
	if err != nil || ctr["proxied"] == 0 {
		t.Errorf("counters %v (%v): the BTF-named counter of the C program was not found", ctr, err)
	}
}

// TestAttachCgroupRefusesRoot: attaching sockops to the root cgroup would
// touch every socket of the machine; AttachCgroup refuses it.
func TestAttachCgroupRefusesRoot(t *testing.T) {
	rt := load(t, "s.sock", "sockhash s: key u32\non established: update s key(local_port)\n")
	root, err := runtime.Cgroup2Mount()
	if err != nil {
		kerneltest.Unavailable(t, err.Error())
	}
	err = rt.AttachCgroup(root)
	if err == nil || !strings.Contains(err.Error(), "root cgroup") {
		t.Fatalf("AttachCgroup(%s) = %v, want a refusal", root, err)
	}
}
