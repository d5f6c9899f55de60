package scanner

import (
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// stringLiteral reports a quoted string at offset at (sockc has none) with
// one error over the whole literal, if report is set. When the string
// holds exactly one name or number, as in `sockhash "m"` or
// `remote_ip4 == "10.0.0.1"`, it returns the kind of that token: the
// scanner emits it in place of the string, so that the map is still
// declared and the rest of the line still parsed, without follow-on
// errors. ok is false otherwise.
func (s *scanner) stringLiteral(lit string, at int, report bool) (kind rawKind, ok bool) {
	inner := ""
	closed := len(lit) >= 2 && lit[len(lit)-1] == lit[0]
	if closed {
		inner = lit[1 : len(lit)-1]
		if inner != "" {
			if k, n := nextRaw(inner, false); n == len(inner) && (k == rawWord || k == rawNumber) {
				kind, ok = k, true
			}
		}
	}
	if report {
		hint := "names, numbers and addresses are written without quotes"
		if ok {
			hint = "write it without quotes: " + inner
		}
		s.errs.Add(diag.Error, token.PosOf(at), token.PosOf(at+len(lit)), hint, "sockc has no string literals")
	}
	return kind, ok
}
