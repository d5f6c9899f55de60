package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// lastStats parses the last "sockc: stats" line that sockc printed:
// NAME=VALUE fields (map sizes, count.COUNTER, proxied, active, failed).
func lastStats(t *testing.T, log *lineLog) map[string]int64 {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	for i := len(log.lines) - 1; i >= 0; i-- {
		rest, ok := strings.CutPrefix(log.lines[i], "sockc: stats ")
		if !ok {
			continue
		}
		out := map[string]int64{}
		for _, f := range strings.Fields(rest) {
			name, val, ok := strings.Cut(f, "=")
			if !ok {
				t.Fatalf("stats field %q in %q", f, log.lines[i])
			}
			v, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				t.Fatalf("stats field %q in %q: %v", f, log.lines[i], err)
			}
			out[name] = v
		}
		return out
	}
	t.Fatalf("no stats line in:\n%s", strings.Join(log.lines, "\n"))
	return nil
}

// countLines counts the lines sockc printed that contain all of parts.
func countLines(log *lineLog, parts ...string) int {
	log.mu.Lock()
	defer log.mu.Unlock()
	n := 0
next:
	for _, l := range log.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		n++
	}
	return n
}
