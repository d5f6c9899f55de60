package bench

import (
	"bytes"
	"fmt"
)

// patternLen is the period of the byte stream every benchmark sends. It is
// not a power of two, so that no write or read size lines up with it and a
// lost or repeated block of any usual size shifts the stream visibly.
const patternLen = 1<<20 + 4093

// Pattern is the deterministic byte stream that senders write and
// receivers verify. Stream s, byte i is pattern[(seed(s)+i) % patternLen];
// the table is stored twice over so that any window of up to patternLen
// bytes is one contiguous slice, and writing or checking it costs a
// memmove or memcmp, never a loop over bytes.
type Pattern struct {
	twice []byte
}

// NewPattern builds the pattern table. The content is a fixed xorshift
// sequence, so that runs and processes agree without exchanging it.
func NewPattern() *Pattern {
	b := make([]byte, 2*patternLen)
	x := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < patternLen; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x >> 32)
	}
	copy(b[patternLen:], b[:patternLen])
	return &Pattern{twice: b}
}

// Window returns the n bytes at offset off of the stream that starts at
// seed. n must not exceed patternLen.
func (p *Pattern) Window(seed, off uint64, n int) []byte {
	start := int((seed + off) % patternLen)
	return p.twice[start : start+n]
}

// Stream is one direction of one connection: the bytes written or read so
// far and the seed that sets its place in the pattern.
type Stream struct {
	p    *Pattern
	seed uint64
	off  uint64
}

// Stream returns the stream with the given id. Different ids start at
// different places of the pattern, so bytes crossing from one connection
// into another are caught within a few bytes.
func (p *Pattern) Stream(id uint64) *Stream {
	return &Stream{p: p, seed: id * 104729 % patternLen}
}

// Next returns the next n bytes to send and advances the stream. The slice
// belongs to the pattern and must not be modified.
func (s *Stream) Next(n int) []byte {
	w := s.p.Window(s.seed, s.off, n)
	s.off += uint64(n)
	return w
}

// Offset returns how many bytes the stream has produced or verified.
func (s *Stream) Offset() uint64 { return s.off }

// CorruptionError reports received bytes that differ from what was sent.
type CorruptionError struct {
	Offset uint64 // stream offset of the first wrong byte
	Got    byte
	Want   byte
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corrupted stream: byte %d is %#02x, want %#02x", e.Offset, e.Got, e.Want)
}

// Verify checks that b is the next part of the stream and advances it. The
// first mismatch is reported with its stream offset.
func (s *Stream) Verify(b []byte) error {
	for len(b) > 0 {
		n := min(len(b), patternLen)
		want := s.p.Window(s.seed, s.off, n)
		if !bytes.Equal(b[:n], want) {
			for i := range n {
				if b[i] != want[i] {
					return &CorruptionError{Offset: s.off + uint64(i), Got: b[i], Want: want[i]}
				}
			}
		}
		s.off += uint64(n)
		b = b[n:]
	}
	return nil
}
