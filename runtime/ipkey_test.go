package runtime_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockc/sockc/internal/probe"
	"github.com/sockc/sockc/runtime"
)

// The ip key component, tested against what the kernel puts in each
// context for each kind of socket: AF_INET, AF_INET6 with IPv4-mapped
// addresses (a dual-stack server's), and native IPv6. The expected keys
// come from keys.Encode over the addresses getsockname and getpeername
// return, so the compiler, the runtime and the kernel must all agree.

// wantFamilies is the SO_DOMAIN of client and server for each kind: the
// test would prove nothing about mapped addresses if the dual-stack
// listener gave an AF_INET socket.
var wantFamilies = map[string][2]int{
	"ipv4":            {unix.AF_INET, unix.AF_INET},
	"ipv4-mapped":     {unix.AF_INET, unix.AF_INET6},
	"ipv6":            {unix.AF_INET6, unix.AF_INET6},
	"ipv6-dual-stack": {unix.AF_INET6, unix.AF_INET6},
}

const ipKeyBypass = `sockhash socks: key (ip, port, ip, port), max 64

on established:
    update socks key(local_ip, local_port, remote_ip, remote_port)

on msg to socks:
    redirect key(remote_ip, remote_port, local_ip, local_port) ingress
    count missed
`

// TestIPKeySockopsAndMsg: the sockops program stores each socket under the
// key Go computes for it (bpf_sock_ops), and the sk_msg program finds each
// sender's peer (sk_msg_md): every byte is bypassed and no lookup misses.
func TestIPKeySockopsAndMsg(t *testing.T) {
	rt := load(t, "ipkey.sock", ipKeyBypass)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), probe.Env+"="+probe.KindsMode)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	hold, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c, err := rt.StartCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		hold.Close()
		if err := c.Wait(); err != nil {
			t.Errorf("probe: %v\n%s", err, errb.String())
		}
	}()
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		hold.Close()
		c.Wait()
		t.Fatalf("probe report: %v\n%s", err, errb.String())
	}
	var reports []probe.KindReport
	if err := json.Unmarshal(line, &reports); err != nil {
		t.Fatalf("probe report %q: %v", line, err)
	}
	socks, err := rt.Map("socks")
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, r := range reports {
		t.Logf("%s: client %+v server %+v bytes_acked %d", r.Kind, r.Client, r.Server, r.BytesAcked)
		checkFamilies(t, r)
		for _, e := range []probe.End{r.Client, r.Server} {
			want = append(want, endKey(t, socks, e))
		}
		if r.BytesAcked > uint64(r.Bytes)/100 {
			t.Errorf("%s: client's bytes_acked = %d of %d bytes sent: TCP carried the data, the bypass did not engage", r.Kind, r.BytesAcked, r.Bytes)
		}
	}
	if len(reports) != len(probe.Kinds()) {
		t.Errorf("probe reported %d kinds, want %d", len(reports), len(probe.Kinds()))
	}
	got, err := runtime.HashKeys(socks.EBPF())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, bytes.Compare)
	slices.SortFunc(want, bytes.Compare)
	if len(got) != len(want) {
		t.Errorf("socks holds %d keys, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("key %d in the map:\n got  %x\n want %x", i, got[i], want[i])
		}
	}
	counts, err := rt.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if counts["missed"] != 0 {
		t.Errorf("sk_msg: %d lookups of a peer missed, want 0", counts["missed"])
	}
}

const ipKeyEcho = `sockhash echo: key (ip, port, ip, port), max 64

on stream verdict to echo:
    redirect key(local_ip, local_port, remote_ip, remote_port)
    count missed
`

// TestIPKeyStreamVerdict: the test puts each server socket under the key
// Go computes for it, and the stream verdict program (__sk_buff) looks
// itself up by its own addresses and redirects every segment back out:
// an echo that only works when the kernel's key equals Go's.
func TestIPKeyStreamVerdict(t *testing.T) {
	rt := load(t, "ipecho.sock", ipKeyEcho)
	echo, err := rt.Map("echo")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range probe.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			client, server, err := probe.DialKind(k)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			defer server.Close()
			ce, err := probe.SocketEnd(client)
			if err != nil {
				t.Fatal(err)
			}
			se, err := probe.SocketEnd(server)
			if err != nil {
				t.Fatal(err)
			}
			checkFamilies(t, probe.KindReport{Kind: k.Name, Client: ce, Server: se})
			if err := echo.PutKey(server, endKey(t, echo, se)); err != nil {
				t.Fatal(err)
			}
			if err := roundTrip(client, 1<<20); err != nil {
				t.Fatalf("echo through the stream verdict: %v", err)
			}
		})
	}
	counts, err := rt.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if counts["missed"] != 0 {
		t.Errorf("stream verdict: %d lookups of the socket itself missed, want 0", counts["missed"])
	}
}

func checkFamilies(t *testing.T, r probe.KindReport) {
	t.Helper()
	if f, ok := wantFamilies[r.Kind]; !ok || r.Client.Family != f[0] || r.Server.Family != f[1] {
		t.Errorf("%s: client family %d, server family %d, want %v", r.Kind, r.Client.Family, r.Server.Family, f)
	}
}

// endKey is a socket's key: (local ip, local port, remote ip, remote port).
func endKey(t *testing.T, m *runtime.Map, e probe.End) []byte {
	t.Helper()
	a, b := e.Local, e.Remote
	k, err := m.Encode(a.Addr(), a.Port(), b.Addr(), b.Port())
	if err != nil {
		t.Fatal(err)
	}
	return k
}
