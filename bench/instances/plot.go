package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// targetPerInstance is issue 13's budget: resident memory per instance
// beyond the first count's.
const targetPerInstance = 4 << 10 // bytes

// writeSVG writes the memory chart of rs (the first is the base) to path:
// one group of bars per instance count, idle resident memory and resident
// memory after every instance was served once, with the Go heap marked on
// each idle bar and the target (the base plus 4 KiB per instance beyond
// it) drawn as a tick. machine and at say where and when it was measured.
func writeSVG(path string, rs []result, machine string, at time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chart(f, rs, machine, at)
	return f.Close()
}

func chart(w io.Writer, rs []result, machine string, at time.Time) {
	const width, height, left, top, bottom, group = 760, 420, 70, 50, 330, 200
	mib := func(kb int64) float64 { return float64(kb) / 1024 }
	base := rs[0]
	target := func(r result) float64 {
		return mib(base.idle.rss) + float64(r.n-base.n)*targetPerInstance/(1<<20)
	}
	var top0 float64
	for _, r := range rs {
		top0 = max(top0, mib(r.idle.rss), mib(r.served.rss), target(r))
	}
	if top0 == 0 {
		top0 = 1
	}
	y := func(v float64) float64 { return bottom - (bottom-top)*v/top0 }

	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintln(w, `<rect width="100%" height="100%" fill="white"/>`)
	fmt.Fprintf(w, `<text x="%d" y="20" font-weight="bold">resident memory (MiB) by instance count, one process</text>`+"\n", left)
	fmt.Fprintf(w, `<text x="%d" y="36" font-size="10">%s, %s UTC; numbers above the bars: KiB per instance beyond %d</text>`+"\n",
		left, machine, at.UTC().Format("2006-01-02 15:04"), base.n)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, bottom, left+group*len(rs), bottom)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, bottom)
	for _, v := range []float64{0, top0 / 2, top0} {
		fmt.Fprintf(w, `<text x="%d" y="%.0f" font-size="10" text-anchor="end">%.0f</text>`+"\n", left-4, y(v)+4, v)
	}
	per := func(kb, baseKB int64, n int) string {
		if n == base.n {
			return ""
		}
		return fmt.Sprintf("%.1f", float64(kb-baseKB)/float64(n-base.n))
	}
	for i, r := range rs {
		gx := left + 20 + i*group
		bars := []struct {
			v      float64
			colour string
			label  string
		}{
			{mib(r.idle.rss), "#4477aa", per(r.idle.rss, base.idle.rss, r.n)},
			{mib(r.served.rss), "#66ccee", per(r.served.rss, base.served.rss, r.n)},
		}
		for bi, b := range bars {
			x := gx + bi*60
			fmt.Fprintf(w, `<rect x="%d" y="%.1f" width="52" height="%.1f" fill="%s"><title>%.1f MiB</title></rect>`+"\n",
				x, y(b.v), bottom-y(b.v), b.colour, b.v)
			fmt.Fprintf(w, `<text x="%d" y="%.1f" font-size="10" text-anchor="middle">%s</text>`+"\n", x+26, y(b.v)-4, b.label)
		}
		// The heap, inside the idle bar.
		h := float64(r.idle.heap) / (1 << 20)
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="white" stroke-width="2" stroke-dasharray="4 2"><title>Go heap %.1f MiB</title></line>`+"\n",
			gx, y(h), gx+52, y(h), h)
		// The target for this count.
		if r.n != base.n {
			t := target(r)
			fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#cc3311" stroke-width="2"><title>target %.1f MiB</title></line>`+"\n",
				gx-6, y(t), gx+118, y(t), t)
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle">%d</text>`+"\n", gx+56, bottom+16, r.n)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle">instances</text>`+"\n", left+group*len(rs)/2, bottom+34)
	legend := []struct{ colour, text string }{
		{"#4477aa", "idle (dashed: Go heap)"},
		{"#66ccee", "after each instance served once"},
		{"#cc3311", "target: base + 4 KiB per instance"},
	}
	for i, l := range legend {
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			left+i*230, height-30, l.colour, left+18+i*230, height-20, l.text)
	}
	fmt.Fprintln(w, "</svg>")
}
