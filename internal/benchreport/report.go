// Package benchreport holds the rows of the benchmark report and renders
// them as Markdown, JSON and an SVG chart of the ratios.
package benchreport

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/velocitty/microvm/internal/benchkit"
)

// Better says which direction of a metric is an improvement.
type Better string

// The directions a metric can improve in.
const (
	Higher Better = "higher"
	Lower  Better = "lower"
)

// Stat summarises the samples of one side of a row.
type Stat struct {
	Name   string  `json:"name"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	Runs   int     `json:"runs"`
}

// StatOf summarises samples under a name.
func StatOf(name string, s benchkit.Samples) Stat {
	return Stat{Name: name, Min: s.Min(), Median: s.Median(), Max: s.Max(), Runs: len(s)}
}

// Row is one metric: ours against a baseline measured in the same run,
// and optionally a peer tool against the same baseline.
type Row struct {
	Section  string `json:"section"`
	Metric   string `json:"metric"`
	Unit     string `json:"unit"`
	Better   Better `json:"better"`
	Ours     Stat   `json:"ours"`
	Baseline *Stat  `json:"baseline,omitempty"`
	// Ratio is ours' median over the baseline's; 0 without a baseline.
	Ratio     float64 `json:"ratio,omitempty"`
	Peer      *Stat   `json:"peer,omitempty"`
	PeerRatio float64 `json:"peerRatio,omitempty"`
	Note      string  `json:"note,omitempty"`
}

// NewRow builds a row; base and peer may be nil.
func NewRow(section, metric, unit string, better Better, ours Stat, base, peer *Stat) Row {
	r := Row{Section: section, Metric: metric, Unit: unit, Better: better, Ours: ours, Baseline: base, Peer: peer}
	if base != nil && base.Median != 0 {
		r.Ratio = ours.Median / base.Median
		if peer != nil {
			r.PeerRatio = peer.Median / base.Median
		}
	}
	return r
}

// Report is one run of the benchmark suite.
type Report struct {
	Date    string   `json:"date"`
	Machine []string `json:"machine"`
	Tools   []string `json:"tools"`
	Method  []string `json:"method"`
	Rows    []Row    `json:"rows"`
}

// JSON renders the report as indented JSON.
func (r Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return append(b, '\n'), nil
}

// Markdown renders the report as a document with one table per section.
func (r Report) Markdown(chart string) string {
	var b strings.Builder
	b.WriteString("# Benchmark report\n\n")
	b.WriteString("Written by `make bench` from one run on the machine below. Every ratio is ours over the\n")
	b.WriteString("baseline measured in the same run; the peer column puts another tool against the same baseline.\n")
	b.WriteString("Each cell is the median, with min–max over the runs beneath it.\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", r.Date)
	for _, l := range r.Machine {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	if len(r.Tools) > 0 {
		fmt.Fprintf(&b, "- Tools: %s\n", strings.Join(r.Tools, ", "))
	}
	if len(r.Method) > 0 {
		b.WriteString("\nMethod:\n\n")
		for _, l := range r.Method {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	if chart != "" {
		fmt.Fprintf(&b, "\n![ratios of ours to the baseline](%s)\n", chart)
	}
	section := ""
	for _, row := range r.Rows {
		if row.Section != section {
			section = row.Section
			fmt.Fprintf(&b, "\n## %s\n\n", section)
			b.WriteString("| metric | unit | ours | baseline | ratio | peer | peer ratio | runs | better |\n")
			b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
			row.Metric, row.Unit, cell(&row.Ours), cell(row.Baseline), ratio(row.Ratio), cell(row.Peer), ratio(row.PeerRatio), row.Ours.Runs, row.Better)
		if row.Note != "" {
			fmt.Fprintf(&b, "|  | *%s* |  |  |  |  |  |  |  |\n", row.Note)
		}
	}
	return b.String()
}

func cell(s *Stat) string {
	if s == nil {
		return "—"
	}
	if s.Runs <= 1 {
		return fmt.Sprintf("%s: **%s**", s.Name, num(s.Median))
	}
	return fmt.Sprintf("%s: **%s**<br>%s–%s", s.Name, num(s.Median), num(s.Min), num(s.Max))
}

func ratio(x float64) string {
	if x == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", x)
}

// num prints three significant digits, without exponents.
func num(x float64) string {
	switch ax := math.Abs(x); {
	case ax >= 100:
		return fmt.Sprintf("%.0f", x)
	case ax >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}
