package viz

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func param(name string, v float64) *bp.Tensor {
	return bp.Float64.Scalar(v).SetRequiresGrad(true).SetName(name)
}

func retained() bp.BackwardOptions { return bp.BackwardOptions{RetainGraph: true} }

// lecture builds (x+y)*z at x=-2, y=5, z=-4, keeps every gradient and the
// graph, and runs backward.
func lecture() (f, x, y, z *bp.Tensor) {
	x, y, z = param("x", -2), param("y", 5), param("z", -4)
	q := x.Add(y).RetainGrad().SetName("q")
	f = q.Mul(z).RetainGrad().SetName("f")
	f.BackwardWith(nil, retained())
	return f, x, y, z
}

// neuron is the lecture's sigmoid neuron 1/(1+exp(-(w0·x0+w1·x1+w2))),
// every intermediate keeping its gradient, backward run with the graph
// retained.
func neuron() *bp.Tensor {
	cst := func(name string, v float64) *bp.Tensor { return bp.Float64.Scalar(v).SetName(name) }
	w0, x0 := param("w0", 2), cst("x0", -1)
	w1, x1 := param("w1", -3), cst("x1", -2)
	w2 := param("w2", -3)
	s := w0.Mul(x0).RetainGrad().Add(w1.Mul(x1).RetainGrad()).RetainGrad().Add(w2).RetainGrad()
	f := s.Neg().RetainGrad().Exp().RetainGrad().AddScalar(1).RetainGrad().Reciprocal().RetainGrad().SetName("f")
	f.BackwardWith(nil, retained())
	return f
}

// wire finds the edge between the nodes labelled from and to.
func wire(t *testing.T, g *Graph, from, to string) Edge {
	t.Helper()
	label := map[string]string{}
	for _, n := range g.Nodes {
		label[n.ID] = n.Label
	}
	for _, e := range g.Edges {
		if label[e.From] == from && label[e.To] == to {
			return e
		}
	}
	t.Fatalf("no edge %s -> %s in %+v", from, to, g.Edges)
	return Edge{}
}

func TestLectureGraph(t *testing.T) {
	f, _, _, _ := lecture()
	g := FromTensors([]*bp.Tensor{f}, Options{})
	kinds := map[string]Kind{}
	for _, n := range g.Nodes {
		kinds[n.Label] = n.Kind
	}
	want := map[string]Kind{"Add": KindOp, "Mul": KindOp, "x": KindParam, "y": KindParam, "z": KindParam, "f": KindOutput}
	for l, k := range want {
		if kinds[l] != k {
			t.Errorf("node %s: kind %v, want %v (nodes %+v)", l, kinds[l], k, g.Nodes)
		}
	}
	if len(g.Nodes) != 6 || len(g.Edges) != 5 {
		t.Errorf("%d nodes, %d edges; want 6 and 5", len(g.Nodes), len(g.Edges))
	}
	for _, c := range []struct{ from, to, label, value, grad string }{
		{"x", "Add", "", "-2", "-4"},
		{"y", "Add", "", "5", "-4"},
		{"z", "Mul", "", "-4", "3"},
		{"Add", "Mul", "q", "3", "-4"},
		{"Mul", "f", "", "-12", "1"},
	} {
		e := wire(t, g, c.from, c.to)
		if e.Label != c.label || e.Value != c.value || e.Grad != c.grad {
			t.Errorf("%s -> %s: label %q value %q grad %q; want %q %q %q", c.from, c.to, e.Label, e.Value, e.Grad, c.label, c.value, c.grad)
		}
	}
}

