package bench

import (
	"testing"
)

func TestCPUTimesSince(t *testing.T) {
	before := CPUTimes{User: 100, Nice: 10, System: 200, Idle: 5000, IOWait: 50, IRQ: 3, SoftIRQ: 7, Steal: 20}
	tests := []struct {
		name  string
		after CPUTimes
		want  CPUUsage
	}{
		{"no change", before, CPUUsage{}},
		{
			"user and nice add up",
			CPUTimes{User: 150, Nice: 60, System: 200, Idle: 5000, IOWait: 50, IRQ: 3, SoftIRQ: 7, Steal: 20},
			CPUUsage{User: 1.0},
		},
		{
			"system and steal add up",
			CPUTimes{User: 100, Nice: 10, System: 225, Idle: 5000, IOWait: 50, IRQ: 3, SoftIRQ: 7, Steal: 45},
			CPUUsage{System: 0.5},
		},
		{
			"irq and softirq add up",
			CPUTimes{User: 100, Nice: 10, System: 200, Idle: 5000, IOWait: 50, IRQ: 13, SoftIRQ: 27},
			CPUUsage{SoftIRQ: 0.3},
		},
		{
			"idle and iowait are not busy",
			CPUTimes{User: 100, Nice: 10, System: 200, Idle: 9000, IOWait: 900, IRQ: 3, SoftIRQ: 7, Steal: 20},
			CPUUsage{},
		},
		{
			"all at once",
			CPUTimes{User: 101, Nice: 11, System: 203, Idle: 6000, IOWait: 60, IRQ: 8, SoftIRQ: 12, Steal: 21},
			CPUUsage{User: 0.02, System: 0.04, SoftIRQ: 0.10},
		},
		{
			"a counter going backwards gives 0",
			CPUTimes{User: 90, Nice: 10, System: 100, Idle: 100, IOWait: 0, IRQ: 0, SoftIRQ: 0, Steal: 0},
			CPUUsage{},
		},
		{
			// A sum that does not go backwards is still counted.
			"one of a pair going backwards",
			CPUTimes{User: 90, Nice: 40, System: 200, Idle: 5000, IOWait: 50, IRQ: 3, SoftIRQ: 7, Steal: 20},
			CPUUsage{User: 0.2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.after.Since(before)
			if got != tt.want {
				t.Errorf("Since = %+v, want %+v", got, tt.want)
			}
			if wantTotal := tt.want.User + tt.want.System + tt.want.SoftIRQ; got.Total() != wantTotal {
				t.Errorf("Total = %v, want %v", got.Total(), wantTotal)
			}
		})
	}
}

func TestReadCPUTimes(t *testing.T) {
	a, err := ReadCPUTimes()
	if err != nil {
		t.Fatal(err)
	}
	if a.User+a.Nice+a.System == 0 {
		t.Errorf("no busy time since boot: %+v", a)
	}
	if a.User+a.Nice+a.System+a.Idle+a.IOWait+a.IRQ+a.SoftIRQ+a.Steal == 0 {
		t.Errorf("all CPU times are zero: %+v", a)
	}
	// Burn some CPU; the busy counters must not go backwards.
	x := uint64(1)
	for i := range 5_000_000 {
		x = x*6364136223846793005 + uint64(i)
	}
	b, err := ReadCPUTimes()
	if err != nil {
		t.Fatal(err)
	}
	if b.User+b.Nice < a.User+a.Nice || b.System < a.System || b.SoftIRQ < a.SoftIRQ {
		t.Errorf("busy time went backwards (x=%d): %+v, then %+v", x, a, b)
	}
	if u := a.Since(a); u.Total() != 0 {
		t.Errorf("a reading since itself = %+v, want zero", u)
	}
}
