package viz

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/gobackprop/backprop/expr"
)

func evalExpr(t *testing.T, src string, vars map[string]float64) *expr.Result {
	t.Helper()
	ast, err := expr.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := expr.Eval(ast, vars)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestFromExprLectureCircuit(t *testing.T) {
	res := evalExpr(t, "(x+y)*z", map[string]float64{"x": -2, "y": 5, "z": -4})
	g := FromExpr(res)
	var ops, params int
	for _, n := range g.Nodes {
		switch n.Kind {
		case KindOp:
			ops++
		case KindParam:
			params++
		}
	}
	if ops != 2 || params != 3 {
		t.Fatalf("ops %d params %d: %+v", ops, params, g.Nodes)
	}
	want := map[string]bool{"-2|-4": false, "5|-4": false, "-4|3": false, "3|-4": false, "-12|1": false}
	for _, e := range g.Edges {
		k := e.Value + "|" + e.Grad
		if _, ok := want[k]; ok {
			want[k] = true
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("no wire with value|grad %s in %+v", k, g.Edges)
		}
	}
	var buf bytes.Buffer
	if err := g.WriteSVG(&buf); err != nil {
		t.Fatal(err)
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

func TestFromExprForkCarriesTotal(t *testing.T) {
	res := evalExpr(t, "x*x+x", map[string]float64{"x": 3})
	g := FromExpr(res)
	var forks int
	var total bool
	for _, n := range g.Nodes {
		if n.Kind == KindFork {
			forks++
		}
	}
	for _, e := range g.Edges {
		if e.Value == "3" && e.Grad == "7" {
			total = true
		}
	}
	if forks != 1 || !total {
		t.Fatalf("forks %d, total-gradient wire %v: %+v", forks, total, g.Edges)
	}
	var buf bytes.Buffer
	if err := g.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
}

// The 2 of (x+y)^2 is a constant: its wire says so, in gray, and carries
// no gradient, where it used to carry a red NaN (x+y < 0) or a meaningless
// (x+y)^2·log(x+y).
func TestFromExprConstantHasNoGradient(t *testing.T) {
	for _, vars := range []map[string]float64{{"x": -2, "y": 1}, {"x": 2, "y": 1}} {
		g := FromExpr(evalExpr(t, "(x+y)^2", vars))
		consts := 0
		for _, e := range g.Edges {
			if !strings.HasPrefix(e.From, "c") {
				continue
			}
			consts++
			if e.Label != "const" || e.Grad != "" || e.Value != "2" {
				t.Errorf("%v: wire from the literal %+v", vars, e)
			}
		}
		if consts != 1 {
			t.Errorf("%v: %d wires from literals, want 1", vars, consts)
		}
		var buf bytes.Buffer
		if err := g.WriteSVG(&buf); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "NaN") || !strings.Contains(buf.String(), ">const</text>") {
			t.Errorf("%v: SVG shows NaN or no const mark", vars)
		}
	}
}
