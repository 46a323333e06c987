package web

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gobackprop/backprop/expr"
)

// The circuit is drawn left to right, as in the cs231n diagrams: variables
// in the first column, each operation one column right of its rightmost
// input, each literal just left of the operation that reads it, and f
// last. The expression is a tree apart from variables used more than once,
// so rows come from a walk of that tree: every leaf (a literal, or one use
// of a variable) gets a row of its own, in argument order, and an
// operation sits between the rows of its first and last input. A variable
// sits at the mean row of its uses, pushed down when that row is taken, and
// fans out to them.
//
// Every wire ends in a horizontal stretch just left of its target's
// column, where the page writes the value above the wire (green) and the
// gradient below it (red). An operation with two inputs takes them at two
// ports, far enough apart that the labels of one wire clear the other's.

// Sizes, in CSS pixels. The page draws labels in a 12px monospace font.
const (
	charW    = 7.3  // advance of one monospace character
	rowH     = 64.0 // from one leaf row to the next
	gapW     = 104  // between the columns, room for a wire's labels
	labelW   = 72   // the horizontal stretch of a wire that carries labels
	opH      = 40   // height of an operation's pill (a circle when short)
	varH     = 28   // height of a variable's box
	constH   = 18   // height of a literal's text
	portDY   = 17   // offset of the two ports of a binary operation
	marginX  = 16
	marginY  = 40 // room above the first row for labels
	minVarDY = 1  // least distance between two variables, in rows
	// A variable's value and gradient are written left of its box.
	varLabelW = 9*charW + 8
)

// vertex is one box of the circuit.
type vertex struct {
	ID    string  `json:"id"`    // "v_NAME", a step id such as "n3", "c1", or "f"
	Kind  string  `json:"kind"`  // "var", "const", "op" or "out"
	Label string  `json:"label"` // what the box shows: x, 1.5, ×, exp, f
	Step  int     `json:"step"`  // "op": index into the result's nodes; otherwise -1
	Var   int     `json:"var"`   // "var": index into the response's vars; otherwise -1
	X     float64 `json:"x"`     // center
	Y     float64 `json:"y"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`

	col int
	row float64
}

// edge is one wire: the value of From flowing into input Input of step
// Step (or into f, Step -1), and the gradient flowing back along it.
type edge struct {
	From  string  `json:"from"`
	To    string  `json:"to"`
	Step  int     `json:"step"`
	Input int     `json:"input"`
	D     string  `json:"d"`  // SVG path
	LX    float64 `json:"lx"` // center of the labels' stretch
	LY    float64 `json:"ly"` // the wire's height there

	from, to int // vertex indices
	port     float64
}

// layout is the picture of a result, in CSS pixels.
type layout struct {
	Width    float64  `json:"width"`
	Height   float64  `json:"height"`
	Vertices []vertex `json:"vertices"`
	Edges    []edge   `json:"edges"`
}

// opLabel is how an operation's pill names it.
func opLabel(symbol string) string {
	switch symbol {
	case "*":
		return "×"
	case "-", "neg":
		return "−"
	}
	return symbol
}

func textW(s string) float64 { return float64(utf8.RuneCountInString(s)) * charW }

type layouter struct {
	r        *expr.Result
	L        layout
	col      []int // per step
	stepV    []int // per step: its vertex
	varV     []int // per variable: its vertex
	varIndex map[string]int
	uses     [][]float64 // per variable: the rows of its uses
	next     float64     // next free leaf row
	consts   int
}

func (l *layouter) add(v vertex) int {
	l.L.Vertices = append(l.L.Vertices, v)
	return len(l.L.Vertices) - 1
}

// source returns the vertex of an operand, creating a literal's vertex
// (in the column left of its consumer's, toCol), and the row the wire
// from it leaves at.
func (l *layouter) source(a expr.Operand, toCol int) (int, float64) {
	switch a.Kind {
	case expr.FromNode:
		row := l.place(a.Step)
		return l.stepV[a.Step], row
	case expr.FromVar:
		vi := l.varIndex[a.Name]
		row := l.next
		l.next++
		l.uses[vi] = append(l.uses[vi], row)
		return l.varV[vi], row
	}
	row := l.next
	l.next++
	l.consts++
	return l.add(vertex{
		ID: "c" + strconv.Itoa(l.consts), Kind: "const", Label: a.Text, Step: -1, Var: -1,
		W: textW(a.Text) + 4, H: constH, col: toCol - 1, row: row,
	}), row
}

// place lays out step k's subtree and returns the row of step k. The
// recursion is as deep as the expression nests, which the server bounds by
// bounding the expression's length.
func (l *layouter) place(k int) float64 {
	st := &l.r.Steps[k]
	first, last := 0.0, 0.0
	ins := make([]int, len(st.Inputs))
	for i, in := range st.Inputs {
		v, row := l.source(in, l.col[k])
		ins[i] = v
		if i == 0 {
			first = row
		}
		last = row
	}
	row := (first + last) / 2
	l.L.Vertices[l.stepV[k]].row = row
	for i := range st.Inputs {
		l.wire(ins[i], l.stepV[k], k, i, len(st.Inputs))
	}
	return row
}

func (l *layouter) wire(from, to, step, input, n int) {
	port := 0.0
	if n == 2 {
		port = float64(2*input-1) * portDY
	}
	l.L.Edges = append(l.L.Edges, edge{
		From: l.L.Vertices[from].ID, To: l.L.Vertices[to].ID, Step: step, Input: input,
		from: from, to: to, port: port,
	})
}

