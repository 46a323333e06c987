package viz

import (
	"fmt"

	"github.com/gobackprop/backprop/expr"
)

// FromExpr builds the picture of an evaluated scalar expression (what
// `backprop grad --svg` draws): variables and literals on the left, one
// node per operation, and on every wire the value in green and the
// gradient in red. A variable used several times branches at a fork point:
// the wire into the fork carries df/dvariable, each branch its own share.
// A literal's wire is labelled "const" and carries no gradient.
func FromExpr(res *expr.Result) *Graph {
	g := &Graph{Title: res.Src}
	type src struct {
		id    string
		value float64
		grad  float64
	}
	// Variables and the uses of each: (step, input) pairs.
	varNode := map[string]string{}
	uses := map[string][]Edge{}
	for i, v := range res.Vars {
		id := fmt.Sprintf("v%d", i)
		varNode[v.Name] = id
		g.Nodes = append(g.Nodes, Node{ID: id, Kind: KindParam, Label: v.Name})
	}
	stepID := func(k int) string { return fmt.Sprintf("s%d", k) }
	for k, st := range res.Steps {
		g.Nodes = append(g.Nodes, Node{ID: stepID(k), Kind: KindOp, Label: st.Symbol, Detail: st.ID})
	}
	for k, st := range res.Steps {
		for i, in := range st.Inputs {
			e := Edge{To: stepID(k), Value: num(in.Value)}
			if i < len(st.Grad) {
				e.Grad = num(st.Grad[i])
			}
			switch in.Kind {
			case expr.FromNode:
				e.From = stepID(in.Step)
				e.Label = res.Steps[in.Step].ID
				g.Edges = append(g.Edges, e)
			case expr.FromVar:
				uses[in.Name] = append(uses[in.Name], e)
			default:
				// A literal has no gradient to show (what the engine
				// computes for it, d(a^2)/d2 = a^2·log(a), is NaN for a
				// negative a): its wire says "const" in gray instead.
				id := fmt.Sprintf("c%d_%d", k, i)
				g.Nodes = append(g.Nodes, Node{ID: id, Kind: KindConst, Label: in.Text})
				e.From, e.Label, e.Grad = id, "const", ""
				g.Edges = append(g.Edges, e)
			}
		}
	}
	for i, v := range res.Vars {
		es := uses[v.Name]
		id := varNode[v.Name]
		if len(es) == 1 {
			es[0].From = id
			es[0].Grad = num(v.Grad)
			g.Edges = append(g.Edges, es[0])
			continue
		}
		fork := fmt.Sprintf("f%d", i)
		g.Nodes = append(g.Nodes, Node{ID: fork, Kind: KindFork})
		g.Edges = append(g.Edges, Edge{From: id, To: fork, Value: num(v.Value), Grad: num(v.Grad)})
		for _, e := range es {
			e.From, e.Value = fork, ""
			g.Edges = append(g.Edges, e)
		}
	}
	g.Nodes = append(g.Nodes, Node{ID: "out", Kind: KindOutput, Label: "f"})
	out := Edge{To: "out", Value: num(res.Value), Grad: "1"}
	switch res.Out.Kind {
	case expr.FromNode:
		out.From = stepID(res.Out.Step)
	case expr.FromVar:
		out.From = varNode[res.Out.Name]
	default:
		id := "cout"
		g.Nodes = append(g.Nodes, Node{ID: id, Kind: KindConst, Label: res.Out.Text})
		out.From = id
	}
	g.Edges = append(g.Edges, out)
	return g
}
