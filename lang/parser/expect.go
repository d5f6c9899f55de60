package parser

import (
	"strings"
)

// participle describes what it expected with its grammar notation, e.g.
// `":" GSimple? <newline>`. firstExpected turns that into the plain words
// of what may come next: the first element of the sequence, and the ones
// after it while they are optional.
func firstExpected(s string) []string {
	elems := splitElems(strings.TrimSpace(s))
	var out []string
	for _, e := range elems {
		if e == "|" {
			continue
		}
		base, optional := e, false
		if n := len(base); n > 0 && strings.ContainsAny(base[n-1:], "?*+") {
			optional = base[n-1] != '+'
			base = base[:n-1]
		}
		if strings.HasPrefix(base, "(") && strings.HasSuffix(base, ")") {
			out = append(out, firstExpected(base[1:len(base)-1])...)
		} else {
			out = append(out, describeElem(base))
		}
		if !optional {
			break
		}
	}
	return dedupe(out)
}

// splitElems splits a grammar string into top-level elements: quoted
// literals, <types>, names and parenthesized groups, each with its
// repetition suffix.
func splitElems(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
			continue
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			j = suffix(s, j)
			out = append(out, s[i:j])
			i = j
		case c == '(':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '"' {
					for j++; j < len(s) && s[j] != '"'; j++ {
					}
					continue
				}
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			j = suffix(s, min(j+1, len(s)))
			out = append(out, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && s[j] != ' ' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

func suffix(s string, j int) int {
	if j < len(s) && strings.ContainsRune("?*+", rune(s[j])) {
		return j + 1
	}
	return j
}

var elemWords = map[string]string{
	"<newline>": "end of line",
	"<indent>":  "an indented block",
	"<dedent>":  "end of the block",
	"<ident>":   "a name",
	"<int>":     "a number",
	"<ipv4>":    "an IPv4 address",
	"<eof>":     "end of file",
	"<keyword>": "a keyword",
	"GOr":       "an expression",
	"GAnd":      "an expression",
	"GNot":      "an expression",
	"GCmp":      "an expression",
	"GSum":      "an expression",
	"GTerm":     "an expression",
	"GPrimary":  "an expression",
	"GSimple":   "a statement",
	"GStmt":     "a statement",
	"GInline":   "a statement",
	"GBody":     "a statement",
	"GIfBody":   "a statement",
	"GIf":       "a statement",
	"GKey":      "key(...)",
	"GIdent":    "a name",
	"GInt":      "a number",
	"GIPv4":     "an IPv4 address",
	"GMapRef":   "a map name",
	"GMapOpt":   "key or max",
	"GKeyType":  "a key type",
	"GSet":      "a CIDR or a range",
	"GCIDR":     "a CIDR",
	"GRange":    "a range",
	"GPeer":     "peer",
	"GRedirect": "redirect",
	"GLength":   "length",
	"GUpdate":   "update",
}

func describeElem(e string) string {
	if w, ok := elemWords[e]; ok {
		return w
	}
	return e
}

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
