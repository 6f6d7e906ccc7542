package benchreport

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// SVG draws one horizontal bar per row with a baseline: ours' ratio to the
// baseline, a line at 1.0, and a dot for the peer's ratio. Bars are green
// where ours beats the baseline in the metric's direction, orange
// otherwise. The axis is logarithmic, so 0.5x and 2x sit equally far
// from 1.0.
func (r Report) SVG() string {
	var rows []Row
	for _, row := range r.Rows {
		if row.Ratio > 0 {
			rows = append(rows, row)
		}
	}
	const (
		labelW, barW, rowH, top, right = 560, 420, 22, 40, 70
		lo, hi                         = 0.01, 10.0 // axis range, log scale
	)
	h := top + rowH*len(rows) + 30
	x := func(v float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return labelW + barW*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", labelW+barW+right, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">Ours / baseline (median ratio, log scale; dot: peer / baseline)</text>`+"\n")
	for _, tick := range []float64{0.01, 0.1, 0.5, 1, 2, 10} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(tick), top-6, x(tick), h-24)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%gx</text>`+"\n", x(tick), h-10, tick)
	}
	for i, row := range rows {
		y := top + i*rowH
		good := (row.Better == Higher && row.Ratio >= 1) || (row.Better == Lower && row.Ratio <= 1)
		color := "#e08a2c"
		if good {
			color = "#3a9a4a"
		}
		label := fmt.Sprintf("%s vs %s (%s is better)", row.Metric, row.Baseline.Name, row.Better)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+14, html.EscapeString(label))
		x0, x1 := math.Min(x(1), x(row.Ratio)), math.Max(x(1), x(row.Ratio))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y+3, math.Max(x1-x0, 1), rowH-6, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.2fx</text>`+"\n", labelW+barW+6.0, y+14, row.Ratio)
		if row.PeerRatio > 0 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="4" fill="#333"><title>%s %.2fx</title></circle>`+"\n", x(row.PeerRatio), y+rowH/2, html.EscapeString(row.Peer.Name), row.PeerRatio)
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000"/>`+"\n", x(1), top-6, x(1), h-24)
	b.WriteString("</svg>\n")
	return b.String()
}