// layoutResult lays out the circuit of r.
func layoutResult(r *expr.Result) *layout {
	l := &layouter{
		r:        r,
		col:      make([]int, len(r.Steps)),
		stepV:    make([]int, len(r.Steps)),
		varV:     make([]int, len(r.Vars)),
		varIndex: make(map[string]int, len(r.Vars)),
		uses:     make([][]float64, len(r.Vars)),
	}
	for i, v := range r.Vars {
		l.varIndex[v.Name] = i
		l.varV[i] = l.add(vertex{
			ID: "v_" + v.Name, Kind: "var", Label: v.Name, Step: -1, Var: i,
			W: math.Max(34, textW(v.Name)+16), H: varH,
		})
	}
	last := 0
	for k := range r.Steps {
		st := &r.Steps[k]
		c := 0
		for _, in := range st.Inputs {
			if in.Kind == expr.FromNode {
				c = max(c, l.col[in.Step])
			}
		}
		l.col[k] = c + 1
		last = max(last, l.col[k])
		label := opLabel(st.Symbol)
		l.stepV[k] = l.add(vertex{
			ID: st.ID, Kind: "op", Label: label, Step: k, Var: -1,
			W: math.Max(opH, textW(label)+20), H: opH, col: l.col[k],
		})
	}
	out := l.add(vertex{ID: "f", Kind: "out", Label: "f", Step: -1, Var: -1, W: 16, H: 20, col: last + 1})
	src, row := l.source(r.Out, last+1)
	l.L.Vertices[out].row = row
	l.wire(src, out, -1, 0, 1)

	l.placeVars()
	l.geometry()
	return &l.L
}

// placeVars puts each variable at the mean row of its uses, then moves
// variables down, in order, until no two of them, nor a variable and a
// literal of the first column, are closer than minVarDY rows.
func (l *layouter) placeVars() {
	var taken []float64 // rows of the literals in column 0 and of placed variables, sorted
	for _, v := range l.L.Vertices {
		if v.Kind == "const" && v.col == 0 {
			taken = append(taken, v.row)
		}
	}
	slices.Sort(taken)
	order := make([]int, len(l.varV))
	want := make([]float64, len(l.varV))
	for i, rows := range l.uses {
		order[i] = i
		s := 0.0
		for _, r := range rows {
			s += r
		}
		if len(rows) > 0 {
			want[i] = s / float64(len(rows))
		}
	}
	// Ties keep the order of first use.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(want[a], want[b]) })
	for _, i := range order {
		row := pushDown(taken, want[i])
		k, _ := slices.BinarySearch(taken, row)
		taken = slices.Insert(taken, k, row)
		l.L.Vertices[l.varV[i]].row = row
	}
}

// pushDown moves row below every taken row closer than minVarDY: past the
// lowest of those, and again while that lands too close to the next.
// Moving past the lowest close row at each step ends where moving past
// any close row would, since rows only move down and a row that was close
// stays close until passed; taken is sorted, so each step is a binary
// search, and a long run of literals is crossed in one walk.
func pushDown(taken []float64, row float64) float64 {
	const eps = 1e-9
	for {
		// The lowest taken row above row+minVarDY-eps is not close; the
		// one before it is, if it lies below row-minVarDY+eps.
		k := sort.SearchFloat64s(taken, row+minVarDY-eps)
		if k == 0 || taken[k-1] <= row-minVarDY+eps {
			return row
		}
		row = taken[k-1] + minVarDY
	}
}

// geometry turns columns and rows into pixels and draws the wires.
func (l *layouter) geometry() {
	V := l.L.Vertices
	ncol := 0
	minRow, maxRow := math.Inf(1), math.Inf(-1)
	for _, v := range V {
		ncol = max(ncol, v.col+1)
		minRow = math.Min(minRow, v.row)
		maxRow = math.Max(maxRow, v.row)
	}
	colW := make([]float64, ncol)
	for _, v := range V {
		colW[v.col] = math.Max(colW[v.col], v.W)
	}
	colX := make([]float64, ncol)
	x := float64(marginX)
	if len(l.varV) > 0 {
		x += varLabelW
	}
	for c := range colX {
		colX[c] = x + colW[c]/2
		x += colW[c] + gapW
	}
	l.L.Width = x - gapW + marginX
	for i := range V {
		V[i].X = colX[V[i].col]
		V[i].Y = marginY + (V[i].row-minRow)*rowH
	}
	l.L.Height = 2*marginY + (maxRow-minRow)*rowH

	for i := range l.L.Edges {
		e := &l.L.Edges[i]
		s, t := &V[e.from], &V[e.to]
		sx, sy := s.X+s.W/2, s.Y
		py := t.Y + e.port
		// The port on the left of the target's pill: its left end is a
		// half circle of radius H/2.
		r := t.H / 2
		px := t.X - t.W/2
		if t.Kind == "op" {
			px = t.X - t.W/2 + r - math.Sqrt(r*r-e.port*e.port)
		}
		colLeft := colX[t.col] - colW[t.col]/2
		lx0 := colLeft - labelW
		mx := (sx + lx0) / 2
		var d strings.Builder
		d.WriteString("M" + num(sx) + "," + num(sy))
		if sy != py {
			d.WriteString("C" + num(mx) + "," + num(sy) + " " + num(mx) + "," + num(py) + " " + num(lx0) + "," + num(py))
		}
		d.WriteString("L" + num(px) + "," + num(py))
		e.D = d.String()
		e.LX = math.Round((lx0+colLeft)/2*10) / 10
		e.LY = math.Round(py*10) / 10
	}
	for i := range V {
		V[i].X = math.Round(V[i].X*10) / 10
		V[i].Y = math.Round(V[i].Y*10) / 10
		V[i].W = math.Round(V[i].W*10) / 10
	}
	l.L.Width = math.Ceil(l.L.Width)
	l.L.Height = math.Ceil(l.L.Height)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
