package bench

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// palette colours the bars of one group, the same in every run.
var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff},
	color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xd6, 0x27, 0x28, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff},
	color.RGBA{0x8c, 0x56, 0x4b, 0xff},
}

// WriteSVG draws the data plane's throughput and latency per
// configuration, side by side, as an SVG image.
func (d *DataPlane) WriteSVG(w io.Writer) error {
	var plots []*plot.Plot
	if ws := d.workloads(Bulk); len(ws) > 0 {
		series := make([]barSeries, len(ws))
		for i, wl := range ws {
			series[i] = barSeries{wl.Name(), d.medians(wl, gbits)}
		}
		p, err := d.barPlot("Bulk throughput (median)", "Gbit/s", series)
		if err != nil {
			return err
		}
		plots = append(plots, p)
	}
	if ws := d.workloads(PingPong); len(ws) > 0 {
		var series []barSeries
		for _, wl := range ws {
			series = append(series,
				barSeries{wl.Name() + " p50", d.medians(wl, func(r Result) float64 { return micros(r.P50) })},
				barSeries{wl.Name() + " p99", d.medians(wl, func(r Result) float64 { return micros(r.P99) })})
		}
		// Latencies span four orders of magnitude (socat's Nagle stalls
		// against the bypass), so they are drawn on a log scale: bar
		// heights are log10 of microseconds, from 1 µs.
		for _, s := range series {
			for i, v := range s.values {
				s.values[i] = math.Log10(max(v, 1))
			}
		}
		p, err := d.barPlot("Request/response latency (median of rounds, log scale)", "µs", series)
		if err != nil {
			return err
		}
		p.Y.Tick.Marker = log10Ticks{}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return fmt.Errorf("plot: no bulk or request/response results")
	}
	width, height := vg.Length(len(plots))*7*vg.Inch, 5*vg.Inch
	c := vgsvg.New(width, height)
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	_, err := c.WriteTo(w)
	return err
}

type barSeries struct {
	name   string
	values plotter.Values // one per configuration, in d.Configs order
}

func (d *DataPlane) medians(w Workload, f func(Result) float64) plotter.Values {
	vs := make(plotter.Values, len(d.Configs))
	for i, c := range d.Configs {
		vs[i] = d.spread(c.Name, w, f).Median
	}
	return vs
}

// barPlot draws groups of bars, one group per configuration and one bar
// per series.
func (d *DataPlane) barPlot(title, unit string, series []barSeries) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	p.Y.Min = 0
	width := vg.Points(60 / float64(len(series)))
	for i, s := range series {
		bars, err := plotter.NewBarChart(s.values, width)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", s.name, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = palette[i%len(palette)]
		bars.Offset = width * vg.Length(2*i-len(series)+1) / 2
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	names := make([]string, len(d.Configs))
	for i, c := range d.Configs {
		names[i] = c.Name
	}
	// Headroom above the tallest bar for the legend.
	top := 0.0
	for _, s := range series {
		for _, v := range s.values {
			top = max(top, v)
		}
	}
	p.Y.Max = top * 1.35
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.5
	p.X.Tick.Label.XAlign = draw.XRight
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}

// log10Ticks labels an axis whose values are log10 of the quantity, with a
// major tick at each power of ten.
type log10Ticks struct{}

func (log10Ticks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(lo); e <= hi; e++ {
		ts = append(ts, plot.Tick{Value: e, Label: strconv.FormatFloat(math.Pow(10, e), 'f', -1, 64)})
	}
	return ts
}
