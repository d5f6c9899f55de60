// Package netns runs a command in a network namespace of its own, where
// the kernel's TCP counters count its traffic alone: how the tests and the
// benchmark tell a bypass that carried the bytes from one that fell back
// to TCP. It also builds a Line, three namespaces joined by veth, where
// the benchmark puts a client, a proxy and a server on hosts of their own.
package netns

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Command returns argv wrapped to run in a fresh network namespace with
// lo up, the Tcp lines of /proc/net/snmp printed before and after it;
// its exit status is argv's.
func Command(argv ...string) []string {
	return append([]string{"unshare", "--net", "sh", "-c",
		`ip link set lo up && grep "^Tcp:" /proc/net/snmp && "$@"; st=$?; grep "^Tcp:" /proc/net/snmp; exit $st`, "sh"},
		argv...)
}

// Quote writes argv as one shell command line, each word in single
// quotes.
func Quote(argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// TCPSegments is the TCP segments sent while Command's argv ran: OutSegs
// of the last "Tcp:" name and value lines of /proc/net/snmp in out, less
// that of the first.
func TCPSegments(out []byte) (int, error) {
	var rows [][]string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Tcp:") {
			rows = append(rows, strings.Fields(l))
		}
	}
	if len(rows) < 4 {
		return 0, errors.New("no Tcp: lines of /proc/net/snmp before and after")
	}
	outSegs := func(names, values []string) (int, error) {
		i := slices.Index(names, "OutSegs")
		if i < 0 || i >= len(values) {
			return 0, fmt.Errorf("no OutSegs in %q", names)
		}
		return strconv.Atoi(values[i])
	}
	before, err := outSegs(rows[0], rows[1])
	if err != nil {
		return 0, err
	}
	after, err := outSegs(rows[len(rows)-2], rows[len(rows)-1])
	return after - before, err
}
