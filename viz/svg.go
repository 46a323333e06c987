package viz

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// WriteSVG lays g out and writes it as a standalone SVG document: each
// node is a <g class="node"> and each edge a <g class="edge"> (with a
// <title> for tooltips and data-id, data-from and data-to attributes
// holding the Graph's IDs, for pages that script it). It returns an error
// for an edge to an unknown node, a duplicate ID or a cycle, for a graph
// of more than MaxSVGNodes nodes, or when writing fails.
func (g *Graph) WriteSVG(w io.Writer) error {
	L, err := newLayout(g)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	s := &svgWriter{w: bw, L: L}
	s.write()
	return bw.Flush()
}

type svgWriter struct {
	w *bufio.Writer
	L *layout
	// Per vertex, the place of each neighbour among its wires on the left
	// and on the right, sorted by height (portIndex).
	inPlace, outPlace map[int]map[int]int
}

// f formats a coordinate: one decimal is plenty and keeps output stable.
func f(v float64) string {
	if v == 0 || math.Abs(v) < 0.05 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

const fontFamily = "Helvetica, Arial, &#39;Liberation Sans&#39;, sans-serif"

func (s *svgWriter) write() {
	L, w := s.L, s.w
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	fmt.Fprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" font-family=\"%s\">\n",
		f(L.width), f(L.height), f(L.width), f(L.height), fontFamily)
	fmt.Fprintf(w, "<defs>\n")
	for _, m := range []struct{ id, color string }{{"arrow", "#3c4043"}, {"arrow-faint", "#9aa0a6"}} {
		fmt.Fprintf(w, "<marker id=\"%s\" viewBox=\"0 0 8 7\" refX=\"8\" refY=\"3.5\" markerWidth=\"8\" markerHeight=\"7\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L8,3.5 L0,7 z\" fill=\"%s\"/></marker>\n", m.id, m.color)
	}
	fmt.Fprintf(w, "</defs>\n")
	fmt.Fprintf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n")
	s.title()
	for ei := range L.g.Edges {
		s.edge(ei)
	}
	for ni := range L.g.Nodes {
		s.node(ni)
	}
	fmt.Fprintf(w, "</svg>\n")
}

func (s *svgWriter) title() {
	L, w := s.L, s.w
	y := marginY + 14
	for _, l := range lines(L.g.Title) {
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" font-size=\"14\" font-weight=\"bold\" fill=\"#202124\">%s</text>\n", f(marginX), f(y), xmlText(l))
		y += 18
	}
	fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\" font-size=\"11\"><tspan fill=\"%s\">values (forward)</tspan><tspan fill=\"%s\" dx=\"14\">gradients (backward)</tspan></text>\n",
		f(marginX), f(y), valueColor, gradColor)
}

// text writes one line centered at x with its baseline at y.
func (s *svgWriter) text(x, y, size float64, color, weight, body string) {
	if body == "" {
		return
	}
	extra := ""
	if weight != "" {
		extra = fmt.Sprintf(" font-weight=\"%s\"", weight)
	}
	fmt.Fprintf(s.w, "<text x=\"%s\" y=\"%s\" font-size=\"%s\" fill=\"%s\" text-anchor=\"middle\"%s>%s</text>\n",
		f(x), f(y), f(size), color, extra, xmlText(body))
}

// textLine is one line of a node's text.
type textLine struct {
	s            string
	size, height float64
	color, bold  string
}

func nodeLines(n Node, labelColorOf string) []textLine {
	var ls []textLine
	bold := ""
	if n.Kind == KindParam || n.Kind == KindOutput {
		bold = "bold"
	}
	for _, l := range lines(n.Label) {
		ls = append(ls, textLine{l, fontNode, lineNode, labelColorOf, bold})
	}
	for _, l := range lines(n.Detail) {
		ls = append(ls, textLine{l, fontSmall, lineSmall, labelColor, ""})
	}
	for _, l := range lines(n.Value) {
		ls = append(ls, textLine{l, fontValue, lineValue, valueColor, ""})
	}
	for _, l := range lines(n.Grad) {
		ls = append(ls, textLine{l, fontValue, lineValue, gradColor, ""})
	}
	return ls
}

