package lab

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The picture's geometry, in SVG user units (pixels). The list of events goes below the
// plot, one line per instant, so the picture grows with the timeline.
const (
	svgWidth          = 960
	plotLeft, plotTop = 64, 48
	plotRight         = svgWidth - 170 // the legend is right of the plot
	plotBottom        = 384
	eventListTop      = plotBottom + 64
	eventLineHeight   = 16
)

// palette is Tableau 10: distinct hues that stay distinct for the color-blind.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac", "#e15759"}

// SVG draws the run: requests per second answered by each real server over time, one line
// each, errors per second as a dashed red line, the events as labelled vertical lines, and
// the health and VRRP transitions as marks on the time axis.
// The document is self-contained (no scripts, styles or fonts from elsewhere).
func (r *Report) SVG() []byte {
	var b bytes.Buffer
	perSecond := float64(time.Second) / float64(max(r.Bucket, 1))
	names := make([]string, 0, len(r.Servers))
	for _, s := range r.Servers {
		names = append(names, s.Name)
	}
	peak := 0.0
	for _, p := range r.Series {
		for _, n := range p.PerServer {
			peak = max(peak, float64(n)*perSecond)
		}
		peak = max(peak, float64(p.Errors)*perSecond)
	}
	yStep := niceStep(peak, 5)
	yMax := math.Max(yStep, math.Ceil(peak/yStep)*yStep)
	seconds := r.Duration.Seconds()
	xStep := niceStep(seconds, 10)
	x := func(s float64) float64 { return plotLeft + s/math.Max(seconds, 1e-9)*(plotRight-plotLeft) }
	y := func(v float64) float64 { return plotBottom - v/yMax*(plotBottom-plotTop) }

	instants := eventInstants(r.Events)
	svgHeight := eventListTop + (len(instants)+len(r.Health)+len(r.VRRP))*eventLineHeight + 12
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
`, svgWidth, svgHeight, svgWidth, svgHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>
`, svgWidth, svgHeight)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>
`, plotLeft, esc(fmt.Sprintf("uvs lab %s: requests per second by real server", r.Name)))

	// Grid, ticks and axes.
	b.WriteString(`<g stroke="#e0e0e0" stroke-width="1">` + "\n")
	for v := yStep; v <= yMax+yStep/2; v += yStep {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`+"\n", plotLeft, y(v), plotRight, y(v))
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g fill="#333" text-anchor="end">` + "\n")
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f">%s</text>`+"\n", plotLeft-6, y(v)+4, tickText(v))
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g fill="#333" text-anchor="middle">` + "\n")
	for s := 0.0; s <= seconds+xStep/1e6; s += xStep {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/>`+"\n", x(s), plotBottom, x(s), plotBottom+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%ss</text>`+"\n", x(s), plotBottom+19, tickText(s))
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<path d="M%d %d V%d H%d" fill="none" stroke="#333"/>`+"\n", plotLeft, plotTop, plotBottom, plotRight)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#333">time since the start of the run</text>`+"\n", (plotLeft+plotRight)/2, plotBottom+40)
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle" fill="#333">requests/s</text>`+"\n", (plotTop+plotBottom)/2)

	// Events: a dashed line per instant with its number on top, and the list below.
	for i, in := range instants {
		ex := x(in.at.Seconds())
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888" stroke-dasharray="4 3"/>`+"\n", ex, plotTop, ex, plotBottom)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="8" fill="white" stroke="#888"/>`+"\n", ex, plotTop-10)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%d</text>`+"\n", ex, plotTop-6, i+1)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#333"><tspan font-weight="bold">%d</tspan>  %v  %s</text>`+"\n",
			plotLeft, eventListTop+i*eventLineHeight, i+1, in.at, esc(strings.Join(in.labels, "; ")))
	}

	// Health transitions: a triangle on the time axis in the server's color, pointing down
	// when the server was taken out and up when it was put back. VRRP transitions: a diamond
	// above the axis, filled when an instance became MASTER, hollow when it left MASTER or
	// changed otherwise. Both are listed below the events, in time order.
	color := map[string]string{}
	for i, name := range names {
		color[name] = palette[i%len(palette)]
	}
	var listed []svgNote
	for _, h := range r.Health {
		c := color[h.Server]
		if c == "" {
			c = "#888"
		}
		hx, glyph, shape := x(h.At.Seconds()), "▲", "l-5 9 h10 z"
		if !h.Up {
			glyph, shape = "▼", "l-5 -9 h10 z"
		}
		apex := plotBottom - 11
		if !h.Up {
			apex = plotBottom - 2
		}
		fmt.Fprintf(&b, `<path d="M%.1f %d %s" fill="%s" stroke="white"/>`+"\n", hx, apex, shape, c)
		listed = append(listed, svgNote{h.At, glyph, c, h.sentence()})
	}
	for _, v := range r.VRRP {
		fill, glyph := "white", "◇"
		if v.To == "MASTER" {
			fill, glyph = vrrpColor, "◆"
		}
		fmt.Fprintf(&b, `<path d="M%.1f %d l5 6 l-5 6 l-5 -6 z" fill="%s" stroke="%s"/>`+"\n", x(v.At.Seconds()), plotBottom-26, fill, vrrpColor)
		listed = append(listed, svgNote{v.At, glyph, vrrpColor, v.sentence()})
	}
	slices.SortStableFunc(listed, func(a, b svgNote) int { return cmp.Compare(a.at, b.at) })
	for i, n := range listed {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#333"><tspan fill="%s">%s</tspan>  %v  %s</text>`+"\n",
			plotLeft, eventListTop+(len(instants)+i)*eventLineHeight, n.color, n.glyph, roundDuration(n.at), esc(n.text))
	}

	// One line per server, at the middle of each bucket; then the errors.
	mid := r.Bucket.Seconds() / 2
	line := func(color, dash string, value func(p SeriesPoint) float64) {
		var pts []string
		for _, p := range r.Series {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Start.Seconds()+mid), y(value(p)*perSecond)))
		}
		if len(pts) == 0 {
			return
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", color, dash, strings.Join(pts, " "))
	}
	for i, name := range names {
		line(palette[i%len(palette)], "", func(p SeriesPoint) float64 { return float64(p.PerServer[name]) })
	}
	hasErrors := false
	for _, p := range r.Series {
		hasErrors = hasErrors || p.Errors > 0
	}
	if hasErrors {
		line("#d62728", ` stroke-dasharray="6 3"`, func(p SeriesPoint) float64 { return float64(p.Errors) })
	}

	// The legend.
	ly := plotTop + 8
	legend := func(color, dash, label string) {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", plotRight+16, ly, plotRight+40, ly, color, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", plotRight+46, ly+4, esc(label))
		ly += 20
	}
	for i, name := range names {
		legend(palette[i%len(palette)], "", name)
	}
	if hasErrors {
		legend("#d62728", ` stroke-dasharray="6 3"`, "errors")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// vrrpColor draws the VRRP transitions.
const vrrpColor = "#333"

// svgNote is one transition listed below the plot.
type svgNote struct {
	at                 time.Duration
	glyph, color, text string
}

// instant is the events of one moment of the timeline.
type instant struct {
	at     time.Duration
	labels []string
}

// eventInstants groups the events by time: events at one instant share a line.
func eventInstants(events []EventReport) []instant {
	var out []instant
	for _, e := range events {
		l := string(e.Action) + " " + e.Subject
		if e.Error != "" {
			l += " (failed: " + e.Error + ")"
		}
		if n := len(out); n > 0 && out[n-1].at == e.At {
			out[n-1].labels = append(out[n-1].labels, l)
			continue
		}
		out = append(out, instant{at: e.At, labels: []string{l}})
	}
	return out
}

// niceStep returns a tick step of 1, 2 or 5 times a power of ten that cuts span into about
// n parts.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// tickText prints a tick value without needless decimals.
func tickText(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// esc escapes text for XML.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
