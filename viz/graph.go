package viz

import (
	"fmt"
	"io"
	"strings"

	bp "github.com/gobackprop/backprop"
)

// Kind says how a node is drawn.
type Kind int

const (
	// KindOp is an operation: an ellipse with its name.
	KindOp Kind = iota
	// KindParam is a leaf that requires a gradient (a weight, a variable):
	// a filled box.
	KindParam
	// KindConst is a leaf that requires none (data, a literal): a dashed box.
	KindConst
	// KindOutput is where a root's wire ends: its name, in bold, no frame.
	KindOutput
	// KindFork is the point where one value branches to several consumers
	// and where, going backward, their gradients are summed.
	KindFork
	// KindReleased is an operation whose inputs a backward pass has freed
	// (the graph was not retained): drawn dashed, with nothing below it.
	KindReleased
	// KindMore stands for the part of the graph left out by a node limit.
	KindMore
)

var kindNames = [...]string{"op", "param", "const", "output", "fork", "released", "more"}

// String returns the kind's name: op, param, const, output, fork, released
// or more.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Graph is a picture before layout: nodes and the wires between them, each
// wire carrying a value forward (green) and a gradient backward (red). Both
// DOT and SVG render it; FromTensors builds one from the engine's graph,
// and a caller with values of its own (the grad command, a web page) may
// build one directly. Text fields are plain text: the writers escape them.
type Graph struct {
	Title string // drawn above the picture; may be empty
	Nodes []Node
	Edges []Edge // drawn in this order; input order into a node follows it
}

// Node is one vertex of a Graph.
type Node struct {
	ID     string // unique within the graph; edges refer to it
	Kind   Kind
	Label  string // the op's name, the leaf's name; "\n" breaks lines
	Detail string // a smaller gray line: a shape, "released"
	Value  string // green, inside the node (leaf values); may be empty
	Grad   string // red, inside the node; may be empty
}

// Edge is a wire from one node to another: data flows From → To, and
// gradients the other way.
type Edge struct {
	From, To string
	Label    string // a tensor's name and shape, in gray; may be empty
	Value    string // green, above the wire
	Grad     string // red, below the wire
}

// Options control how FromTensors reads the engine's graph.
type Options struct {
	// MaxNodes is the most tensors (operations and leaves) drawn, nearest
	// the roots first; the rest is replaced by one node saying how much was
	// left out. 0 means 500; a negative value means no limit.
	MaxNodes int
	// SmallNumel is the largest element count for which a tensor's values
	// and gradient are printed on its wire. 0 means 4; a negative value
	// prints none.
	SmallNumel int
	// Title is drawn above the picture.
	Title string
}

const (
	defaultMaxNodes   = 500
	defaultSmallNumel = 4
)

// DOT writes the graph below roots as Graphviz DOT (render it with
// `dot -Tsvg`). See FromTensors for what is drawn.
func DOT(w io.Writer, roots []*bp.Tensor, opt Options) error {
	return FromTensors(roots, opt).WriteDOT(w)
}

// SVG writes the graph below roots as an SVG picture, laid out by this
// package (no Graphviz needed). See FromTensors for what is drawn.
func SVG(w io.Writer, roots []*bp.Tensor, opt Options) error {
	return FromTensors(roots, opt).WriteSVG(w)
}

// FromTensors builds the picture of the graph recorded below roots: an
// operation node for every tensor an op produced, a box for every leaf
// (filled when it requires a gradient, dashed when it is a constant), and a
// wire for every input an op read. A wire carries its tensor's name and
// shape and, when the tensor has at most Options.SmallNumel elements, its
// values in green and the gradient flowing on the wire in red. A value that
// feeds several consumers goes through a fork point: the wire into the fork
// carries its total gradient, each branch its own share.
//
// The gradient on a wire is the tensor's Grad when the wire is its only
// use (leaves, and tensors marked with RetainGrad, after Backward); on a
// branch, or for a constant, it is the consumer's vector-Jacobian product
// (Node.VJP) of its output's Grad, computed when the graph was retained
// and the tensors involved are small. Where neither is known, no gradient
// is printed.
//
// The walk is iterative and visits each tensor once, so a chain of a
// million operations is fine; with the node limit, the drawn part stays
// small. Nodes freed by a backward pass without RetainGraph are drawn as
// released, with nothing below them. The same graph always gives the same
// picture, byte for byte.
func FromTensors(roots []*bp.Tensor, opt Options) *Graph {
	for i, r := range roots {
		if r == nil {
			panic(fmt.Sprintf("backprop: viz.FromTensors: root %d is nil", i))
		}
	}
	b := newBuilder(opt)
	b.walk(roots)
	return b.graph(roots)
}

