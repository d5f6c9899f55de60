package scanner

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/token"
)

// binarySample is how much of the start of a file binaryReason looks at:
// enough to tell text from the header of an image, an executable or a
// compressed file, and a bounded amount of work however large the file.
const binarySample = 1024

// minBinaryBytes is the fewest bad bytes that make a file without NUL
// binary: fewer get a diagnostic each, which says as much.
const minBinaryBytes = 8

// binaryReason decides whether src is not text at all (an image, an
// executable, UTF-16 text), in which case one diagnostic says so instead of
// one per bad byte. The rule, applied to the first binarySample bytes of
// the file:
//
//   - a NUL byte makes the file binary; the diagnostic is at the first NUL;
//   - otherwise, the file is binary when at least 8 bytes, and at least
//     one byte in four, of the sample are bytes of invalid UTF-8 sequences
//     or control characters other than tab, LF and CR (a character cut by
//     the end of the sample does not count); the diagnostic is at the
//     first such byte.
//
// Text with a few stray bytes (a Latin-1 é in a comment) stays text, and
// each bad byte gets its own diagnostic, up to maxEncodingErrors. off is the offset of the byte the
// diagnostic points at; ok is false when the file looks like text.
func binaryReason(src []byte) (off int, reason, hint string, ok bool) {
	sample := src[:min(len(src), binarySample)]
	hint = "sockc reads UTF-8 text files ending in .sock"
	if i := bytes.IndexByte(sample, 0); i >= 0 {
		if bytes.HasPrefix(src, []byte{0xff, 0xfe}) || bytes.HasPrefix(src, []byte{0xfe, 0xff}) {
			hint = "this looks like UTF-16 text; sockc reads UTF-8: convert it, e.g. with iconv -f UTF-16 -t UTF-8"
		}
		return i, "NUL byte", hint, true
	}
	first, bad := -1, 0
	firstReason := ""
	for i := 0; i < len(sample); {
		r, size := utf8.DecodeRune(sample[i:])
		why := ""
		switch {
		case r == utf8.RuneError && size == 1:
			if i+utf8.UTFMax > len(sample) && len(sample) < len(src) {
				// A character cut by the end of the sample is not bad.
				break
			}
			why = "invalid UTF-8"
		case r < ' ' && r != '\t' && r != '\n' && r != '\r':
			why = fmt.Sprintf("control character U+%04X", r)
		}
		if why != "" {
			bad += size
			if first < 0 {
				first, firstReason = i, why
			}
		}
		i += size
	}
	if bad < minBinaryBytes || 4*bad < len(sample) {
		return 0, "", "", false
	}
	return first, firstReason, hint, true
}

// checkBinary reports a file that is not text with one diagnostic and
// reports whether it did: such a file is not scanned further.
func (s *scanner) checkBinary() bool {
	off, reason, hint, ok := binaryReason(s.file.Source())
	if !ok {
		return false
	}
	s.errs.Add(diag.Error, token.PosOf(off), token.PosOf(off+1), hint, "this does not look like sockc source: %s", reason)
	return true
}
