package viz

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/gobackprop/backprop/expr"
)

// sumOfTerms is x + x*y + x + x*y + ... with n terms: a graph n operations
// deep whose two variables are read all along it, so that the wires from
// their forks span up to every column: the shape that made the layout
// quadratic (a point per wire per column).
func sumOfTerms(tb testing.TB, n int) *Graph {
	tb.Helper()
	terms := make([]string, n)
	for i := range terms {
		terms[i] = "x"
		if i%2 == 1 {
			terms[i] = "x*y"
		}
	}
	ast, err := expr.Parse(strings.Join(terms, "+"))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := expr.Eval(ast, map[string]float64{"x": 1, "y": 2})
	if err != nil {
		tb.Fatal(err)
	}
	return FromExpr(res)
}

// allocatedBy is the number of bytes f allocates.
func allocatedBy(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestLayoutScales checks that a large picture is laid out with work in
// proportion to its size: the layered graph stays within the point budget,
// and drawing twice as many terms allocates about twice as much (four
// times for a quadratic part; it was 2 GB for 1000 terms). With the
// default budget its own cost, the same at every size, would hide the
// growth, so the test lowers it.
func TestLayoutScales(t *testing.T) {
	defer func(b int) { maxWirePoints = b }(maxWirePoints)
	maxWirePoints = 2000
	const n = 1000
	var bytes [2]float64
	for i, k := range []int{n, 2 * n} {
		g := sumOfTerms(t, k)
		L, err := newLayout(g)
		if err != nil {
			t.Fatal(err)
		}
		if limit := len(g.Nodes) + len(g.Edges) + maxWirePoints; len(L.verts) > limit {
			t.Errorf("%d nodes, %d edges: %d layered points, want at most %d", len(g.Nodes), len(g.Edges), len(L.verts), limit)
		}
		bytes[i] = float64(allocatedBy(func() { err = g.WriteSVG(io.Discard) }))
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d terms: %.1f MB, %d terms: %.1f MB", n, bytes[0]/1e6, 2*n, bytes[1]/1e6)
	if ratio := bytes[1] / bytes[0]; ratio > 2.6 {
		t.Errorf("twice the terms allocate %.2f times as much (%.0f -> %.0f bytes), want about 2", ratio, bytes[0], bytes[1])
	}
}

// TestLayoutBudget checks the default budget's cost: 4000 terms, the size
// the issue asked for in 500 MB, allocate far less.
func TestLayoutBudget(t *testing.T) {
	g := sumOfTerms(t, 4000)
	var err error
	b := allocatedBy(func() { err = g.WriteSVG(io.Discard) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("4000 terms: %.1f MB allocated", float64(b)/1e6)
	if b > 300e6 {
		t.Errorf("4000 terms allocate %.0f MB, want under 300", float64(b)/1e6)
	}
}

// TestLargePictureWellFormed draws a graph past the point budget and checks
// that every node and wire is drawn, in well-formed SVG.
func TestLargePictureWellFormed(t *testing.T) {
	g := sumOfTerms(t, 500)
	var buf bytes.Buffer
	if err := g.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	nodes, edges := bytes.Count(buf.Bytes(), []byte(`<g class="node `)), bytes.Count(buf.Bytes(), []byte(`<g class="edge"`))
	if nodes != len(g.Nodes) || edges != len(g.Edges) {
		t.Errorf("drew %d nodes and %d wires, want %d and %d", nodes, edges, len(g.Nodes), len(g.Edges))
	}
	d := xml.NewDecoder(&buf)
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
	}
}

func TestMaxSpan(t *testing.T) {
	for _, c := range []struct {
		spans  []int
		budget int
		want   int
	}{
		{[]int{1, 2, 3}, 6, -1},   // fits: no limit
		{[]int{1, 2, 3}, 5, 2},    // 1+2 in full, 3 as one point: 4
		{[]int{1, 9, 9}, 10, 1},   // 1, then 9 and 9 as one each: 3
		{[]int{5, 5, 5}, 11, 0},   // equal spans go together: 15 is too many
		{[]int{2, 5, 5}, 11, 2},   // 2 in full, 5 and 5 as one each: 4
		{[]int{9, 9, 9}, 3, 0},    // every wire keeps only its label
		{[]int{9, 9, 9}, 2, 0},    // even so too many: the least there is
		{[]int{3, 1, 2, 9}, 8, 3}, // 1+2+3 and one point: 7
	} {
		got := maxSpan(c.spans, c.budget)
		if c.want < 0 && got < 1<<40 || c.want >= 0 && got != c.want {
			t.Errorf("maxSpan(%v, %d) = %d, want %d", c.spans, c.budget, got, c.want)
		}
	}
}

func BenchmarkSVGSumOfTerms(b *testing.B) {
	for _, n := range []int{100, 1000, 4000} {
		g := sumOfTerms(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := g.WriteSVG(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A graph past MaxSVGNodes is refused before any work, with a message that
// says to write DOT instead.
func TestSVGNodeLimit(t *testing.T) {
	g := &Graph{Nodes: make([]Node, MaxSVGNodes+1)}
	for i := range g.Nodes {
		g.Nodes[i] = Node{ID: fmt.Sprint(i), Kind: KindConst, Label: "c"}
	}
	var buf bytes.Buffer
	err := g.WriteSVG(&buf)
	if err == nil || !strings.Contains(err.Error(), "100,001 nodes") || !strings.Contains(err.Error(), "--dot") || buf.Len() != 0 {
		t.Fatalf("WriteSVG of %d nodes: %v (%d bytes written)", len(g.Nodes), err, buf.Len())
	}
	g.Nodes = g.Nodes[:MaxSVGNodes]
	if _, err := newLayout(g); err != nil {
		t.Fatalf("%d nodes: %v", len(g.Nodes), err)
	}
}
