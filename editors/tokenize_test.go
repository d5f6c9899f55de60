package editors

import (
	"sort"
	"strconv"
	"strings"
)

// span is a piece of a line with the scopes the grammar gives it: the
// rule's name for the whole match, the rule's name and the capture's name
// for a group.
type span struct {
	start, end int
	scopes     []string
}

// tokenize applies the grammar to one line as a TextMate engine applies a
// flat grammar: from the current position, every rule searches forward;
// the match that starts first wins, ties going to the rule listed first;
// the position moves to the end of that match. Text no rule matches gets
// no scope.
//
// Go's regexp cannot start a search in the middle of a string with the
// text before it as context, which \b and ^ need. So a search from pos > 0
// runs on the rest of the line behind one sentinel byte that stands for
// the byte before pos: '_' after a word byte (so \b sees no boundary), ' '
// otherwise. No rule can match a sentinel: none starts with '_' or a
// blank, and ^ would have to match the sentinel itself.
func (g *grammar) tokenize(line string) []span {
	var out []span
	for pos := 0; pos < len(line); {
		text, shift := line, 0
		if pos > 0 {
			sentinel := " "
			if isWordByte(line[pos-1]) {
				sentinel = "_"
			}
			text, shift = sentinel+line[pos:], pos-1
		}
		var best []int
		var bestRule *rule
		for i := range g.Patterns {
			r := &g.Patterns[i]
			loc := r.re.FindStringSubmatchIndex(text)
			if loc == nil || (pos > 0 && loc[0] == 0) {
				continue
			}
			if best == nil || loc[0] < best[0] {
				best, bestRule = loc, r
			}
		}
		if best == nil {
			break
		}
		for i := range best {
			if best[i] >= 0 {
				best[i] += shift
			}
		}
		if bestRule.Name != "" {
			out = append(out, span{best[0], best[1], []string{bestRule.Name}})
		}
		keys := make([]string, 0, len(bestRule.Captures))
		for k := range bestRule.Captures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n, _ := strconv.Atoi(k) // checked by TestGrammarWellFormed
			s, e := best[2*n], best[2*n+1]
			if s < 0 || s == e {
				continue
			}
			scopes := []string{bestRule.Captures[k].Name}
			if bestRule.Name != "" {
				scopes = append([]string{bestRule.Name}, scopes...)
			}
			out = append(out, span{s, e, scopes})
		}
		pos = max(best[1], best[0]+1)
	}
	return out
}

// isWordByte reports whether Go's \b counts b as a word character.
func isWordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// exact reports whether some span covers exactly [s, e) with a scope that
// starts with one of the prefixes.
func exact(spans []span, s, e int, prefixes ...string) bool {
	for _, sp := range spans {
		if sp.start == s && sp.end == e && hasScope(sp, prefixes) {
			return true
		}
	}
	return false
}

// within reports whether some span contains [s, e) and has a scope that
// starts with one of the prefixes.
func within(spans []span, s, e int, prefixes ...string) bool {
	for _, sp := range spans {
		if sp.start <= s && e <= sp.end && hasScope(sp, prefixes) {
			return true
		}
	}
	return false
}

func hasScope(sp span, prefixes []string) bool {
	for _, sc := range sp.scopes {
		for _, p := range prefixes {
			if strings.HasPrefix(sc, p) {
				return true
			}
		}
	}
	return false
}

// describe prints the spans over [s, e), for failure messages.
func describe(spans []span, s, e int) string {
	var parts []string
	for _, sp := range spans {
		if sp.start < e && s < sp.end {
			parts = append(parts, strconv.Itoa(sp.start)+"-"+strconv.Itoa(sp.end)+" "+strings.Join(sp.scopes, " "))
		}
	}
	if len(parts) == 0 {
		return "no scope"
	}
	return strings.Join(parts, "; ")
}
