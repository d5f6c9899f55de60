package doctest

import (
	"fmt"
	"sort"
	"strings"
)

// The comparison of diagnostics_test.go: which code pattern a doc
// template documents, and what is left undocumented or stale.

// diagMatch reports whether the code's pattern c can print the text of the
// doc's template pattern d. A wildcard of c stands for one value: it may
// take any text without a clause separator (": " or "; "); a wildcard of d
// (an elided end) takes anything.
func diagMatch(c, d string) bool {
	if !strings.Contains(d, diagWild) {
		// Quick refusal: the fixed parts of c must appear in d in order.
		rest := d
		parts := strings.Split(c, diagWild)
		if !strings.HasPrefix(d, parts[0]) || !strings.HasSuffix(d, parts[len(parts)-1]) {
			return false
		}
		for _, part := range parts {
			i := strings.Index(rest, part)
			if i < 0 {
				return false
			}
			rest = rest[i+len(part):]
		}
	}
	memo := map[[3]int]bool{}
	var f func(i, j, sep int) bool
	f = func(i, j, sep int) bool {
		key := [3]int{i, j, sep}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(c) && j == len(d):
			ok = true
		case j < len(d) && d[j] == diagWild[0]:
			ok = f(i, j+1, 0) || i < len(c) && f(i+1, j, 0)
		case i < len(c) && c[i] == diagWild[0]:
			// The value may end in ':', but not before a space.
			ok = !(sep == 1 && j < len(d) && d[j] == ' ') && f(i+1, j, 0)
			if !ok && j < len(d) && !(sep == 1 && d[j] == ' ') {
				next := 0
				if d[j] == ':' || d[j] == ';' {
					next = 1
				}
				ok = f(i, j+1, next)
			}
		default:
			ok = i < len(c) && j < len(d) && c[i] == d[j] && f(i+1, j+1, 0)
		}
		memo[key] = ok
		return ok
	}
	return f(0, 0, 0)
}

// diagReport is the outcome of diagCompare.
type diagReport struct {
	problems               []string
	messages, msgTemplates int // distinct messages found in the doc, message templates found in the code
	hints, hintTemplates   int
}

// diagCompare checks the code's messages and hints against the templates,
// both ways.
func diagCompare(code, values []diagMsg, tmpls []diagTemplate, allowed []diagException, endings map[string]diagEnding) diagReport {
	var rep diagReport
	type group struct {
		kind, pattern string
		at            []diagMsg
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, m := range code {
		key := m.kind + "\n" + m.pattern
		g := byKey[key]
		if g == nil {
			g = &group{kind: m.kind, pattern: m.pattern}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.at = append(g.at, m)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].at[0].pos < groups[j].at[0].pos })
	// A template belongs to the patterns that match it with the most
	// fixed text: "write %v" matches "write N for decimal, or 0x... for
	// hex", but that template is the hint "write %v for decimal, or 0x...
	// for hex", and does not document the other one.
	fixed := func(p string) int { return len(p) - strings.Count(p, diagWild) }
	best := make([]int, len(tmpls)) // fixed text of the best pattern of each template, -1 for none
	for i, tm := range tmpls {
		best[i] = -1
		for _, g := range groups {
			if g.kind == tm.kind && !diagDynamic(g.pattern) && diagMatch(g.pattern, diagTemplatePattern(tm.text)) {
				best[i] = max(best[i], fixed(g.pattern))
			}
		}
	}
	inDoc := func(kind, pattern string) bool {
		for i, tm := range tmpls {
			if tm.kind == kind && fixed(pattern) >= best[i] && diagMatch(pattern, diagTemplatePattern(tm.text)) {
				return true
			}
		}
		return false
	}
	writtenAt := func(pattern string) string {
		var at []string
		for _, v := range values {
			if v.pattern == pattern {
				at = append(at, v.pos)
			}
		}
		if len(at) == 0 {
			return ""
		}
		return " (written at " + strings.Join(diagUnique(at), ", ") + ")"
	}
	isAllowed := func(m diagMsg) bool {
		for _, a := range allowed {
			if a.where == m.where && a.kind == m.kind && a.message == diagShow(m.pattern) {
				return true
			}
		}
		return false
	}
	for _, a := range allowed {
		found := false
		for _, m := range code {
			found = found || a.where == m.where && a.kind == m.kind && a.message == diagShow(m.pattern)
		}
		if !found {
			rep.problems = append(rep.problems, fmt.Sprintf(
				"allowlisted %s %q of %s is no longer reported: remove it from diagNotInDoc", a.kind, a.message, a.where))
		}
		p := diagVerbs(a.message)
		if !diagDynamic(p) && inDoc(a.kind, p) {
			rep.problems = append(rep.problems, fmt.Sprintf(
				"allowlisted %s %q is in the catalogue of docs/language.md: remove it from diagNotInDoc", a.kind, a.message))
		}
	}
	for _, g := range groups {
		var where []string
		all := true
		for _, m := range g.at {
			where = append(where, m.pos)
			all = all && isAllowed(m)
		}
		switch {
		case all:
		case diagDynamic(g.pattern):
			rep.problems = append(rep.problems, fmt.Sprintf(
				"%s: a %s whose whole text is computed (%s): follow it to its source in the test, or allowlist it in diagNotInDoc with the reason",
				strings.Join(where, ", "), g.kind, g.at[0].where))
		case inDoc(g.kind, g.pattern):
			if g.kind == "message" {
				rep.messages++
			} else {
				rep.hints++
			}
		default:
			rep.problems = append(rep.problems, fmt.Sprintf(
				"%s%s: %s %q is not in the catalogue (§11) of docs/language.md",
				strings.Join(where, ", "), writtenAt(g.pattern), g.kind, diagShow(g.pattern)))
		}
	}
	matchesCode := func(kind, text string) bool {
		d := diagTemplatePattern(text)
		for _, g := range groups {
			if g.kind == kind && !diagDynamic(g.pattern) && diagMatch(g.pattern, d) {
				return true
			}
		}
		return false
	}
	usedEndings := map[string]bool{}
	for _, tm := range tmpls {
		if e, ok := endings[tm.text]; ok && tm.kind == "hint" {
			usedEndings[tm.text] = true
			inner := strings.TrimSuffix(strings.TrimPrefix(tm.text, "("), ")")
			written := false
			for _, v := range values {
				written = written || diagMatch(v.pattern, inner)
			}
			if !matchesCode("hint", e.whole) || !written {
				rep.problems = append(rep.problems, fmt.Sprintf(
					"docs/language.md:%d: hint ending %q: the code never writes %q (or no hint matches %q)", tm.line, tm.text, inner, e.whole))
			} else {
				rep.hintTemplates++
			}
			continue
		}
		if matchesCode(tm.kind, tm.text) {
			if tm.kind == "message" {
				rep.msgTemplates++
			} else {
				rep.hintTemplates++
			}
			continue
		}
		rep.problems = append(rep.problems, fmt.Sprintf(
			"docs/language.md:%d: %s template %q matches no %s the compiler reports", tm.line, tm.kind, tm.text, tm.kind))
	}
	for text := range endings {
		if !usedEndings[text] {
			rep.problems = append(rep.problems, fmt.Sprintf(
				"diagDocEndings lists %q, which is no hint template of docs/language.md: remove it", text))
		}
	}
	return rep
}
