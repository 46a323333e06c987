package viz

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// The layout is the classic layered (Sugiyama) scheme, drawn left to right
// as the lecture draws circuits:
//
//  1. ranks: longest path from the sources, then every source moves right
//     to just before its first consumer, so a weight or a constant sits
//     next to the op that reads it instead of far away on the left;
//  2. every edge gets a vertex in each column it crosses; ranks are doubled
//     so that the first of them, in the column right after the source,
//     carries the wire's label (value above, gradient below), and labels
//     take part in the layout like nodes and never overlap (past a
//     budget of such points, the longest wires keep only their label's:
//     see maxWirePoints);
//  3. a few barycenter sweeps order each column to reduce crossings,
//     keeping the best order found;
//  4. vertical positions: each vertex is pulled to the weighted mean of its
//     neighbours, and each column is then solved exactly for the order and
//     spacing (isotonic regression, pool adjacent violators), sweeping left
//     and right a few times; long wires weigh more so they run straight;
//  5. columns are as wide as their widest vertex; wires run straight
//     under their label and as smooth S-curves (horizontal at both ends)
//     everywhere else.
//
// Every step is deterministic: ties keep the order of Graph.Nodes and
// Graph.Edges.

// lvert is a vertex of the layered graph: a node of the Graph, or a point
// of an edge in a column it crosses.
type lvert struct {
	node     int // index in Graph.Nodes, or -1
	edge     int // for edge points: index in Graph.Edges
	label    bool
	rank     int
	w        float64 // width
	up, down float64 // extent above and below the anchor y
	in, out  []int
	pos      int // index within its rank
	y        float64
}

// layout is a Graph placed on the page.
type layout struct {
	g      *Graph
	verts  []lvert
	ranks  [][]int
	colX   []float64 // left edge of each rank's column
	colW   []float64
	chains [][]int // per edge: the lverts from source to target
	width  float64
	height float64
	top    float64 // height of the title block
	boxes  []nodeBox
}

// nodeBox is a node's size, before placement.
type nodeBox struct {
	w, h float64
}

const (
	marginX   = 16.0
	marginY   = 12.0
	columnGap = 30.0 // between columns, where the S-curves run
	vertGap   = 10.0 // between vertices of a column
	minLabelW = 26.0 // the shortest wire across a label column
	fontNode  = 13.0
	fontSmall = 10.0
	fontValue = 12.0
	lineNode  = 16.0
	lineSmall = 13.0
	lineValue = 15.0
	forkR     = 3.0
	sweeps    = 8
	yPasses   = 6
)

// MaxSVGNodes is the most nodes WriteSVG lays out. Layout time and memory
// grow in proportion to the graph (about 3 s of CPU and 300 MB for 60,000
// nodes, with an 85 MB picture), but a picture that size is past reading,
// and the parser takes a million terms: past the limit WriteSVG says to
// write DOT instead, which costs next to nothing at any size.
const MaxSVGNodes = 100_000

