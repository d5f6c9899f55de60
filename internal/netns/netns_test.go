package netns

import (
	"strconv"
	"testing"
)

func TestTCPSegments(t *testing.T) {
	snmp := func(outSegs int) string {
		return "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n" +
			"Tcp: 1 200 120000 -1 3 3 0 0 0 30 " + strconv.Itoa(outSegs) + " 0 0 0 0\n"
	}
	out := snmp(0) + "sockc: ready\nsockc: bypass.sock: 2 sockets\n" + snmp(37)
	if n, err := TCPSegments([]byte(out)); n != 37 || err != nil {
		t.Errorf("TCPSegments = %d, %v; want 37", n, err)
	}
	if n, err := TCPSegments([]byte(snmp(12) + snmp(40012))); n != 40000 || err != nil {
		t.Errorf("TCPSegments = %d, %v; want 40000", n, err)
	}
	if _, err := TCPSegments([]byte(snmp(5))); err == nil {
		t.Error("TCPSegments of one reading succeeded")
	}
}
