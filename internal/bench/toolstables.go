package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The tables.

type toolColumn struct {
	test, name string
	value      func(ToolMeasurement) float64
	format     string
	high       bool // higher is better
}

// iperf3Columns are the throughput table's: one per iperf3 test that ran.
func (t *Tools) iperf3Columns() []toolColumn {
	var cs []toolColumn
	for _, test := range ToolTests() {
		if test.Tool == "iperf3" && t.ran(test.Name) {
			cs = append(cs, toolColumn{test.Name, "iperf3 " + test.Name, func(m ToolMeasurement) float64 { return m.Gbits }, "%.1f", true})
		}
	}
	return cs
}

// sockperfColumns are the latency table's of one sockperf test.
func sockperfColumns(test string) []toolColumn {
	return []toolColumn{
		{test, "p50", func(m ToolMeasurement) float64 { return m.P50 }, "%.1f", false},
		{test, "p99", func(m ToolMeasurement) float64 { return m.P99 }, "%.1f", false},
		{test, "p99.9", func(m ToolMeasurement) float64 { return m.P999 }, "%.0f", false},
	}
}

// on is the part of t measured on one path: its measurements, and the
// configurations that ran there.
func (t *Tools) on(p Path) *Tools {
	v := *t
	v.Measurements, v.Configs = nil, nil
	for _, m := range t.Measurements {
		if cmp.Or(m.Path, Loopback) == p {
			v.Measurements = append(v.Measurements, m)
		}
	}
	for _, c := range t.Configs {
		if slices.ContainsFunc(v.Measurements, func(m ToolMeasurement) bool { return m.Config == c.Name }) {
			v.Configs = append(v.Configs, c)
		}
	}
	return &v
}

// of returns the measurements of one configuration and test.
func (t *Tools) of(config, test string) []ToolMeasurement {
	var ms []ToolMeasurement
	for _, m := range t.Measurements {
		if m.Config == config && m.Test == test {
			ms = append(ms, m)
		}
	}
	return ms
}

// median is the median of a column over the successful rounds, or NaN.
func (t *Tools) median(config string, c toolColumn) float64 {
	var vs []float64
	for _, m := range t.of(config, c.test) {
		if m.Err == "" {
			vs = append(vs, c.value(m))
		}
	}
	if len(vs) == 0 {
		return math.NaN()
	}
	return SpreadOf(vs).Median
}

func (t *Tools) cell(config string, c toolColumn) string {
	ms := t.of(config, c.test)
	var vs []float64
	failed, fellBack := 0, 0
	for _, m := range ms {
		if m.Err != "" {
			failed++
		} else {
			vs = append(vs, c.value(m))
		}
		if m.FellBack {
			fellBack++
		}
	}
	var s string
	switch {
	case len(ms) == 0:
		return "-"
	case len(vs) == 0:
		s = "**failed**"
	default:
		sp := SpreadOf(vs)
		s = fmt.Sprintf(c.format+" ("+c.format+"–"+c.format+")", sp.Median, sp.Min, sp.Max)
		if failed > 0 {
			s += fmt.Sprintf(", **%d of %d failed**", failed, len(ms))
		}
	}
	if fellBack > 0 {
		s += fmt.Sprintf(", **%d of %d fell back to TCP**", fellBack, len(ms))
	}
	return s
}

func (t *Tools) table(b *strings.Builder, cols []toolColumn) {
	toolHeader(b, "configuration", cols)
	for _, cfg := range t.Configs {
		fmt.Fprintf(b, "| %s |", cfg.Name)
		for _, c := range cols {
			fmt.Fprintf(b, " %s |", t.cell(cfg.Name, c))
		}
		b.WriteString("\n")
	}
}

// toolHeader writes a table's header row, first naming the row labels,
// and its separator, the columns right-aligned.
func toolHeader(b *strings.Builder, first string, cols []toolColumn) {
	b.WriteString("| " + first + " |")
	sep := "|---|"
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", c.name)
		sep += "---:|"
	}
	b.WriteString("\n" + sep + "\n")
}

func (t *Tools) ran(test string) bool {
	return slices.ContainsFunc(t.Measurements, func(m ToolMeasurement) bool { return m.Test == test })
}

func (t *Tools) writeMarkdown(b *strings.Builder) {
	rounds := fmt.Sprintf("%d rounds", t.Rounds)
	if t.Rounds == 1 {
		rounds = "1 round"
	}
	fmt.Fprintf(b, "\n### Unmodified iperf3 and sockperf\n\n"+
		"The same configurations, measured with unmodified tools at their defaults: `iperf3 -s` (listening dual-stack) and `iperf3 -c … -t %d -J` "+
		"with one flow, four (`-P 4`) and sixteen (`-P 16`), `sockperf sr --tcp -i 127.0.0.1` and `sockperf pp --tcp -i … -t %d` with 64 B and 16 KiB messages (`-m 64`, `-m 16384`). "+
		"Clients connect to the server (direct) or to the proxy in front of it. "+
		"For the sockc bypass both ends run under one `sockc run examples/bypass.sock -- sh -c '…'`, in a network namespace of its own. "+
		"%s, each test under each configuration in turn; median over the rounds, range in brackets. These tools do not verify their bytes.\n\n",
		t.Seconds, t.Seconds, rounds)
	writePeers(b, "Tools", t.Peers, t.Skipped)
	t.on(Loopback).writeTables(b, "")
	if t.Veth != nil {
		t.Veth.writeMarkdown(b)
		v := t.on(Veth)
		v.writeTables(b, " over veth")
		v.writeGRO(b, t.Veth.MTU)
	}
}

