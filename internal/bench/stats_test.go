package bench

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	thousand := make([]time.Duration, 1000) // 1ms .. 1000ms
	for i := range thousand {
		thousand[i] = time.Duration(i+1) * time.Millisecond
	}
	ten := thousand[:10]
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"empty p100", []time.Duration{}, 100, 0},
		{"one sample p50", []time.Duration{7}, 50, 7},
		{"one sample p99.9", []time.Duration{7}, 99.9, 7},
		{"one sample p100", []time.Duration{7}, 100, 7},
		{"1000 p50", thousand, 50, 500 * time.Millisecond},
		{"1000 p99", thousand, 99, 990 * time.Millisecond},
		{"1000 p99.9", thousand, 99.9, 999 * time.Millisecond},
		{"1000 p100", thousand, 100, 1000 * time.Millisecond},
		{"1000 tiny p", thousand, 0.001, 1 * time.Millisecond},
		{"1000 p50.05 rounds up", thousand, 50.05, 501 * time.Millisecond},
		{"10 p25 rounds up", ten, 25, 3 * time.Millisecond},
		{"10 p90", ten, 90, 9 * time.Millisecond},
		{"10 p91", ten, 91, 10 * time.Millisecond},
		{"3 p50 is the middle", []time.Duration{1, 2, 3}, 50, 2},
		{"2 p50 is the lower", []time.Duration{1, 2}, 50, 1},
		{"2 p51 is the upper", []time.Duration{1, 2}, 51, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

// TestPercentileNearestRank checks the definition on every rank of a
// small sample: the result is the smallest sample with at least p% of the
// samples at or below it.
func TestPercentileNearestRank(t *testing.T) {
	const n = 200
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = time.Duration(i + 1)
	}
	for p := 0.5; p <= 100; p += 0.5 {
		got := Percentile(s, p)
		atOrBelow := int(got) // samples are 1..n
		if 100*float64(atOrBelow) < p*n {
			t.Errorf("p%v = %v: only %d of %d samples at or below", p, got, atOrBelow, n)
		}
		if atOrBelow > 1 && 100*float64(atOrBelow-1) >= p*n {
			t.Errorf("p%v = %v: a smaller sample already has p%% at or below it", p, got)
		}
	}
}

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   Spread
	}{
		{"empty", nil, Spread{}},
		{"one", []float64{4.5}, Spread{Median: 4.5, Min: 4.5, Max: 4.5, N: 1}},
		{"odd", []float64{3, 1, 2}, Spread{Median: 2, Min: 1, Max: 3, N: 3}},
		{"odd unsorted", []float64{10, -1, 7, 100, 8}, Spread{Median: 8, Min: -1, Max: 100, N: 5}},
		{"even", []float64{4, 1, 3, 2}, Spread{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{"two", []float64{9, 1}, Spread{Median: 5, Min: 1, Max: 9, N: 2}},
		{"duplicates", []float64{2, 2, 5, 2}, Spread{Median: 2, Min: 2, Max: 5, N: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.values)
			if got := SpreadOf(in); got != tt.want {
				t.Errorf("SpreadOf(%v) = %+v, want %+v", tt.values, got, tt.want)
			}
			if !slices.Equal(in, tt.values) {
				t.Errorf("SpreadOf reordered its argument: %v, was %v", in, tt.values)
			}
		})
	}
}

func TestLatencyResult(t *testing.T) {
	ms := time.Millisecond
	var lat []time.Duration
	for range 997 {
		lat = append(lat, ms)
	}
	// Exactly 10x the median is not a stall; anything slower is.
	lat = append(lat, 10*ms, 10*ms+1, 50*ms)
	slices.Reverse(lat) // latencyResult sorts
	r := latencyResult(lat)
	if r.Ops != 1000 {
		t.Errorf("Ops = %d, want 1000", r.Ops)
	}
	if r.P50 != ms || r.P99 != ms || r.P999 != 10*ms+1 {
		t.Errorf("P50, P99, P99.9 = %v, %v, %v; want 1ms, 1ms, 10.000001ms", r.P50, r.P99, r.P999)
	}
	if r.Stalls != 2 {
		t.Errorf("Stalls = %d, want 2 (10ms+1ns and 50ms)", r.Stalls)
	}
	if got := latencyResult(nil); got.Ops != 0 || got.Stalls != 0 || got.P50 != 0 {
		t.Errorf("latencyResult(nil) = %+v, want zero", got)
	}
}

func TestResultDerivedFigures(t *testing.T) {
	r := Result{Bytes: 2e9, Seconds: 4, Ops: 1000, Stalls: 5, CPU: CPUUsage{User: 1, System: 2, SoftIRQ: 3}}
	if got := r.Throughput(); got != 5e8 {
		t.Errorf("Throughput = %v, want 5e8", got)
	}
	if got := r.Rate(); got != 250 {
		t.Errorf("Rate = %v, want 250", got)
	}
	if got := r.CPUPerGB(); got != 3 {
		t.Errorf("CPUPerGB = %v, want 3 (6 CPU-s over 2 GB)", got)
	}
	if got := r.CPUPerOp(); got != 6*time.Millisecond {
		t.Errorf("CPUPerOp = %v, want 6ms", got)
	}
	if got := r.StallRate(); got != 0.005 {
		t.Errorf("StallRate = %v, want 0.005", got)
	}
	var zero Result
	if zero.Throughput() != 0 || zero.Rate() != 0 || zero.CPUPerGB() != 0 || zero.CPUPerOp() != 0 || zero.StallRate() != 0 {
		t.Errorf("a zero Result has non-zero derived figures")
	}
}

func TestWorkloadName(t *testing.T) {
	tests := []struct {
		w    Workload
		want string
	}{
		{Workload{Kind: Bulk, Flows: 1, Size: 64 << 10}, "bulk 1x64K"},
		{Workload{Kind: Bulk, Flows: 8, Size: 4 << 10}, "bulk 8x4K"},
		{Workload{Kind: Bulk, Flows: 2, Size: 1 << 20}, "bulk 2x1M"},
		{Workload{Kind: Bulk, Flows: 2, Size: 1500}, "bulk 2x1500B"},
		{Workload{Kind: PingPong, Size: 64}, "rr 64B"},
		{Workload{Kind: PingPong, Size: 16 << 10}, "rr 16K"},
		{Workload{Kind: Connect}, "connect"},
	}
	for _, tt := range tests {
		if got := tt.w.Name(); got != tt.want {
			t.Errorf("%+v.Name() = %q, want %q", tt.w, got, tt.want)
		}
	}
}
