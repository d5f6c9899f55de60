package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
)

// loadChildEnv makes the test binary, run by TestIntegrityBypass as the
// command of `sockc run bypass_counted.sock --`, run a load (client and
// server in this process, so both inside sockc's cgroup) instead of the
// tests. Its value is the JSON of the loadParams.
const loadChildEnv = "SOCKC_LOAD_CHILD"

// init runs before TestMain (which builds sockc for the tests): a child
// needs neither.
func init() {
	if spec := os.Getenv(loadChildEnv); spec != "" {
		if err := loadChild(spec, os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// childReport is what a load child found, one JSON line on its stdout.
type childReport struct {
	Conns, Accepted, Headerless int
	Errors                      []string // broken promises (the first 50)
	ErrorCount                  int
	BytesVerified               int64
	TCPReceived                 int64 // the part that came through TCP (see loadResult.tcpReceived)
	HalfCloses, Resets          int
	WritesOK, WritesFailed      int64
	ElapsedMS                   int64
}

// loadChild runs the load of spec on loopback, writes its report to out,
// and then waits for in to close: the parent inspects the maps while the
// programs are still attached, before sockc ends with this command.
func loadChild(spec string, out io.Writer, in io.Reader) error {
	var lp loadParams
	if err := json.Unmarshal([]byte(spec), &lp); err != nil {
		return fmt.Errorf("parameters %q: %w", spec, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	res := runLoad(ln.Addr().String(), ln, lp)
	errs := res.check()
	rep := childReport{
		Conns: len(res.Plans), Accepted: res.Accepted, Headerless: len(res.Headerless),
		ErrorCount: len(errs), BytesVerified: res.bytesVerified(), TCPReceived: res.tcpReceived(),
		HalfCloses: countPlans(res.Plans).HalfCloses, Resets: countPlans(res.Plans).Resets,
		WritesOK: res.Writes.OK.Load(), WritesFailed: res.Writes.Failed.Load(),
		ElapsedMS: res.Elapsed.Milliseconds(),
	}
	for _, e := range errs[:min(len(errs), 50)] {
		rep.Errors = append(rep.Errors, e.Error())
	}
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, in)
	return err
}