// builder holds the state of one FromTensors call.
type builder struct {
	opt   Options
	index map[*bp.Tensor]int // drawn tensors, in discovery order
	verts []*tvert
	more  []int // drawn ops with inputs beyond the limit
	total int   // tensors below the roots, drawn or not
	freed bool  // some node was released
}

// tvert is one drawn tensor: the op that made it, or a leaf.
type tvert struct {
	t    *bp.Tensor
	node *bp.Node // nil for a leaf
	uses []use    // where the tensor is read, in discovery order
	vjp  []*bp.Tensor
	done bool // vjp computed (or found impossible)
}

// use is one input slot that reads a tensor: consumer is a vertex index,
// or -1-k for the k-th root's output.
type use struct{ consumer, slot int }

func newBuilder(opt Options) *builder {
	if opt.MaxNodes == 0 {
		opt.MaxNodes = defaultMaxNodes
	}
	if opt.SmallNumel == 0 {
		opt.SmallNumel = defaultSmallNumel
	}
	return &builder{opt: opt, index: map[*bp.Tensor]int{}}
}

func (b *builder) limited() bool {
	return b.opt.MaxNodes >= 0 && len(b.verts) >= b.opt.MaxNodes
}

// walk visits the tensors below roots breadth first, so that a limit keeps
// the part nearest the loss, and counts those it leaves out. Roots are
// always drawn.
func (b *builder) walk(roots []*bp.Tensor) {
	var queue []*bp.Tensor
	hidden := map[*bp.Tensor]bool{}
	var hq []*bp.Tensor
	add := func(t *bp.Tensor, root bool) (int, bool) {
		if i, ok := b.index[t]; ok {
			return i, true
		}
		if b.limited() && !root {
			if !hidden[t] {
				hidden[t] = true
				hq = append(hq, t)
			}
			return -1, false
		}
		i := len(b.verts)
		b.index[t] = i
		b.verts = append(b.verts, &tvert{t: t, node: t.GradFn()})
		queue = append(queue, t)
		return i, true
	}
	for k, r := range roots {
		i, ok := add(r, true)
		if ok {
			b.verts[i].uses = append(b.verts[i].uses, use{-1 - k, 0})
		}
	}
	for q := 0; q < len(queue); q++ {
		ci := b.index[queue[q]]
		n := b.verts[ci].node
		if n == nil {
			continue
		}
		if n.Released() {
			b.freed = true
			continue
		}
		cut := false
		for j, in := range n.Inputs() {
			i, ok := add(in, false)
			if !ok {
				cut = true
				continue
			}
			b.verts[i].uses = append(b.verts[i].uses, use{ci, j})
		}
		if cut {
			b.more = append(b.more, ci)
		}
	}
	// Count what the limit left out, without drawing it.
	for q := 0; q < len(hq); q++ {
		n := hq[q].GradFn()
		if n == nil || n.Released() {
			continue
		}
		for _, in := range n.Inputs() {
			if _, ok := b.index[in]; ok || hidden[in] {
				continue
			}
			hidden[in] = true
			hq = append(hq, in)
		}
	}
	b.total = len(b.verts) + len(hq)
}

