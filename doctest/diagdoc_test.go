package doctest

import (
	"fmt"
	"regexp"
	"strings"
)

// The doc side of diagnostics_test.go: the message and hint
// templates of the catalogue in §11 of docs/language.md.

// diagTemplate is one message or hint template of the catalogue.
type diagTemplate struct {
	kind string // "message" or "hint"
	text string // as the doc writes it, white space collapsed
	line int
}

// diagTemplatePattern turns a template into the pattern matched against
// the code's: an elided end (" ...") stands for any text.
func diagTemplatePattern(text string) string {
	if s, ok := strings.CutSuffix(text, " ..."); ok {
		return s + " " + diagWild
	}
	return text
}

var (
	diagHintRE    = regexp.MustCompile(`\bhints?\b`)
	diagCommentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	diagSpaceRE   = regexp.MustCompile(`\s+`)
	diagBulletRE  = regexp.MustCompile(`(^|\n)[ \t]*- $`)
)

// diagSpan is a piece of the catalogue's Markdown: text, or a code span.
type diagSpan struct {
	code bool
	text string // a code span's content, white space collapsed
	bold bool   // a code span in ** **
	line int
}

// diagCatalogue reads the templates of §11.2 (the catalogue, which runs to
// the end of §11) of the language doc.
func diagCatalogue(doc string) ([]diagTemplate, error) {
	start := strings.Index(doc, "\n### 11.2 Catalogue\n")
	if start < 0 {
		return nil, fmt.Errorf("docs/language.md has no \"### 11.2 Catalogue\"")
	}
	end := strings.Index(doc[start+1:], "\n## ")
	if end < 0 {
		end = len(doc)
	} else {
		end += start + 1
	}
	line0 := strings.Count(doc[:start+1], "\n") + 1
	// Blank the examples and comments, keeping the line numbers.
	lines := strings.Split(doc[start+1:end], "\n")
	inFence := false
	for i, l := range lines {
		fenceLine := strings.HasPrefix(strings.TrimSpace(l), "```")
		if inFence || fenceLine {
			lines[i] = ""
		}
		if fenceLine {
			inFence = !inFence
		}
	}
	text := diagCommentRE.ReplaceAllStringFunc(strings.Join(lines, "\n"), func(c string) string {
		return strings.Repeat("\n", strings.Count(c, "\n"))
	})
	var out []diagTemplate
	// Sections: the internal errors are listed in bullets, not in bold.
	for _, sec := range strings.SplitAfter(text, "\n### ") {
		spans := diagSpans(sec, line0)
		line0 += strings.Count(sec, "\n")
		internal := strings.HasPrefix(sec, "11.14 ")
		out = append(out, diagSectionTemplates(spans, internal)...)
	}
	return out, nil
}

// diagSpans cuts Markdown text into text and code spans.
func diagSpans(text string, line0 int) []diagSpan {
	var out []diagSpan
	at := func(off int) int { return line0 + strings.Count(text[:off], "\n") }
	run := func(i int) int {
		n := 0
		for i+n < len(text) && text[i+n] == '`' {
			n++
		}
		return n
	}
	start := 0
	for i := 0; i < len(text); {
		if text[i] != '`' {
			i++
			continue
		}
		n := run(i)
		closing := -1
		for j := i + n; j < len(text); {
			if text[j] != '`' {
				j++
				continue
			}
			m := run(j)
			if m == n {
				closing = j
				break
			}
			j += m
		}
		if closing < 0 {
			i += n
			continue
		}
		if i > start {
			out = append(out, diagSpan{text: text[start:i], line: at(start)})
		}
		content := strings.TrimSpace(diagSpaceRE.ReplaceAllString(text[i+n:closing], " "))
		bold := strings.HasSuffix(text[:i], "**") && strings.HasPrefix(text[closing+n:], "**")
		out = append(out, diagSpan{code: true, text: content, bold: bold, line: at(i)})
		i = closing + n
		start = i
	}
	if start < len(text) {
		out = append(out, diagSpan{text: text[start:], line: at(start)})
	}
	return out
}

// diagSectionTemplates picks the templates out of one section's spans:
// the bold code spans are messages (in §11.14 the code spans that open a
// bullet), and the code spans of a hint clause, of two words or more, are
// hints. A hint clause runs from the word "hint" to the ")" that closes
// "(hint", or, without the parenthesis, to the end of its sentence.
func diagSectionTemplates(spans []diagSpan, internal bool) []diagTemplate {
	var out []diagTemplate
	open, paren, depth := false, false, 0
	lastHint := -1   // index in out of the last hint, for joining
	lastHintAt := -1 // index in spans of its code span
	leading := false // the last code span opened a bullet
	for k, s := range spans {
		if !s.code {
			t := s.text
			for i := 0; i < len(t); {
				if !open {
					loc := diagHintRE.FindStringIndex(t[i:])
					if loc == nil {
						break
					}
					open, depth = true, 0
					paren = i+loc[0] > 0 && t[i+loc[0]-1] == '('
					i += loc[1]
					continue
				}
				switch c := t[i]; {
				case c == '(':
					depth++
				case c == ')':
					if depth == 0 {
						open = false
					}
					depth--
				case paren:
				case c == ';', c == '.' && (i+1 == len(t) || t[i+1] == ' ' || t[i+1] == '\n'),
					c == '\n' && i+1 < len(t) && t[i+1] == '\n':
					open = false
				}
				i++
			}
			continue
		}
		if internal {
			prev := ""
			if k > 0 {
				prev = spans[k-1].text
			}
			if diagBulletRE.MatchString(prev) || leading && k > 1 && strings.Contains(" and or , ", " "+strings.TrimSpace(prev)+" ") {
				leading = true
				out = append(out, diagTemplate{"message", s.text, s.line})
				continue
			}
			leading = false
		}
		switch {
		case s.bold:
			out = append(out, diagTemplate{"message", s.text, s.line})
		case open && lastHintAt == k-2 && strings.TrimSpace(spans[k-1].text) == "":
			// Two code spans side by side are one hint: `after` `` `to` ``.
			out[lastHint].text += " " + s.text
			lastHintAt = k
		case open:
			out = append(out, diagTemplate{"hint", s.text, s.line})
			lastHint, lastHintAt = len(out)-1, k
		}
	}
	// A hint of one word is a word of the description, not a hint.
	kept := out[:0]
	for _, tm := range out {
		if tm.kind == "message" || strings.Contains(tm.text, " ") {
			kept = append(kept, tm)
		}
	}
	return kept
}
