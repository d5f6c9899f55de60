package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// outputMatcher compares the output a tutorial shows with the output a
// command printed. A shown line that one of the block's patterns matches
// in full is a sample: the printed line must match that pattern too. Any
// other shown line must be printed exactly (trailing blanks aside). A
// shown "..." matches any number of printed lines.
type outputMatcher struct {
	patterns []*regexp.Regexp
	// used marks the patterns that matched a shown line, so that a
	// pattern no shown line needs is reported as stale.
	used map[int]bool
	// exact and fuzzy count the shown lines compared each way.
	exact, fuzzy int
}

func newOutputMatcher(sources []string) (*outputMatcher, error) {
	m := &outputMatcher{used: map[int]bool{}}
	for _, s := range sources {
		re, err := regexp.Compile("^(?:" + s + ")$")
		if err != nil {
			return nil, err
		}
		m.patterns = append(m.patterns, re)
	}
	return m, nil
}

// patternFor returns the pattern a shown line is a sample of, or nil.
func (m *outputMatcher) patternFor(shown string) *regexp.Regexp {
	for i, re := range m.patterns {
		if re.MatchString(shown) {
			m.used[i] = true
			return re
		}
	}
	return nil
}

// match reports whether got fits want.
func (m *outputMatcher) match(want, got []string) bool {
	var rec func(i, j int) bool
	memo := map[[2]int]bool{}
	rec = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(want):
			ok = j == len(got)
		case want[i] == "...":
			ok = rec(i+1, j) || j < len(got) && rec(i, j+1)
		case j == len(got):
			ok = false
		default:
			ok = m.lineMatches(want[i], got[j]) && rec(i+1, j+1)
		}
		memo[k] = ok
		return ok
	}
	return rec(0, 0)
}

func (m *outputMatcher) lineMatches(want, got string) bool {
	want, got = strings.TrimRight(want, " \t"), strings.TrimRight(got, " \t")
	if re := m.patternFor(want); re != nil {
		return re.MatchString(got)
	}
	return want == got
}

// count records, after a successful match, how the shown lines were
// compared.
func (m *outputMatcher) count(want []string) {
	for _, w := range want {
		switch {
		case w == "...":
		case m.patternFor(strings.TrimRight(w, " \t")) != nil:
			m.fuzzy++
		default:
			m.exact++
		}
	}
}

// stale returns an error naming the patterns that no shown line uses.
func (m *outputMatcher) stale() error {
	for i, re := range m.patterns {
		if !m.used[i] {
			return fmt.Errorf("<!-- output matches: %s --> matches no line the block shows", re)
		}
	}
	return nil
}

// splitLines turns output into lines, without the final newline's empty
// line.
func splitLines(out string) []string {
	out = strings.TrimSuffix(out, "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// TestTutorialMatcher checks the comparison the tutorial test relies on,
// without the kernel: exact lines, samples of a pattern, "...", and the
// mismatches each must catch.
func TestTutorialMatcher(t *testing.T) {
	m, err := newOutputMatcher([]string{`sent \d+ bytes`})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ready", "sent 12 bytes", "...", "done"}
	for _, tc := range []struct {
		got  []string
		want bool
	}{
		{[]string{"ready", "sent 99 bytes", "done"}, true},
		{[]string{"ready", "sent 7 bytes", "x", "y", "done"}, true},
		{[]string{"ready  ", "sent 7 bytes", "done"}, true},
		{[]string{"ready", "sent many bytes", "done"}, false},
		{[]string{"Ready", "sent 7 bytes", "done"}, false},
		{[]string{"ready", "sent 7 bytes"}, false},
		{[]string{"ready", "sent 7 bytes", "done", "extra"}, false},
	} {
		if got := m.match(want, tc.got); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", want, tc.got, got, tc.want)
		}
	}
	if err := m.stale(); err != nil {
		t.Error(err)
	}
	unused, _ := newOutputMatcher([]string{`nothing shown`})
	unused.match(want, want)
	if unused.stale() == nil {
		t.Error("a pattern that matches no shown line is not reported")
	}
}
