package expr_test

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/formats/dot"
	"gonum.org/v1/gonum/graph/formats/dot/ast"
)

var (
	greenRE = regexp.MustCompile(`<font color="darkgreen">([^<]*)</font>`)
	redRE   = regexp.MustCompile(`<font color="red">([^<]*)</font>`)
)

// The picture must parse as DOT and have the circuit's structure: a vertex
// per variable, literal and operation plus f, a wire per input plus the
// one into f, and on every wire a green value over a red gradient.
func TestDOTParses(t *testing.T) {
	for _, c := range []struct {
		src      string
		vals     []string
		literals int
	}{
		{"(x+y)*z", []string{"x=-2", "y=5", "z=-4"}, 0},
		{neuron, neuronVals, 2},
		{"x*x + 2^3^x - -(4)", []string{"x=0.5"}, 3},
		{"3", nil, 1},
		{"x", []string{"x=1"}, 0},
	} {
		r := eval(t, c.src, c.vals...)
		var buf bytes.Buffer
		if err := r.WriteDOT(&buf); err != nil {
			t.Fatal(err)
		}
		f, err := dot.ParseBytes(buf.Bytes())
		if err != nil {
			t.Errorf("%s: DOT does not parse: %v\n%s", c.src, err, buf.String())
			continue
		}
		if len(f.Graphs) != 1 || !f.Graphs[0].Directed {
			t.Errorf("%s: want one digraph", c.src)
			continue
		}
		vertices := map[string]string{} // id -> label
		type wire struct{ from, to, label string }
		var wires []wire
		attr := func(attrs []*ast.Attr, key string) string {
			for _, a := range attrs {
				if a.Key == key {
					return a.Val
				}
			}
			return ""
		}
		for _, s := range f.Graphs[0].Stmts {
			switch s := s.(type) {
			case *ast.NodeStmt:
				if _, dup := vertices[s.Node.ID]; dup {
					t.Errorf("%s: vertex %s declared twice", c.src, s.Node.ID)
				}
				vertices[s.Node.ID] = attr(s.Attrs, "label")
			case *ast.EdgeStmt:
				from := s.From.(*ast.Node).ID
				to := s.To.Vertex.(*ast.Node).ID
				if s.To.To != nil {
					t.Errorf("%s: chained edge", c.src)
				}
				wires = append(wires, wire{from, to, attr(s.Attrs, "label")})
			}
		}
		inputs := 0
		for _, st := range r.Steps {
			inputs += len(st.Inputs)
		}
		if want := len(r.Vars) + len(r.Steps) + c.literals + 1; len(vertices) != want {
			t.Errorf("%s: %d vertices, want %d:\n%s", c.src, len(vertices), want, buf.String())
		}
		if len(wires) != inputs+1 {
			t.Errorf("%s: %d wires, want %d", c.src, len(wires), inputs+1)
		}
		for _, w := range wires {
			if _, ok := vertices[w.from]; !ok {
				t.Errorf("%s: wire from undeclared %s", c.src, w.from)
			}
			if _, ok := vertices[w.to]; !ok {
				t.Errorf("%s: wire to undeclared %s", c.src, w.to)
			}
			g, rd := greenRE.FindStringSubmatch(w.label), redRE.FindStringSubmatch(w.label)
			if strings.HasPrefix(w.from, "k_") && w.to != "f" {
				// A literal into a step: its value, and "const" in gray
				// where a gradient would be.
				if g == nil || rd != nil || !strings.Contains(w.label, `<font color="gray40">const</font>`) {
					t.Errorf("%s: wire %s -> %s label %s: want a green value over a gray const", c.src, w.from, w.to, w.label)
				}
				continue
			}
			if g == nil || rd == nil || strings.Index(w.label, g[0]) > strings.Index(w.label, rd[0]) {
				t.Errorf("%s: wire %s -> %s label %s: want a green value over a red gradient", c.src, w.from, w.to, w.label)
			}
		}
		// Every step's vertex has its wires in, and the last wire carries f
		// and df/df = 1.
		for _, st := range r.Steps {
			n := 0
			for _, w := range wires {
				if w.to == "s_"+st.ID {
					n++
				}
			}
			if n != len(st.Inputs) {
				t.Errorf("%s: %s has %d wires in, want %d", c.src, st.ID, n, len(st.Inputs))
			}
		}
		last := wires[len(wires)-1]
		if last.to != "f" || greenRE.FindStringSubmatch(last.label)[1] != strconv.FormatFloat(r.Value, 'g', 4, 64) || redRE.FindStringSubmatch(last.label)[1] != "1" {
			t.Errorf("%s: last wire %+v", c.src, last)
		}
		for _, v := range r.Vars {
			l := vertices["v_"+v.Name]
			if !strings.HasPrefix(l, "<"+v.Name+"<br/>") || greenRE.FindString(l) == "" || redRE.FindString(l) == "" {
				t.Errorf("%s: variable %s label %s", c.src, v.Name, l)
			}
		}
	}
}