func newLayout(g *Graph) (*layout, error) {
	if len(g.Nodes) > MaxSVGNodes {
		return nil, fmt.Errorf("viz: the graph has %s nodes, more than the %s an SVG picture is drawn for; write DOT instead (backprop grad --dot FILE, WriteDOT) and render it with Graphviz, or draw a smaller expression",
			thousands(len(g.Nodes)), thousands(MaxSVGNodes))
	}
	idx, err := g.check()
	if err != nil {
		return nil, err
	}
	L := &layout{g: g}
	n := len(g.Nodes)
	L.boxes = make([]nodeBox, n)
	for i, nd := range g.Nodes {
		L.boxes[i] = measureNode(nd)
	}

	// Adjacency of the Graph itself, edges in order.
	outE := make([][]int, n)
	inE := make([][]int, n)
	for i, e := range g.Edges {
		f, t := idx[e.From], idx[e.To]
		outE[f] = append(outE[f], i)
		inE[t] = append(inE[t], i)
	}
	topo, err := topoSort(g, idx, inE, outE)
	if err != nil {
		return nil, err
	}

	// 1. Ranks.
	rank := make([]int, n)
	for _, v := range topo {
		for _, ei := range inE[v] {
			rank[v] = max(rank[v], rank[idx[g.Edges[ei].From]]+1)
		}
	}
	for _, v := range topo {
		if len(inE[v]) > 0 || len(outE[v]) == 0 {
			continue
		}
		r := math.MaxInt
		for _, ei := range outE[v] {
			r = min(r, rank[idx[g.Edges[ei].To]])
		}
		rank[v] = r - 1
	}

	// 2. The layered graph.
	L.chains = make([][]int, len(g.Edges))
	spans := make([]int, len(g.Edges))
	for ei, e := range g.Edges {
		spans[ei] = 2*rank[idx[e.To]] - 2*rank[idx[e.From]] - 1
	}
	longest := maxSpan(spans, maxWirePoints)
	points := n
	for _, s := range spans {
		if s > longest {
			s = 1
		}
		points += s
	}
	L.verts = make([]lvert, 0, points)
	maxRank := 0
	for i := range g.Nodes {
		b := L.boxes[i]
		L.verts = append(L.verts, lvert{node: i, edge: -1, rank: 2 * rank[i], w: b.w, up: b.h / 2, down: b.h / 2})
		maxRank = max(maxRank, 2*rank[i])
	}
	for ei, e := range g.Edges {
		f, t := idx[e.From], idx[e.To]
		chain := []int{f}
		last := 2 * rank[t]
		if spans[ei] > longest {
			last = 2*rank[f] + 2 // the label point only; then straight to t
		}
		for r := 2*rank[f] + 1; r < last; r++ {
			v := lvert{node: -1, edge: ei, rank: r, up: 3, down: 3}
			if r == 2*rank[f]+1 {
				v.label = true
				v.w, v.up, v.down = measureWire(e)
			}
			chain = append(chain, len(L.verts))
			L.verts = append(L.verts, v)
		}
		chain = append(chain, t)
		for k := 1; k < len(chain); k++ {
			a, b := chain[k-1], chain[k]
			L.verts[a].out = append(L.verts[a].out, b)
			L.verts[b].in = append(L.verts[b].in, a)
		}
		L.chains[ei] = chain
	}
	L.ranks = make([][]int, maxRank+1)

	// 3. Order: first visits of a walk back from each sink, inputs in
	// order, then barycenter sweeps.
	seen := make([]bool, len(L.verts))
	var stack []int
	for v := range L.verts {
		if len(L.verts[v].out) > 0 || seen[v] {
			continue
		}
		stack = append(stack[:0], v)
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[u] {
				continue
			}
			seen[u] = true
			r := L.verts[u].rank
			L.ranks[r] = append(L.ranks[r], u)
			in := L.verts[u].in
			for k := len(in) - 1; k >= 0; k-- { // pushed in reverse: popped in order
				if !seen[in[k]] {
					stack = append(stack, in[k])
				}
			}
		}
	}
	L.setPos()
	L.order()

	// 4. Vertical positions, 5. columns.
	L.placeY()
	L.placeX()
	return L, nil
}

// maxWirePoints bounds the points that wires get in the columns they
// cross. A wire from the first column to the last of a deep graph (a
// variable used all along a sum of thousands of terms) crosses every
// column, and giving every such wire a point in each would make the layout
// quadratic in the graph's size. Past the bound, the longest wires keep
// only their label's point and run in one curve to their target, over
// whatever lies between: a picture that large is for zooming, not for
// reading wire by wire. Below it (every picture of a few hundred
// nodes) the layout is exact. A variable only so that tests can lower it.
var maxWirePoints = 100_000

// maxSpan is the longest span that keeps all its points: the largest k
// such that spans no longer than k, counted in full, and the longer ones,
// counted as one point each, add up to at most budget (0 when even one
// point each is too many).
func maxSpan(spans []int, budget int) int {
	total := 0
	for _, s := range spans {
		total += s
	}
	if total <= budget {
		return math.MaxInt
	}
	sorted := slices.Clone(spans)
	slices.Sort(sorted)
	k, full := 0, 0
	for i, s := range sorted {
		full += s
		if i+1 < len(sorted) && sorted[i+1] == s {
			continue // equal spans are kept or cut together
		}
		if full+len(sorted)-i-1 > budget {
			break
		}
		k = s
	}
	return k
}

// topoSort orders the nodes so that every edge goes forward, or reports a
// cycle.
func topoSort(g *Graph, idx map[string]int, inE, outE [][]int) ([]int, error) {
	n := len(g.Nodes)
	deg := make([]int, n)
	var order []int
	for v := range n {
		deg[v] = len(inE[v])
		if deg[v] == 0 {
			order = append(order, v)
		}
	}
	for k := 0; k < len(order); k++ {
		for _, ei := range outE[order[k]] {
			t := idx[g.Edges[ei].To]
			deg[t]--
			if deg[t] == 0 {
				order = append(order, t)
			}
		}
	}
	if len(order) < n {
		for v := range n {
			if deg[v] > 0 {
				return nil, fmt.Errorf("viz: graph has a cycle through node %q", g.Nodes[v].ID)
			}
		}
	}
	return order, nil
}

func (L *layout) setPos() {
	for _, r := range L.ranks {
		for p, v := range r {
			L.verts[v].pos = p
		}
	}
}