// graph turns the walk into nodes and wires.
func (b *builder) graph(roots []*bp.Tensor) *Graph {
	g := &Graph{Title: b.opt.Title}
	id := func(i int) string { return fmt.Sprintf("n%d", i) }
	for i, v := range b.verts {
		nd := Node{ID: id(i)}
		switch {
		case v.node == nil && v.t.RequiresGrad():
			nd.Kind, nd.Label = KindParam, orDefault(v.t.Name(), "param")
			nd.Detail = shapeText(v.t)
		case v.node == nil:
			nd.Kind, nd.Label = KindConst, orDefault(v.t.Name(), "const")
			nd.Detail = shapeText(v.t)
		case v.node.Released():
			nd.Kind, nd.Label, nd.Detail = KindReleased, v.node.Op(), "released"
		default:
			nd.Kind, nd.Label = KindOp, v.node.Op()
		}
		g.Nodes = append(g.Nodes, nd)
	}
	for k, r := range roots {
		name := r.Name()
		if name == "" {
			name = "output"
			if len(roots) > 1 {
				name = fmt.Sprintf("output %d", k+1)
			}
		}
		g.Nodes = append(g.Nodes, Node{ID: fmt.Sprintf("out%d", k), Kind: KindOutput, Label: name})
	}
	consumerID := func(u use) string {
		if u.consumer < 0 {
			return fmt.Sprintf("out%d", -1-u.consumer)
		}
		return id(u.consumer)
	}
	for i, v := range b.verts {
		if len(v.uses) == 0 {
			continue
		}
		label := ""
		if v.node != nil {
			label = shapeText(v.t)
			if len(v.uses) > 1 || v.uses[0].consumer >= 0 { // else the output node names it
				label = joinNonEmpty(v.t.Name(), label)
			}
		}
		value, grad := "", ""
		if b.small(v.t) {
			value = tensorText(v.t)
			if gr := v.t.Grad(); gr != nil {
				grad = tensorText(gr)
			}
		}
		if len(v.uses) == 1 {
			u := v.uses[0]
			if grad == "" {
				grad = b.wireGrad(u)
			}
			g.Edges = append(g.Edges, Edge{From: id(i), To: consumerID(u), Label: label, Value: value, Grad: grad})
			continue
		}
		fork := fmt.Sprintf("f%d", i)
		g.Nodes = append(g.Nodes, Node{ID: fork, Kind: KindFork})
		g.Edges = append(g.Edges, Edge{From: id(i), To: fork, Label: label, Value: value, Grad: grad})
		for _, u := range v.uses {
			g.Edges = append(g.Edges, Edge{From: fork, To: consumerID(u), Grad: b.wireGrad(u)})
		}
	}
	if len(b.more) > 0 {
		left := b.total - len(b.verts)
		g.Nodes = append(g.Nodes, Node{ID: "more", Kind: KindMore,
			Label: fmt.Sprintf("… %s more tensors not drawn\n(%s of %s shown; raise Options.MaxNodes)",
				thousands(left), thousands(len(b.verts)), thousands(b.total))})
		for _, ci := range b.more {
			g.Edges = append(g.Edges, Edge{From: "more", To: id(ci)})
		}
	}
	if b.freed {
		note := "released nodes were freed by Backward; pass RetainGraph to see below them"
		g.Title = joinWith(g.Title, note, " — ")
	}
	return g
}

func (b *builder) small(t *bp.Tensor) bool {
	return b.opt.SmallNumel >= 0 && t.Numel() <= b.opt.SmallNumel
}

// wireGrad is the gradient flowing on one input slot: the consumer's
// vector-Jacobian product of its output's gradient, when the consumer is
// still recorded and everything involved is small.
func (b *builder) wireGrad(u use) string {
	if u.consumer < 0 {
		return "" // a root's own Grad is printed on its wire already
	}
	v := b.verts[u.consumer]
	if !v.done {
		v.done = true
		v.vjp = b.vjp(v)
	}
	if u.slot < len(v.vjp) && v.vjp[u.slot] != nil {
		return tensorText(v.vjp[u.slot])
	}
	return ""
}

func (b *builder) vjp(v *tvert) (gs []*bp.Tensor) {
	n := v.node
	if n == nil || n.Released() || v.t.Grad() == nil || !b.small(v.t) {
		return nil
	}
	for _, in := range n.Inputs() {
		if !b.small(in) {
			return nil
		}
	}
	// A custom op's backward may not expect to be asked for every input;
	// a picture should then lack a number rather than crash.
	defer func() {
		if recover() != nil {
			gs = nil
		}
	}()
	return n.VJP(v.t.Grad())
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func joinNonEmpty(a, b string) string { return joinWith(a, b, " ") }

func joinWith(a, b, sep string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}

// thousands formats n with thin separators: 100,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var sb strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			sb.WriteByte(',')
		}
		sb.WriteRune(c)
	}
	return sb.String()
}