func (s *svgWriter) node(ni int) {
	L, w := s.L, s.w
	n := L.g.Nodes[ni]
	v := &L.verts[ni]
	x, y := L.cx(ni), v.y
	b := L.boxes[ni]
	fmt.Fprintf(w, "<g class=\"node %s\" id=\"node%d\" data-id=\"%s\">\n<title>%s</title>\n",
		n.Kind, ni, xmlText(n.ID), xmlText(joinWith(n.Kind.String(), strings.ReplaceAll(n.Label, "\n", " "), ": ")))
	textColor := "#202124"
	switch n.Kind {
	case KindOp:
		fmt.Fprintf(w, "<ellipse cx=\"%s\" cy=\"%s\" rx=\"%s\" ry=\"%s\" fill=\"white\" stroke=\"#202124\" stroke-width=\"1.2\"/>\n", f(x), f(y), f(b.w/2), f(b.h/2))
	case KindReleased:
		textColor = labelColor
		fmt.Fprintf(w, "<ellipse cx=\"%s\" cy=\"%s\" rx=\"%s\" ry=\"%s\" fill=\"white\" stroke=\"#9aa0a6\" stroke-dasharray=\"4 3\"/>\n", f(x), f(y), f(b.w/2), f(b.h/2))
	case KindParam:
		s.rect(x, y, b, "#dbeafe", "#1d4ed8", "")
	case KindConst:
		s.rect(x, y, b, "#f1f3f4", "#5f6368", "4 2")
	case KindMore:
		textColor = labelColor
		s.rect(x, y, b, "#fffbe6", "#9aa0a6", "4 3")
	case KindFork:
		fmt.Fprintf(w, "<circle cx=\"%s\" cy=\"%s\" r=\"%s\" fill=\"#202124\"/>\n", f(x), f(y), f(forkR))
	}
	ls := nodeLines(n, textColor)
	total := 0.0
	for _, l := range ls {
		total += l.height
	}
	top := y - total/2
	for _, l := range ls {
		s.text(x, top+l.height/2+l.size*0.35, l.size, l.color, l.bold, l.s)
		top += l.height
	}
	fmt.Fprintf(w, "</g>\n")
}

func (s *svgWriter) rect(x, y float64, b nodeBox, fill, stroke, dash string) {
	extra := ""
	if dash != "" {
		extra = fmt.Sprintf(" stroke-dasharray=\"%s\"", dash)
	}
	fmt.Fprintf(s.w, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"4\" fill=\"%s\" stroke=\"%s\"%s/>\n",
		f(x-b.w/2), f(y-b.h/2), f(b.w), f(b.h), fill, stroke, extra)
}

// port is where wire number k of a node's count on one side meets its
// outline: the point, for a wire leaving (right) or entering (left).
func (s *svgWriter) port(ni, k, count int, right bool) (float64, float64) {
	L := s.L
	n := L.g.Nodes[ni]
	b := L.boxes[ni]
	x, y := L.cx(ni), L.verts[ni].y
	sign := -1.0
	if right {
		sign = 1
	}
	switch n.Kind {
	case KindFork:
		return x + sign*forkR, y
	case KindOutput:
		return x + sign*b.w/2, y
	}
	dy := 0.0
	if count > 1 {
		usable := b.h - 10
		if n.Kind == KindOp || n.Kind == KindReleased {
			usable = b.h * 0.6
		}
		step := min(10, usable/float64(count-1))
		dy = (float64(k) - float64(count-1)/2) * step
	}
	if n.Kind == KindOp || n.Kind == KindReleased {
		rx, ry := b.w/2, b.h/2
		return x + sign*rx*math.Sqrt(max(0, 1-(dy/ry)*(dy/ry))), y + dy
	}
	return x + sign*b.w/2, y + dy
}

