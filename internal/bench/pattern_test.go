package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// testPattern is built once: the table is 2 MiB and every test only reads it.
var testPattern = sync.OnceValue(NewPattern)

// streamBytes returns the first n bytes of stream id, produced by Next in
// chunks of the given sizes, cycling.
func streamBytes(t *testing.T, id uint64, n int, chunks ...int) []byte {
	t.Helper()
	if len(chunks) == 0 {
		chunks = []int{patternLen}
	}
	s := testPattern().Stream(id)
	out := make([]byte, 0, n)
	for i := 0; len(out) < n; i++ {
		c := min(chunks[i%len(chunks)], n-len(out))
		out = append(out, s.Next(c)...)
	}
	if s.Offset() != uint64(n) {
		t.Fatalf("stream %d: Offset after producing %d bytes = %d", id, n, s.Offset())
	}
	return out
}

// verifyChunks feeds b to a fresh stream id in chunks of the given sizes,
// cycling, and returns the first error.
func verifyChunks(id uint64, b []byte, chunks ...int) (*Stream, error) {
	s := testPattern().Stream(id)
	for i := 0; len(b) > 0; i++ {
		c := min(chunks[i%len(chunks)], len(b))
		if err := s.Verify(b[:c]); err != nil {
			return s, err
		}
		b = b[c:]
	}
	return s, nil
}

func TestPatternIsPeriodic(t *testing.T) {
	b := streamBytes(t, 3, 2*patternLen+100)
	if !bytes.Equal(b[:patternLen], b[patternLen:2*patternLen]) {
		t.Error("the stream does not repeat after patternLen bytes")
	}
	if !bytes.Equal(b[:100], b[2*patternLen:]) {
		t.Error("the stream does not repeat after 2*patternLen bytes")
	}
	// No shorter period of a usual block size: a lost or repeated block
	// of that size must change what follows.
	for _, period := range []int{1, 2, 4, 8, 512, 4096, 64 << 10, 1 << 20} {
		if bytes.Equal(b[:4096], b[period:period+4096]) {
			t.Errorf("the stream repeats after %d bytes", period)
		}
	}
}

func TestStreamVerifyAcceptsWhatNextProduced(t *testing.T) {
	total := 2*patternLen + 12345 // across the period twice
	tests := []struct {
		name          string
		id            uint64
		send, receive []int
	}{
		{"single bytes then big", 1, []int{1, 3, 4093, 65537, patternLen}, []int{2, 5, patternLen + 17, 100003, 1}},
		{"odd sizes", 2, []int{7, 4095, 1 << 16, 99991}, []int{13, 8191, 262147}},
		{"whole periods", 7, []int{patternLen}, []int{patternLen - 1, patternLen + 1}},
		{"one verify of everything", 8, []int{65536}, []int{3 * patternLen}},
		{"id zero", 0, []int{4096}, []int{4093}},
		{"large id", 1 << 40, []int{31, 1 << 20}, []int{64 << 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := streamBytes(t, tt.id, total, tt.send...)
			s, err := verifyChunks(tt.id, b, tt.receive...)
			if err != nil {
				t.Fatalf("Verify of the stream's own bytes: %v", err)
			}
			if s.Offset() != uint64(total) {
				t.Errorf("Offset after verifying %d bytes = %d", total, s.Offset())
			}
		})
	}
}

func TestStreamVerifyEmpty(t *testing.T) {
	s := testPattern().Stream(1)
	if err := s.Verify(nil); err != nil {
		t.Fatalf("Verify(nil) = %v", err)
	}
	if s.Offset() != 0 {
		t.Errorf("Offset after Verify(nil) = %d, want 0", s.Offset())
	}
}

func asCorruption(t *testing.T, err error) *CorruptionError {
	t.Helper()
	var ce *CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *CorruptionError", err, err)
	}
	if !strings.Contains(err.Error(), "corrupted") {
		t.Errorf("error %q does not say corrupted", err)
	}
	return ce
}

func TestStreamVerifyDetectsFlippedByte(t *testing.T) {
	const id = 5
	total := 2*patternLen + 1000
	clean := streamBytes(t, id, total, 4096)
	for _, tt := range []struct {
		at     int
		chunks []int
	}{
		{0, []int{4096}},
		{1, []int{1}},
		{4095, []int{4096}},
		{4096, []int{4096}},
		{12345, []int{7, 1000, 65537}},
		{patternLen - 1, []int{65536}},
		{patternLen, []int{65536}},
		{patternLen + 1, []int{patternLen + 17}},
		{2*patternLen + 5, []int{3 * patternLen}},
		{total - 1, []int{256 << 10}},
	} {
		t.Run(fmt.Sprintf("at %d", tt.at), func(t *testing.T) {
			b := bytes.Clone(clean)
			b[tt.at] ^= 0x5a
			s, err := verifyChunks(id, b, tt.chunks...)
			if err == nil {
				t.Fatalf("Verify accepted a stream with byte %d flipped", tt.at)
			}
			ce := asCorruption(t, err)
			want := CorruptionError{Offset: uint64(tt.at), Got: clean[tt.at] ^ 0x5a, Want: clean[tt.at]}
			if *ce != want {
				t.Errorf("error = %+v, want %+v", *ce, want)
			}
			// Everything before the chunk that holds the bad byte was
			// accepted.
			if s.Offset() > uint64(tt.at) {
				t.Errorf("Offset after the failed Verify = %d, past the bad byte %d", s.Offset(), tt.at)
			}
		})
	}
}