// writeTables writes the tables of the tests that ran, the ratios and the
// notes; where says where the bytes went, in the headings.
func (t *Tools) writeTables(b *strings.Builder, where string) {
	var ratioCols []toolColumn
	if cols := t.iperf3Columns(); len(cols) > 0 {
		fmt.Fprintf(b, "\n#### iperf3 throughput%s (Gbit/s, as its receiver counted)\n\n", where)
		t.table(b, cols)
		ratioCols = append(ratioCols, cols...)
	}
	for _, test := range ToolTests() {
		if test.Tool != "sockperf" || !t.ran(test.Name) {
			continue
		}
		size := strings.TrimPrefix(test.Name, "ping-pong ")
		fmt.Fprintf(b, "\n#### sockperf ping-pong latency%s, %s (µs, half the round trip, as sockperf reports it)\n\n", where, size)
		t.table(b, sockperfColumns(test.Name))
		for _, c := range sockperfColumns(test.Name) {
			c.name = "sockperf " + size + " " + c.name
			ratioCols = append(ratioCols, c)
		}
	}
	if len(ratioCols) > 0 {
		t.ratios(b, ratioCols, where)
	}
	t.notes(b)
}

// ratios writes the sockc configurations' medians against direct and the
// best user-space proxy of the same run.
func (t *Tools) ratios(b *strings.Builder, cols []toolColumn, where string) {
	type row struct {
		name string
		cell func(c toolColumn) string
	}
	var rows []row
	against := func(config, base string) func(toolColumn) string {
		return func(c toolColumn) string { return ratioCell(t.median(config, c), t.median(base, c), "") }
	}
	for _, cfg := range t.Configs {
		if cfg.Role != SockcProxy && cfg.Role != SockcBypass {
			continue
		}
		if t.runs(direct) {
			rows = append(rows, row{cfg.Name + " ÷ direct", against(cfg.Name, direct)})
		}
		if cfg.Role == SockcProxy && slices.ContainsFunc(t.Configs, func(c Config) bool { return c.Role == UserProxy }) {
			name := cfg.Name
			rows = append(rows, row{name + " ÷ best user-space proxy", func(c toolColumn) string {
				best, v := t.best(c)
				return ratioCell(t.median(name, c), v, best)
			}})
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n#### sockc against the others in this run%s (ratio of medians; above 1 is faster for throughput, below 1 is faster for latency)\n\n", where)
	toolHeader(b, "ratio", cols)
	for _, r := range rows {
		fmt.Fprintf(b, "| %s |", r.name)
		for _, c := range cols {
			fmt.Fprintf(b, " %s |", r.cell(c))
		}
		b.WriteString("\n")
	}
}

func (t *Tools) runs(config string) bool {
	return slices.ContainsFunc(t.Configs, func(c Config) bool { return c.Name == config })
}

// best returns the user-space proxy with the best median of a column.
func (t *Tools) best(c toolColumn) (string, float64) {
	name, v := "", math.NaN()
	for _, cfg := range t.Configs {
		m := t.median(cfg.Name, c)
		if cfg.Role != UserProxy || math.IsNaN(m) {
			continue
		}
		if name == "" || (c.high && m > v) || (!c.high && m < v) {
			name, v = cfg.Name, m
		}
	}
	return name, v
}

func ratioCell(a, b float64, detail string) string {
	r := ratio(a, b)
	if math.IsNaN(r) {
		return "-"
	}
	if detail != "" {
		return fmt.Sprintf("%.2fx (%s)", r, detail)
	}
	return fmt.Sprintf("%.2fx", r)
}

// notes says whether the bypass engaged, and why measurements failed.
func (t *Tools) notes(b *strings.Builder) {
	var lines []string
	for _, cfg := range t.Configs {
		var segs []float64
		fellBack, n := 0, 0
		for _, m := range t.Measurements {
			if m.Config != cfg.Name || m.Segments < 0 && !m.FellBack {
				continue
			}
			n++
			if m.Segments >= 0 {
				segs = append(segs, float64(m.Segments))
			}
			if m.FellBack {
				fellBack++
			}
		}
		if n == 0 {
			continue
		}
		s := SpreadOf(segs)
		span := fmt.Sprintf("%.0f–%.0f", s.Min, s.Max)
		if len(segs) == 0 {
			span = "uncounted"
		}
		if fellBack == 0 {
			lines = append(lines, fmt.Sprintf("%s engaged in all %d measurements: its network namespace sent %s TCP segments per measurement, connection setup and teardown (at most %d allowed; through TCP a measurement is tens of thousands).",
				cfg.Name, n, span, maxBypassSegments))
		} else {
			lines = append(lines, fmt.Sprintf("%s **fell back to TCP** in %d of %d measurements: its network namespace sent %s TCP segments per measurement (at most %d allowed), or sockc said its redirects found no socket; those figures are TCP's, not the bypass's.",
				cfg.Name, fellBack, n, span, maxBypassSegments))
		}
	}
	for _, cfg := range t.Configs {
		for _, test := range ToolTests() {
			var rounds []string
			errs := map[string][]string{}
			for _, m := range t.of(cfg.Name, test.Name) {
				if m.Err != "" {
					if len(errs[m.Err]) == 0 {
						rounds = append(rounds, m.Err)
					}
					errs[m.Err] = append(errs[m.Err], strconv.Itoa(m.Round))
				}
			}
			for _, e := range rounds {
				lines = append(lines, fmt.Sprintf("%s, %s %s, round %s: failed: %s", cfg.Name, test.Tool, test.Name, strings.Join(errs[e], ", "), strings.TrimSuffix(e, ".")+"."))
			}
		}
	}
	if len(lines) > 0 {
		b.WriteString("\n")
		for _, l := range lines {
			fmt.Fprintf(b, "- %s\n", l)
		}
	}
}