// portIndex is the place of neighbour u among v's neighbours on one side,
// ordered by height so that wires do not cross at the node. The order of
// each side is sorted once: a fork with thousands of branches would
// otherwise sort them once per branch.
func (s *svgWriter) portIndex(v, u int, right bool) (int, int) {
	L := s.L
	nb := L.verts[v].in
	cache := &s.inPlace
	if right {
		nb, cache = L.verts[v].out, &s.outPlace
	}
	if *cache == nil {
		*cache = make(map[int]map[int]int)
	}
	place, ok := (*cache)[v]
	if !ok {
		sorted := slices.Clone(nb)
		slices.SortStableFunc(sorted, func(a, b int) int { return cmp.Compare(L.verts[a].y, L.verts[b].y) })
		place = make(map[int]int, len(sorted))
		for i := len(sorted) - 1; i >= 0; i-- { // the first of equal neighbours wins
			place[sorted[i]] = i
		}
		(*cache)[v] = place
	}
	return place[u], len(nb)
}

func (s *svgWriter) edge(ei int) {
	L, w := s.L, s.w
	e := L.g.Edges[ei]
	chain := L.chains[ei]
	from, to := chain[0], chain[len(chain)-1]
	faint := L.g.Nodes[from].Kind == KindMore
	var d strings.Builder
	k, cnt := s.portIndex(from, chain[1], true)
	px, py := s.port(from, k, cnt, true)
	fmt.Fprintf(&d, "M%s,%s", f(px), f(py))
	curve := func(x, y float64) {
		dx := (x - px) / 2
		fmt.Fprintf(&d, " C%s,%s %s,%s %s,%s", f(px+dx), f(py), f(x-dx), f(y), f(x), f(y))
		px, py = x, y
	}
	var label *lvert
	for _, v := range chain[1 : len(chain)-1] {
		// Straight under its label, curving freely in the rest of the
		// column.
		lv := &L.verts[v]
		c := L.cx(v)
		curve(c-lv.w/2, lv.y)
		if lv.w > 0 {
			px = c + lv.w/2
			fmt.Fprintf(&d, " L%s,%s", f(px), f(py))
		}
		if lv.label {
			label = lv
		}
	}
	k, cnt = s.portIndex(to, chain[len(chain)-2], false)
	curve(s.port(to, k, cnt, false))

	fmt.Fprintf(w, "<g class=\"edge\" id=\"edge%d\" data-from=\"%s\" data-to=\"%s\">\n<title>%s</title>\n", ei,
		xmlText(e.From), xmlText(e.To), xmlText(edgeTitle(L.g, from, to, e)))
	stroke, marker, dash := "#3c4043", "url(#arrow)", ""
	if faint {
		stroke, marker, dash = "#9aa0a6", "url(#arrow-faint)", " stroke-dasharray=\"5 4\""
	}
	if L.g.Nodes[to].Kind == KindFork {
		marker = "" // a junction, not a destination
	}
	if marker != "" {
		marker = fmt.Sprintf(" marker-end=\"%s\"", marker)
	}
	fmt.Fprintf(w, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\"%s%s/>\n", d.String(), stroke, dash, marker)
	if label != nil {
		x := L.colX[label.rank] + L.colW[label.rank]/2
		y := label.y - 5
		vals := lines(e.Value)
		for i := len(vals) - 1; i >= 0; i-- {
			s.text(x, y, fontValue, valueColor, "", vals[i])
			y -= lineValue
		}
		names := lines(e.Label)
		for i := len(names) - 1; i >= 0; i-- {
			s.text(x, y, fontSmall, labelColor, "", names[i])
			y -= lineSmall
		}
		y = label.y + 14
		for _, l := range lines(e.Grad) {
			s.text(x, y, fontValue, gradColor, "", l)
			y += lineValue
		}
	}
	fmt.Fprintf(w, "</g>\n")
}

func edgeTitle(g *Graph, from, to int, e Edge) string {
	name := func(i int) string {
		n := g.Nodes[i]
		if n.Label == "" {
			return n.Kind.String()
		}
		return strings.ReplaceAll(n.Label, "\n", " ")
	}
	t := name(from) + " → " + name(to)
	return joinWith(t, e.Label, ": ")
}