// dotEdges reads our own DOT back: "label -> label" for every edge.
func dotEdges(dot string) (map[string]string, []string) {
	labels := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  (n\d+) \[.*label=<(?:<b>)?([^<>]*)`).FindAllStringSubmatch(dot, -1) {
		labels[m[1]] = m[2]
	}
	var edges []string
	for _, m := range regexp.MustCompile(`(?m)^  (n\d+) -> (n\d+)`).FindAllStringSubmatch(dot, -1) {
		edges = append(edges, labels[m[1]]+" -> "+labels[m[2]])
	}
	return labels, edges
}

func TestDOTLecture(t *testing.T) {
	f, _, _, _ := lecture()
	var buf bytes.Buffer
	if err := DOT(&buf, []*bp.Tensor{f}, Options{Title: "(x+y)*z"}); err != nil {
		t.Fatal(err)
	}
	dot := buf.String()
	_, edges := dotEdges(dot)
	got := strings.Join(edges, "; ")
	if want := "Mul -> f; Add -> Mul; z -> Mul; x -> Add; y -> Add"; got != want {
		t.Errorf("edges %s, want %s", got, want)
	}
	green := func(s string) string { return `<font color="` + valueColor + `">` + s + `</font>` }
	red := func(s string) string { return `<font color="` + gradColor + `">` + s + `</font>` }
	for _, s := range []string{
		"rankdir=LR", "<b>(x+y)*z</b>",
		`label=<` + green("-2") + `<br/>` + red("-4") + `>`, // x
		green("-4") + `<br/>` + red("3"),                    // z
		`>q</font><br/>` + green("3") + `<br/>` + red("-4"), // q
		green("-12") + `<br/>` + red("1"),                   // f
		`label=<Add>`, `label=<Mul>`, `label=<<b>x</b>>`, `label=<<b>f</b>>`,
		`fillcolor="#dbeafe"`,
	} {
		if !strings.Contains(dot, s) {
			t.Errorf("DOT lacks %s:\n%s", s, dot)
		}
	}
	checkDot(t, dot)
}

// checkDot asks Graphviz, when it is installed, whether it accepts dot.
func checkDot(t *testing.T, dot string) {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		return
	}
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin = strings.NewReader(dot)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("graphviz rejects the DOT (%v): %s\n%s", err, stderr.String(), dot)
	}
}

func TestDeterministic(t *testing.T) {
	render := func() (string, string) {
		f := neuron()
		var d, s bytes.Buffer
		if err := DOT(&d, []*bp.Tensor{f}, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := SVG(&s, []*bp.Tensor{f}, Options{}); err != nil {
			t.Fatal(err)
		}
		return d.String(), s.String()
	}
	d1, s1 := render()
	for range 3 {
		d2, s2 := render()
		if d1 != d2 {
			t.Fatal("DOT differs between runs")
		}
		if s1 != s2 {
			t.Fatal("SVG differs between runs")
		}
	}
}

// chain is x followed by n Neg ops.
func chain(n int) *bp.Tensor {
	y := param("x", 1)
	for range n {
		y = y.Neg()
	}
	return y
}

func TestLargeChainIterativeAndLimited(t *testing.T) {
	const n = 100_000
	y := chain(n)
	// A recursive walk would need far more than this.
	defer debug.SetMaxStack(debug.SetMaxStack(256 << 10))

	g := FromTensors([]*bp.Tensor{y}, Options{MaxNodes: 50})
	drawn := 0
	var more *Node
	for i, nd := range g.Nodes {
		switch nd.Kind {
		case KindOp, KindParam:
			drawn++
		case KindMore:
			more = &g.Nodes[i]
		}
	}
	if drawn != 50 {
		t.Errorf("drew %d tensors, want 50", drawn)
	}
	if more == nil || !strings.Contains(more.Label, "99,951 more") || !strings.Contains(more.Label, "50 of 100,001") {
		t.Fatalf("no note of the limit, or a wrong count: %+v", more)
	}
	var s bytes.Buffer
	if err := g.WriteSVG(&s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.String(), "99,951 more") {
		t.Error("SVG lacks the limit note")
	}

	// No limit: every op, no recursion in the walk, the DOT or the layout.
	var d bytes.Buffer
	if err := DOT(&d, []*bp.Tensor{y}, Options{MaxNodes: -1}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(d.String(), " -> "); got != n+1 {
		t.Errorf("%d edges, want %d", got, n+1)
	}
	const m = 10_000 // the layout is linear too, but writes more
	s.Reset()
	if err := SVG(&s, []*bp.Tensor{chain(m)}, Options{MaxNodes: -1}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(s.String(), `<g class="edge"`); got != m+1 {
		t.Errorf("%d SVG edges, want %d", got, m+1)
	}
}

func TestDefaultLimit(t *testing.T) {
	g := FromTensors([]*bp.Tensor{chain(2000)}, Options{})
	ops := 0
	for _, nd := range g.Nodes {
		if nd.Kind == KindOp {
			ops++
		}
	}
	if ops != defaultMaxNodes {
		t.Errorf("%d ops drawn, want the default limit %d", ops, defaultMaxNodes)
	}
}

func TestReleasedGraph(t *testing.T) {
	x, y, z := param("x", -2), param("y", 5), param("z", -4)
	f := x.Add(y).Mul(z).SetName("f")
	f.Backward() // frees the graph
	g := FromTensors([]*bp.Tensor{f}, Options{})
	if len(g.Nodes) != 2 || g.Nodes[0].Kind != KindReleased || g.Nodes[0].Label != "Mul" {
		t.Fatalf("nodes %+v, want the released Mul and the output", g.Nodes)
	}
	if e := wire(t, g, "Mul", "f"); e.Value != "-12" {
		t.Errorf("output wire %+v, want value -12", e)
	}
	if !strings.Contains(g.Title, "RetainGraph") {
		t.Errorf("title %q does not say how to keep the graph", g.Title)
	}
	var d, s bytes.Buffer
	if err := g.WriteDOT(&d); err != nil {
		t.Fatal(err)
	}
	checkDot(t, d.String())
	if err := g.WriteSVG(&s); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, g, s.Bytes())

	// A graph released below a retained part: x*2 freed, then reused.
	a := param("a", 3)
	h := a.MulScalar(2)
	h.Backward()
	k := h.Add(a).SetName("k") // records a new node on top of the freed one
	g = FromTensors([]*bp.Tensor{k}, Options{})
	released := 0
	for _, nd := range g.Nodes {
		if nd.Kind == KindReleased {
			released++
		}
	}
	if released != 1 {
		t.Errorf("%d released nodes, want 1: %+v", released, g.Nodes)
	}
}

// svgCounts parses an SVG document, failing the test if it is not
// well-formed XML, and counts node and edge groups, arrows and the texts
// drawn in each color.
type svgCounts struct {
	nodes, edges, arrows int
	green, red           []string
}

func parseSVG(t *testing.T, doc []byte) svgCounts {
	t.Helper()
	var c svgCounts
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var fill string
	inText := false
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch e.Name.Local {
			case "g":
				cls := attr["class"]
				if strings.HasPrefix(cls, "node ") {
					c.nodes++
				} else if cls == "edge" {
					c.edges++
				}
			case "path":
				if attr["marker-end"] != "" {
					c.arrows++
				}
			case "text":
				inText, fill = true, attr["fill"]
				text.Reset()
			}
		case xml.CharData:
			if inText {
				text.Write(e)
			}
		case xml.EndElement:
			if e.Name.Local == "text" {
				inText = false
				switch fill {
				case valueColor:
					c.green = append(c.green, text.String())
				case gradColor:
					c.red = append(c.red, text.String())
				}
			}
		}
	}
	return c
}

// checkSVG asserts one group per node and per edge, and an arrow on every
// edge that does not end in a fork point.
func checkSVG(t *testing.T, g *Graph, doc []byte) svgCounts {
	t.Helper()
	c := parseSVG(t, doc)
	if c.nodes != len(g.Nodes) || c.edges != len(g.Edges) {
		t.Errorf("SVG has %d nodes and %d edges, graph %d and %d", c.nodes, c.edges, len(g.Nodes), len(g.Edges))
	}
	kind := map[string]Kind{}
	for _, n := range g.Nodes {
		kind[n.ID] = n.Kind
	}
	arrows := 0
	for _, e := range g.Edges {
		if kind[e.To] != KindFork {
			arrows++
		}
	}
	if c.arrows != arrows {
		t.Errorf("%d arrows, want %d", c.arrows, arrows)
	}
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSVGLecture(t *testing.T) {
	f, _, _, _ := lecture()
	g := FromTensors([]*bp.Tensor{f}, Options{})
	var buf bytes.Buffer
	if err := g.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	c := checkSVG(t, g, buf.Bytes())
	for _, v := range []string{"-2", "5", "-4", "3", "-12"} {
		if !contains(c.green, v) {
			t.Errorf("no green %s in %v", v, c.green)
		}
	}
	for _, v := range []string{"-4", "3", "1"} {
		if !contains(c.red, v) {
			t.Errorf("no red %s in %v", v, c.red)
		}
	}
	// Values forward: 5 wires; gradients: 5 wires (x and y are -4 each).
	if len(c.green) != 5 || len(c.red) != 5 {
		t.Errorf("green %v red %v", c.green, c.red)
	}
}

func TestSVGNeuron(t *testing.T) {
	f := neuron()
	g := FromTensors([]*bp.Tensor{f}, Options{Title: "sigmoid neuron"})
	var buf bytes.Buffer
	if err := g.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	c := checkSVG(t, g, buf.Bytes())
	// The lecture's numbers: w0 and x0 gradients, and the output.
	for _, v := range []string{"-0.1966", "0.3932", "-0.3932", "-0.5898", "0.1966", "1"} {
		if !contains(c.red, v) {
			t.Errorf("no red %s in %v", v, c.red)
		}
	}
	if !contains(c.green, "0.7311") {
		t.Errorf("no green 0.7311 in %v", c.green)
	}
	if out := os.Getenv("VIZ_NEURON_SVG"); out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForkWireGradients(t *testing.T) {
	x := param("x", 3)
	sq := x.Mul(x).RetainGrad()
	f := sq.Add(x).RetainGrad().SetName("f") // x² + x: df/dx = 7
	f.BackwardWith(nil, retained())
	g := FromTensors([]*bp.Tensor{f}, Options{})
	var fork string
	for _, n := range g.Nodes {
		if n.Kind == KindFork {
			if fork != "" {
				t.Fatal("two forks")
			}
			fork = n.ID
		}
	}
	var into []Edge
	branch := map[string][]string{}
	label := map[string]string{}
	for _, n := range g.Nodes {
		label[n.ID] = n.Label
	}
	for _, e := range g.Edges {
		if e.To == fork {
			into = append(into, e)
		}
		if e.From == fork {
			branch[label[e.To]] = append(branch[label[e.To]], e.Grad)
		}
	}
	if len(into) != 1 || into[0].Value != "3" || into[0].Grad != "7" {
		t.Errorf("wire into the fork %+v, want value 3, total gradient 7", into)
	}
	if got := fmt.Sprint(branch); got != "map[Add:[1] Mul:[3 3]]" {
		t.Errorf("branch gradients %s, want Mul 3 and 3, Add 1", got)
	}
	var buf bytes.Buffer
	if err := g.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, g, buf.Bytes())
}

// mlpLoss is a two-layer classifier's loss on a small batch: Linear as
// MatMul+Add, ReLU, Linear, LogSoftmax, Gather of the targets, mean.
func mlpLoss() (*bp.Tensor, []*bp.Tensor) {
	rng := bp.NewRNG(1)
	x := rng.Normal(0, 1, 8, 5).SetName("x")
	w1 := rng.Normal(0, 0.5, 5, 16).SetRequiresGrad(true).SetName("W1")
	b1 := bp.Zeros(16).SetRequiresGrad(true).SetName("b1")
	w2 := rng.Normal(0, 0.5, 16, 3).SetRequiresGrad(true).SetName("W2")
	b2 := bp.Zeros(3).SetRequiresGrad(true).SetName("b2")
	y := bp.FromInts([]int{0, 2, 1, 1, 0, 2, 2, 1}, 8, 1).SetName("y")
	h := x.MatMul(w1).Add(b1).ReLU().SetName("h")
	logp := h.MatMul(w2).Add(b2).LogSoftmax(1).SetName("logp")
	loss := logp.Gather(1, y).Mean().Neg().SetName("loss")
	return loss, []*bp.Tensor{w1, b1, w2, b2}
}

func TestMLPGraph(t *testing.T) {
	loss, _ := mlpLoss()
	loss.RetainGrad()
	loss.BackwardWith(nil, retained())
	g := FromTensors([]*bp.Tensor{loss}, Options{})
	ops := map[string]bool{}
	params := 0
	for _, n := range g.Nodes {
		switch n.Kind {
		case KindOp:
			ops[n.Label] = true
		case KindParam:
			params++
		}
	}
	for _, op := range []string{"MatMul", "Add", "ReLU", "LogSoftmax", "Gather", "Mean", "Neg"} {
		if !ops[op] {
			t.Errorf("no %s node: %v", op, ops)
		}
	}
	if params != 4 {
		t.Errorf("%d params, want 4", params)
	}
	if e := wire(t, g, "Add", "ReLU"); e.Label != "[8 16]" || e.Value != "" {
		t.Errorf("hidden wire %+v: want its shape and no values", e)
	}
	if e := wire(t, g, "ReLU", "MatMul"); e.Label != "h [8 16]" {
		t.Errorf("named wire %+v, want h [8 16]", e)
	}
	if e := wire(t, g, "b2", "Add"); e.Value != "[0, 0, 0]" || e.Grad == "" {
		t.Errorf("b2 wire %+v: want its values and gradient", e)
	}
	var s, d bytes.Buffer
	if err := g.WriteSVG(&s); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, g, s.Bytes())
	if err := g.WriteDOT(&d); err != nil {
		t.Fatal(err)
	}
	checkDot(t, d.String())
	if out := os.Getenv("VIZ_MLP_SVG"); out != "" {
		os.WriteFile(out, s.Bytes(), 0o644)
	}

	// With a small limit: the part nearest the loss and a note.
	g = FromTensors([]*bp.Tensor{loss}, Options{MaxNodes: 5})
	var more string
	for _, n := range g.Nodes {
		if n.Kind == KindMore {
			more = n.ID
		}
	}
	if more == "" {
		t.Fatal("no note of the limit")
	}
	s.Reset()
	if err := g.WriteSVG(&s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.String(), `stroke-dasharray="5 4" marker-end="url(#arrow-faint)"`) {
		t.Error("edges from the note are not faint and dashed")
	}
}

func TestEscaping(t *testing.T) {
	nasty := "a<b>&\"c'\\ d\x01\n" + string([]byte{0xff})
	x := bp.Float64.Scalar(1).SetRequiresGrad(true).SetName(nasty)
	f := x.Exp().SetName("</text><script>")
	g := FromTensors([]*bp.Tensor{f}, Options{Title: "t<1> & \"q\""})
	var s, d bytes.Buffer
	if err := g.WriteSVG(&s); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, g, s.Bytes())
	if strings.Contains(s.String(), "<script>") {
		t.Error("SVG holds a raw <script>")
	}
	if err := g.WriteDOT(&d); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "a<b>", "\x01"} {
		if strings.Contains(d.String(), bad) {
			t.Errorf("DOT holds raw %q", bad)
		}
	}
	checkDot(t, d.String())
}

func TestGraphByHand(t *testing.T) {
	// What the grad command might pass: its own values, on nodes and wires.
	g := &Graph{
		Title: "f = x*y",
		Nodes: []Node{
			{ID: "x", Kind: KindParam, Label: "x", Value: "2", Grad: "3"},
			{ID: "y", Kind: KindParam, Label: "y", Value: "3", Grad: "2"},
			{ID: "mul", Kind: KindOp, Label: "*"},
			{ID: "f", Kind: KindOutput, Label: "f"},
		},
		Edges: []Edge{
			{From: "x", To: "mul", Value: "2", Grad: "3"},
			{From: "y", To: "mul", Value: "3", Grad: "2"},
			{From: "mul", To: "f", Value: "6", Grad: "1"},
		},
	}
	var s, d bytes.Buffer
	if err := g.WriteSVG(&s); err != nil {
		t.Fatal(err)
	}
	c := checkSVG(t, g, s.Bytes())
	if len(c.green) != 5 || len(c.red) != 5 { // 2 in boxes, 3 on wires
		t.Errorf("green %v red %v", c.green, c.red)
	}
	if err := g.WriteDOT(&d); err != nil {
		t.Fatal(err)
	}
	checkDot(t, d.String())

	bad := []struct {
		name string
		g    Graph
		want string
	}{
		{"unknown", Graph{Nodes: []Node{{ID: "a"}}, Edges: []Edge{{From: "a", To: "b"}}}, `unknown node "b"`},
		{"duplicate", Graph{Nodes: []Node{{ID: "a"}, {ID: "a"}}}, `duplicate node ID "a"`},
		{"kind", Graph{Nodes: []Node{{ID: "a", Kind: 42}}}, "unknown kind"},
		{"cycle", Graph{Nodes: []Node{{ID: "a"}, {ID: "b"}}, Edges: []Edge{{From: "a", To: "b"}, {From: "b", To: "a"}}}, "cycle"},
	}
	for _, c := range bad {
		err := c.g.WriteSVG(io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: SVG error %v, want %q", c.name, err, c.want)
		}
		if c.name == "cycle" {
			continue // DOT can draw a cycle
		}
		if err := c.g.WriteDOT(io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: DOT error %v, want %q", c.name, err, c.want)
		}
	}
	// An empty graph is a picture with a legend.
	if err := (&Graph{}).WriteSVG(io.Discard); err != nil {
		t.Error(err)
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0.73105857, "0.7311"}, {-12, "-12"}, {1e-7, "1e-07"}, {123456, "1.235e+05"}} {
		if got := num(c.v); got != c.want {
			t.Errorf("num(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	negZero := bp.Float64.Scalar(0).Neg()
	if got := tensorText(negZero); got != "0" {
		t.Errorf("-0 prints %q", got)
	}
	m := bp.FromFloat64s([]float64{1, 2, 3, 4}, 2, 2)
	if got := tensorText(m); got != "[[1, 2], [3, 4]]" {
		t.Errorf("2x2 prints %q", got)
	}
	if got := shapeText(bp.FromInts([]int{1, 2}, 2)); got != "int64 [2]" {
		t.Errorf("int shape %q", got)
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands %q", got)
	}
}

func TestMultipleRoots(t *testing.T) {
	x := param("x", 2)
	a := x.Exp()
	b := a.Mul(x)
	g := FromTensors([]*bp.Tensor{a, b}, Options{})
	outs := 0
	for _, n := range g.Nodes {
		if n.Kind == KindOutput {
			outs++
		}
	}
	if outs != 2 {
		t.Errorf("%d outputs, want 2", outs)
	}
	var s bytes.Buffer
	if err := g.WriteSVG(&s); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, g, s.Bytes())
}

func TestSmallNumel(t *testing.T) {
	f, _, _, _ := lecture()
	for _, e := range FromTensors([]*bp.Tensor{f}, Options{SmallNumel: -1}).Edges {
		if e.Value != "" || e.Grad != "" {
			t.Errorf("SmallNumel -1 still prints %+v", e)
		}
	}
	loss, _ := mlpLoss()
	g := FromTensors([]*bp.Tensor{loss}, Options{SmallNumel: 16})
	if e := wire(t, g, "b1", "Add"); !strings.HasPrefix(e.Value, "[0, 0,") {
		t.Errorf("b1 with SmallNumel 16: %+v", e)
	}
}
