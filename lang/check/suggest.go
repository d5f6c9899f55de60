package check

import "fmt"

// Bounds on "did you mean" hints. Every unknown name is compared with
// every candidate, and an edit distance costs the product of the two
// lengths: a file of thousands of maps and thousands of misspelt uses (or
// of two names of a hundred thousand letters) would otherwise take minutes
// to check. The budget counts candidates looked at plus the cells of the
// edit distances computed; past it, hints fall back to the generic advice.
const (
	maxSuggestLen = 64      // longer names get no suggestion
	suggestBudget = 1 << 24 // work per file, about 50 ms
)

// suggest returns the candidate closest to s, if it is close enough. Ties
// go to the candidate that sorts first, so hints do not depend on the
// order of candidates.
func (c *checker) suggest(s string, candidates []string) string {
	if len(s) > maxSuggestLen {
		return ""
	}
	best, bestD := "", maxSuggestion+1
	for _, cand := range candidates {
		if c.suggestLeft <= 0 {
			return ""
		}
		c.suggestLeft--
		// The length difference is a lower bound of the distance.
		if abs(len(cand)-len(s)) > maxSuggestion {
			continue
		}
		c.suggestLeft -= len(s) * len(cand)
		if d := editDistance(s, cand); d < bestD || d == bestD && cand < best {
			best, bestD = cand, d
		}
	}
	return best
}

// mapNames returns the names of the declared maps. All maps are declared
// before the first lookup, so the list is built once.
func (c *checker) mapNames() []string {
	if len(c.mapList) != len(c.maps) {
		c.mapList = c.mapList[:0]
		for n := range c.maps {
			c.mapList = append(c.mapList, n)
		}
	}
	return c.mapList
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// maxQuoted is the longest source text (a literal, an expression) that a
// message quotes whole.
const maxQuoted = 40

// shortLit quotes a literal for a message, eliding the middle of a long
// one: a literal of a million digits is not worth a million-byte line.
func shortLit(raw string) string {
	if len(raw) <= maxQuoted {
		return raw
	}
	return fmt.Sprintf("%s...%s (%d characters)", raw[:maxQuoted/2], raw[len(raw)-maxQuoted/4:], len(raw))
}