// firstDiff is the first index at which a and b differ, or -1.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestStreamVerifyDetectsMissingAndRepeatedBytes(t *testing.T) {
	const id = 9
	const total = 300000
	clean := streamBytes(t, id, total)
	cut := func(from, to int) []byte { // clean without [from, to)
		return append(bytes.Clone(clean[:from]), clean[to:]...)
	}
	dup := func(from, to int) []byte { // clean with [from, to) sent twice
		b := bytes.Clone(clean[:to])
		b = append(b, clean[from:to]...)
		return append(b, clean[to:]...)
	}
	tests := []struct {
		name string
		b    []byte
		at   int // where the damaged stream starts to differ
	}{
		{"missing first byte", cut(0, 1), 0},
		{"missing byte", cut(70000, 70001), 70000},
		{"missing 4 KiB block", cut(8192, 12288), 8192},
		{"missing 64 KiB block", cut(65536, 131072), 65536},
		{"duplicated byte", dup(5000, 5001), 5001},
		{"duplicated 4 KiB block", dup(4096, 8192), 8192},
		{"duplicated 1000-byte block", dup(123456, 124456), 124456},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The first wrong byte is the first one that differs from the
			// clean stream, which for random bytes is at or just after
			// the damage.
			wantOff := firstDiff(tt.b, clean)
			if wantOff < tt.at || wantOff > tt.at+8 {
				t.Fatalf("test bug: damage at %d shows at %d", tt.at, wantOff)
			}
			for _, chunks := range [][]int{{1 << 20}, {4096}, {3, 77777}} {
				_, err := verifyChunks(id, tt.b, chunks...)
				if err == nil {
					t.Fatalf("chunks %v: Verify accepted the damaged stream", chunks)
				}
				ce := asCorruption(t, err)
				want := CorruptionError{Offset: uint64(wantOff), Got: tt.b[wantOff], Want: clean[wantOff]}
				if *ce != want {
					t.Errorf("chunks %v: error = %+v, want %+v", chunks, *ce, want)
				}
			}
		})
	}
}

func TestStreamVerifyDetectsOtherStream(t *testing.T) {
	const n = 64 << 10
	for _, ids := range [][2]uint64{{1, 2}, {2, 1}, {1, 8}, {0, 1}, {3, 1000}} {
		t.Run(fmt.Sprintf("%d as %d", ids[1], ids[0]), func(t *testing.T) {
			mine := streamBytes(t, ids[0], n)
			other := streamBytes(t, ids[1], n)
			d := firstDiff(mine, other)
			if d < 0 {
				t.Fatalf("streams %d and %d have the same first %d bytes", ids[0], ids[1], n)
			}
			_, err := verifyChunks(ids[0], other, 4096)
			if err == nil {
				t.Fatalf("stream %d accepted stream %d's bytes", ids[0], ids[1])
			}
			ce := asCorruption(t, err)
			want := CorruptionError{Offset: uint64(d), Got: other[d], Want: mine[d]}
			if *ce != want {
				t.Errorf("error = %+v, want %+v", *ce, want)
			}
		})
	}
	// Bytes of another stream spliced in the middle of a connection.
	mine := streamBytes(t, 1, n)
	b := bytes.Clone(mine)
	copy(b[30000:], streamBytes(t, 2, n)[30000:31000])
	_, err := verifyChunks(1, b, 8192)
	if err == nil {
		t.Fatal("stream 1 accepted 1000 bytes of stream 2 at offset 30000")
	}
	if ce := asCorruption(t, err); ce.Offset < 30000 || ce.Offset >= 31000 {
		t.Errorf("spliced bytes reported at offset %d, want in [30000, 31000)", ce.Offset)
	}
}

func TestStreamsOfDifferentIDsDiffer(t *testing.T) {
	const prefix = 8
	seen := map[string]uint64{}
	for id := uint64(0); id <= 2000; id++ {
		k := string(testPattern().Stream(id).Next(prefix))
		if other, ok := seen[k]; ok {
			t.Errorf("streams %d and %d have the same first %d bytes", other, id, prefix)
		}
		seen[k] = id
	}
	// The flows of one Bulk run (ids 1 to 8) differ from their very first
	// byte.
	first := map[byte]uint64{}
	for id := uint64(1); id <= 8; id++ {
		b := testPattern().Stream(id).Next(1)[0]
		if other, ok := first[b]; ok {
			t.Errorf("flows %d and %d start with the same byte %#x", other, id, b)
		}
		first[b] = id
	}
}

func TestStreamNextAdvances(t *testing.T) {
	s := testPattern().Stream(4)
	a := bytes.Clone(s.Next(10))
	b := bytes.Clone(s.Next(10))
	if s.Offset() != 20 {
		t.Errorf("Offset after Next(10) twice = %d, want 20", s.Offset())
	}
	all := testPattern().Stream(4).Next(20)
	if !bytes.Equal(append(a, b...), all) {
		t.Error("two Next(10) differ from one Next(20)")
	}
	if bytes.Equal(a, b) {
		t.Error("Next returned the same 10 bytes twice")
	}
}

func TestNewPatternIsDeterministic(t *testing.T) {
	a, b := NewPattern(), NewPattern()
	for _, off := range []uint64{0, 1, patternLen - 3, 12345678} {
		if !bytes.Equal(a.Window(77, off, 4096), b.Window(77, off, 4096)) {
			t.Errorf("two patterns differ at offset %d", off)
		}
	}
}

func TestCorruptionErrorMessage(t *testing.T) {
	err := &CorruptionError{Offset: 1234, Got: 0x0a, Want: 0xff}
	got := err.Error()
	for _, want := range []string{"corrupted", "1234", "0x0a", "0xff"} {
		if !strings.Contains(got, want) {
			t.Errorf("Error() = %q, want it to contain %q", got, want)
		}
	}
}
