package runtime_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/sockc/sockc/internal/probe"
)

// TestMain lets this test binary act as the bypass probe: run inside a
// cgroup by TestBypassExample (or TestIPKey..., in KindsMode), it talks to
// itself over loopback.
func TestMain(m *testing.M) {
	switch os.Getenv(probe.Env) {
	case "":
	case probe.KindsMode:
		if err := probe.RunKinds(os.Stdout, os.Stdin, 1<<20); err != nil {
			os.Stderr.WriteString("probe: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	default:
		if err := probe.Run(os.Stdout, 64<<20); err != nil {
			os.Stderr.WriteString("probe: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestBypassExample(t *testing.T) {
	src, err := os.ReadFile("../examples/bypass.sock")
	if err != nil {
		t.Fatal(err)
	}
	rt := load(t, "bypass.sock", string(src))
	var out, errb bytes.Buffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), probe.Env+"=1")
	cmd.Stdout, cmd.Stderr = &out, &errb
	c, err := rt.StartCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	cgroup := c.Cgroup
	if err := c.Wait(); err != nil {
		t.Fatalf("probe: %v\n%s", err, errb.String())
	}
	if _, err := os.Stat(cgroup); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still exists after Wait (%v)", cgroup, err)
	}
	var r probe.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("probe report %q: %v", out.String(), err)
	}
	t.Logf("probe: %+v", r)
	if !r.HalfClose || !r.CloseEarly || r.BulkBytes == 0 {
		t.Fatalf("probe report incomplete: %+v", r)
	}
	// Through TCP, bytes_acked approaches the bytes sent; through the
	// bypass, the data never becomes TCP segments.
	if r.BytesAcked > uint64(r.BulkBytes)/100 {
		t.Errorf("sender's bytes_acked = %d of %d bytes sent: the TCP stack carried the data", r.BytesAcked, r.BulkBytes)
	}
}

// TestBypassControl runs the same probe without sockc: TCP carries the
// data, which shows the bytes_acked assertion above can fail.
func TestBypassControl(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), probe.Env+"=1")
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	var r probe.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.BytesAcked < uint64(r.BulkBytes)/2 {
		t.Errorf("without the bypass, bytes_acked = %d of %d", r.BytesAcked, r.BulkBytes)
	}
}
