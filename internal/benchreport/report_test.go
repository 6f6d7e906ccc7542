package benchreport

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/velocitty/microvm/internal/benchkit"
)

func sample() Report {
	ours := StatOf("agent", benchkit.Samples{500, 520, 480})
	direct := StatOf("direct", benchkit.Samples{1000, 900, 1100})
	peer := StatOf("microsocks", benchkit.Samples{100, 110, 90})
	stop := StatOf("daemon", benchkit.Samples{13})
	return Report{
		Date: "2026-01-02", Machine: []string{"CPU: test"}, Tools: []string{"curl 1"},
		Rows: []Row{
			NewRow("SOCKS5", "download <curl>", "MB/s", Higher, ours, &direct, &peer),
			NewRow("VM", "stop", "ms", Lower, stop, nil, nil),
		},
	}
}

func TestRatios(t *testing.T) {
	r := sample()
	if got := r.Rows[0].Ratio; got != 0.5 {
		t.Fatalf("ratio %v, want 0.5", got)
	}
	if got := r.Rows[0].PeerRatio; got != 0.1 {
		t.Fatalf("peer ratio %v, want 0.1", got)
	}
	if r.Rows[1].Ratio != 0 {
		t.Fatalf("a row without baseline has ratio %v", r.Rows[1].Ratio)
	}
}

func TestMarkdownShowsEveryRow(t *testing.T) {
	md := sample().Markdown("report.svg")
	for _, want := range []string{"## SOCKS5", "## VM", "agent: **500**<br>480–520", "0.50x", "microsocks: **100**", "0.10x", "daemon: **13.0**", "![ratios", "- CPU: test"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestJSONRoundTrips(t *testing.T) {
	b, err := sample().JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != 2 || back.Rows[0].Baseline.Median != 1000 || back.Rows[0].Ours.Runs != 3 {
		t.Fatalf("round trip: %+v", back.Rows)
	}
}

func TestSVGIsWellFormedAndEscaped(t *testing.T) {
	svg := sample().SVG()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err != nil {
			if err == io.EOF {
				break
			}
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
	}
	if !strings.Contains(svg, "download &lt;curl&gt;") || strings.Contains(svg, ">stop") {
		t.Fatalf("SVG labels wrong (escaping, or a row without ratio drawn):\n%s", svg)
	}
}