// order runs barycenter sweeps and keeps the order with fewest crossings.
func (L *layout) order() {
	best := L.crossings()
	bestRanks := cloneRanks(L.ranks)
	for s := 0; s < sweeps && best > 0; s++ {
		if s%2 == 0 {
			for r := 1; r < len(L.ranks); r++ {
				L.sortRank(r, true)
			}
		} else {
			for r := len(L.ranks) - 2; r >= 0; r-- {
				L.sortRank(r, false)
			}
		}
		if c := L.crossings(); c < best {
			best = c
			bestRanks = cloneRanks(L.ranks)
		}
	}
	L.ranks = bestRanks
	L.setPos()
}

func cloneRanks(rs [][]int) [][]int {
	out := make([][]int, len(rs))
	for i, r := range rs {
		out[i] = slices.Clone(r)
	}
	return out
}

// sortRank orders rank r by the mean position of each vertex's neighbours
// on the left (fromLeft) or on the right. A vertex without such neighbours
// keeps its position.
func (L *layout) sortRank(r int, fromLeft bool) {
	rk := L.ranks[r]
	type keyed struct {
		key float64
		v   int
	}
	ks := make([]keyed, len(rk))
	for i, v := range rk {
		nb := L.verts[v].out
		if fromLeft {
			nb = L.verts[v].in
		}
		ks[i] = keyed{float64(L.verts[v].pos), v}
		if len(nb) == 0 {
			continue
		}
		s := 0.0
		for _, u := range nb {
			s += float64(L.verts[u].pos)
		}
		ks[i].key = s / float64(len(nb))
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	for p, k := range ks {
		rk[p] = k.v
		L.verts[k.v].pos = p
	}
}

// crossings counts pairs of crossing edges between adjacent ranks, by
// counting inversions with a Fenwick tree.
func (L *layout) crossings() int {
	total := 0
	type pair struct{ a, b int }
	var ps []pair
	for r := 0; r+1 < len(L.ranks); r++ {
		ps = ps[:0]
		for _, v := range L.ranks[r] {
			for _, u := range L.verts[v].out {
				if L.verts[u].rank == r+1 { // a long wire's last curve skips columns
					ps = append(ps, pair{L.verts[v].pos, L.verts[u].pos})
				}
			}
		}
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].a != ps[j].a {
				return ps[i].a < ps[j].a
			}
			return ps[i].b < ps[j].b
		})
		n := len(L.ranks[r+1])
		tree := make([]int, n+1)
		for k, p := range ps {
			// Edges seen so far that end below p.b cross it.
			le := 0
			for i := p.b + 1; i > 0; i -= i & -i {
				le += tree[i]
			}
			total += k - le
			for i := p.b + 1; i <= n; i += i & -i {
				tree[i]++
			}
		}
	}
	return total
}

// edgeWeight makes long wires (point to point) stiffer than short ones.
func (L *layout) edgeWeight(a, b int) float64 {
	da, db := L.verts[a].node < 0, L.verts[b].node < 0
	switch {
	case da && db:
		return 8
	case da || db:
		return 2
	}
	return 1
}

// placeY assigns vertical positions.
func (L *layout) placeY() {
	// Start packed from the top, each rank centered on 0.
	for _, rk := range L.ranks {
		off := L.offsets(rk)
		mid := 0.0
		if len(rk) > 0 {
			mid = off[len(rk)-1] / 2
		}
		for i, v := range rk {
			L.verts[v].y = off[i] - mid
		}
	}
	for p := 0; p < yPasses; p++ {
		for r := 1; r < len(L.ranks); r++ {
			L.alignRank(r, true, false)
		}
		for r := len(L.ranks) - 2; r >= 0; r-- {
			L.alignRank(r, false, true)
		}
	}
	for r := range L.ranks {
		L.alignRank(r, true, true)
	}
}

// offsets are the anchor positions of a rank packed as tightly as allowed,
// the first at 0.
func (L *layout) offsets(rk []int) []float64 {
	off := make([]float64, len(rk))
	for i := 1; i < len(rk); i++ {
		a, b := &L.verts[rk[i-1]], &L.verts[rk[i]]
		off[i] = off[i-1] + a.down + vertGap + b.up
	}
	return off
}

// alignRank moves rank r's vertices as close as the spacing allows to the
// weighted mean of their neighbours on the chosen sides, in least squares:
// with z = y - offset the spacing becomes z non-decreasing, which pool
// adjacent violators solves exactly.
func (L *layout) alignRank(r int, left, right bool) {
	rk := L.ranks[r]
	if len(rk) == 0 {
		return
	}
	off := L.offsets(rk)
	type block struct {
		sum, wt float64
		n       int
	}
	var blocks []block
	for i, v := range rk {
		vt := &L.verts[v]
		s, wt := 0.0, 0.0
		if left {
			for _, u := range vt.in {
				w := L.edgeWeight(u, v)
				s += w * L.verts[u].y
				wt += w
			}
		}
		if right {
			for _, u := range vt.out {
				w := L.edgeWeight(v, u)
				s += w * L.verts[u].y
				wt += w
			}
		}
		target, w := vt.y, 0.1 // no neighbours: stay, lightly
		if wt > 0 {
			target, w = s/wt, wt
		}
		b := block{sum: w * (target - off[i]), wt: w, n: 1}
		for len(blocks) > 0 {
			last := blocks[len(blocks)-1]
			if last.sum/last.wt < b.sum/b.wt {
				break
			}
			b = block{sum: last.sum + b.sum, wt: last.wt + b.wt, n: last.n + b.n}
			blocks = blocks[:len(blocks)-1]
		}
		blocks = append(blocks, b)
	}
	i := 0
	for _, b := range blocks {
		z := b.sum / b.wt
		for k := 0; k < b.n; k++ {
			L.verts[rk[i]].y = z + off[i]
			i++
		}
	}
}

// placeX sizes the columns and the page.
func (L *layout) placeX() {
	nr := len(L.ranks)
	L.colW = make([]float64, nr)
	L.colX = make([]float64, nr)
	for r, rk := range L.ranks {
		w := 0.0
		if r%2 == 1 && len(rk) > 0 {
			w = minLabelW
		}
		for _, v := range rk {
			w = max(w, L.verts[v].w)
		}
		L.colW[r] = w
	}
	L.top = titleHeight(L.g)
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, v := range L.verts {
		minY = min(minY, v.y-v.up)
		maxY = max(maxY, v.y+v.down)
	}
	if len(L.verts) == 0 {
		minY, maxY = 0, 0
	}
	shift := marginY + L.top - minY
	for i := range L.verts {
		L.verts[i].y += shift
	}
	x := marginX
	for r := range nr {
		if len(L.ranks[r]) == 0 {
			continue // an empty column: no gap either
		}
		L.colX[r] = x
		x += L.colW[r] + columnGap
	}
	L.width = max(x-columnGap+marginX, titleWidth(L.g)+2*marginX)
	L.height = maxY - minY + L.top + 2*marginY
}

// cx is the horizontal center of vertex v.
func (L *layout) cx(v int) float64 {
	r := L.verts[v].rank
	return L.colX[r] + L.colW[r]/2
}

// measureNode sizes a node from its text.
func measureNode(n Node) nodeBox {
	switch n.Kind {
	case KindFork:
		return nodeBox{2 * forkR, 2 * forkR}
	case KindOutput:
		return nodeBox{textWidth(n.Label, fontNode, true) + 4, lineNode + 4}
	}
	w, h := 0.0, 0.0
	for _, l := range lines(n.Label) {
		w = max(w, textWidth(l, fontNode, n.Kind == KindParam))
		h += lineNode
	}
	for _, l := range lines(n.Detail) {
		w = max(w, textWidth(l, fontSmall, false))
		h += lineSmall
	}
	for _, s := range []string{n.Value, n.Grad} {
		for _, l := range lines(s) {
			w = max(w, textWidth(l, fontValue, false))
			h += lineValue
		}
	}
	switch n.Kind {
	case KindOp, KindReleased:
		// An ellipse around a text box w×h is about √2 times larger.
		return nodeBox{max(w*1.25+14, 40), max(h*1.3+8, 30)}
	}
	return nodeBox{max(w+16, 30), max(h+10, 26)}
}

// measureWire sizes the label of a wire: width, and the text above (name,
// value) and below (gradient) the line.
func measureWire(e Edge) (w, up, down float64) {
	up, down = 3, 3
	for _, l := range lines(e.Label) {
		w = max(w, textWidth(l, fontSmall, false))
		up += lineSmall
	}
	for _, l := range lines(e.Value) {
		w = max(w, textWidth(l, fontValue, false))
		up += lineValue
	}
	for _, l := range lines(e.Grad) {
		w = max(w, textWidth(l, fontValue, false))
		down += lineValue
	}
	if w > 0 {
		w += 12
	}
	return w, up, down
}

func titleHeight(g *Graph) float64 {
	return float64(len(lines(g.Title)))*18 + 22
}

func titleWidth(g *Graph) float64 {
	w := textWidth("values (forward)   gradients (backward)", 11, false)
	for _, l := range lines(g.Title) {
		w = max(w, textWidth(l, 14, true))
	}
	return w
}
