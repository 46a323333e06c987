package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// The lecture's numbers, worked by hand: for f = (x+y)·z at (-2, 5, -4),
// df/dx = df/dy = z = -4 and df/dz = x+y = 3; for the sigmoid neuron at
// w = (2, -3, -3), x = (-1, -2), with s = σ(1) the output, ds = s(1-s)
// and df/dw = (x0, x1, 1)·ds, df/dx = (w0, w1)·ds.
func TestLectureExamples(t *testing.T) {
	xs, engine := circuit()
	for i, want := range []float64{-4, -4, 3} {
		if xs[i].Grad != want || engine[i] != want {
			t.Errorf("circuit input %d: micrograd %v, backprop %v, want %v", i, xs[i].Grad, engine[i], want)
		}
	}
	s := 1 / (1 + math.Exp(-1))
	ds := s * (1 - s)
	xs, engine = neuron()
	for i, want := range []float64{-1 * ds, 2 * ds, -2 * ds, -3 * ds, ds} {
		if math.Abs(xs[i].Grad-want) > 1e-15 || xs[i].Grad != engine[i] {
			t.Errorf("neuron input %d: micrograd %v, backprop %v, want %v", i, xs[i].Grad, engine[i], want)
		}
	}
	var b strings.Builder
	run(&b)
	if out := b.String(); !strings.Contains(out, "-0.19661193324148") || !strings.Contains(out, "f = (x + y)·z") {
		t.Errorf("output:\n%s", out)
	}
}

// pair is one value of a random expression, built in both engines.
type pair struct {
	m *Value
	t *bp.Tensor
}

// graph is a random expression: its leaves, every value in the order it
// was made (leaves first), the output, and the ops for messages.
type graph struct {
	leaves, all []pair
	out         pair
	desc        []string
}

// randomGraph builds an expression of about n ops from a few leaves in
// both engines at once. Operands are drawn from everything made so far,
// so values fork into several consumers, often into the same op twice
// (x·x). Values are kept in a range where no op overflows: an op whose
// input would make it blow up (or a Pow with a fractional or negative
// power of a value that is not safely positive) is replaced by Tanh. The
// choices depend only on micrograd's values, so both engines get the
// same expression; the test checks at every step that their values agree
// bit for bit, which makes that so.
func randomGraph(t *testing.T, r *rand.Rand, n int, withPow bool) graph {
	var g graph
	for range 2 + r.IntN(4) {
		v := r.NormFloat64()
		p := pair{V(v), bp.Float64.Scalar(v).SetRequiresGrad(true)}
		g.leaves = append(g.leaves, p)
		g.all = append(g.all, p)
	}
	pick := func() pair {
		// Favour recent values, so the graph is deep as well as wide.
		k := len(g.all) - 1 - int(math.Abs(r.NormFloat64())*float64(len(g.all))/3)
		return g.all[max(k, 0)]
	}
	powers := []float64{2, 3, -1, 0.5, 1.5}
	for range n {
		a, b := pick(), pick()
		var p pair
		op := r.IntN(6)
		if op == 2 && !withPow {
			op = 4
		}
		switch op {
		case 0:
			p = pair{a.m.Add(b.m), a.t.Add(b.t)}
		case 1:
			p = pair{a.m.Mul(b.m), a.t.Mul(b.t)}
		case 2:
			e := powers[r.IntN(len(powers))]
			if e == math.Trunc(e) && e > 0 && math.Abs(a.m.Data) < 4 || a.m.Data > 0.2 && a.m.Data < 4 {
				p = pair{a.m.Pow(e), a.t.PowScalar(e)}
			} else {
				p = pair{a.m.Tanh(), a.t.Tanh()}
			}
		case 3:
			if a.m.Data < 3 {
				p = pair{a.m.Exp(), a.t.Exp()}
			} else {
				p = pair{a.m.Tanh(), a.t.Tanh()}
			}
		case 4:
			p = pair{a.m.Tanh(), a.t.Tanh()}
		case 5:
			p = pair{a.m.ReLU(), a.t.ReLU()}
		}
		if math.Abs(p.m.Data) > 8 {
			p = pair{p.m.Tanh(), p.t.Tanh()}
		}
		if got := p.t.Item(); got != p.m.Data {
			t.Fatalf("%s: value %v in backprop, %v in micrograd", p.m.op, got, p.m.Data)
		}
		g.all = append(g.all, p)
		g.desc = append(g.desc, p.m.op)
	}
	// The output sums the last few values, so more than one path is live.
	g.out = g.all[len(g.all)-1]
	for _, p := range g.all[max(len(g.all)-4, len(g.leaves)) : len(g.all)-1] {
		g.out = pair{g.out.m.Add(p.m), g.out.t.Add(p.t)}
	}
	return g
}

func gradOf(t *bp.Tensor) float64 {
	if g := t.Grad(); g != nil {
		return g.Item()
	}
	return 0 // never reached by the walk; micrograd's Grad stays 0 too
}

// relDiff is |a-b| / max(|a|, |b|), and 0 when a == b.
func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / max(math.Abs(a), math.Abs(b))
}

// The real engine's float64 gradients equal micrograd's on random
// expressions: exactly, because both compute each local derivative with
// the same floating-point operations (a product is the same whichever
// operand comes first) and both sum at forks in the same order. Both sort
// the graph by a depth-first walk that visits an op's inputs in order and
// run it backwards, and each op sends its first input its share before
// its second; so the contributions to a value's gradient arrive in the
// same order in both, and are added in that order.
//
// Two modes of the engine are checked:
//
//   - with CreateGraph, every gradient is a tensor made by the
//     differentiable backward functions of elementwise.go, and each
//     value's gradient (retained) must equal micrograd's exactly;
//   - a plain Backward, where the engine carries one-element gradients as
//     plain numbers (the scalar lane, scalarlane.go) for every op with a
//     closed-form rule. PowScalar has none, so a value used by a Pow and
//     by lane ops gets some contributions as tensors and some as numbers;
//     the engine adds the tensors in arrival order, the numbers in arrival
//     order, and then the two sums. With three or more contributions that
//     grouping can differ from micrograd's single running sum, and so can
//     the last bits, at that value and everything below it (regrouped).
//     Those gradients are held to 1e-12 relative error (most still agree
//     exactly); every other leaf gradient must be exact. Matching the
//     order would mean one running sum across both kinds in the engine's
//     walk, which is the engine's business, not this test's.
func TestMatchesEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const graphs = 400
	inexact, exposed := 0, 0
	for i := range graphs {
		n := 1 + r.IntN(40)
		withPow := i%2 == 1
		seed1, seed2 := r.Uint64(), r.Uint64()
		name := fmt.Sprintf("graph %d (%d ops)", i, n)

		// CreateGraph: every value's gradient, exactly.
		g := randomGraph(t, rand.New(rand.NewPCG(seed1, seed2)), n, withPow)
		for _, p := range g.all[len(g.leaves):] {
			p.t.RetainGrad()
		}
		g.out.m.Backward()
		g.out.t.BackwardWith(nil, bp.BackwardOptions{CreateGraph: true})
		for j, p := range g.all {
			if got := gradOf(p.t); got != p.m.Grad {
				t.Fatalf("%s with CreateGraph: value %d (%s of %v): gradient %v in backprop, %v in micrograd\nops: %v",
					name, j, opOf(p.m), p.m.Data, got, p.m.Grad, g.desc)
			}
		}

		// Plain Backward, on the same expression built afresh.
		g = randomGraph(t, rand.New(rand.NewPCG(seed1, seed2)), n, withPow)
		g.out.m.Backward()
		g.out.t.Backward()
		mixed := regrouped(g.out.m)
		for j, p := range g.leaves {
			got := gradOf(p.t)
			if got == p.m.Grad {
				continue
			}
			if d := relDiff(got, p.m.Grad); !mixed[p.m] || !(d <= 1e-12) {
				t.Fatalf("%s: leaf %d: gradient %v in backprop, %v in micrograd (relative difference %.3g, regrouped sum: %v)\nops: %v",
					name, j, got, p.m.Grad, d, mixed[p.m], g.desc)
			}
			inexact++
		}
		for _, p := range g.leaves {
			if mixed[p.m] {
				exposed++
			}
		}
	}
	t.Logf("%d graphs; %d of %d leaf gradients that may be summed in another grouping differed in the last bits",
		graphs, inexact, exposed)
}

// regrouped marks the values whose gradient the engine's plain Backward
// may sum in another grouping than micrograd: those that get three or more
// contributions, some from Pow (as tensors) and some from lane ops (as
// numbers), and every value below one of them. It knows which of the
// ops here the lane takes (all but Pow): if that changes in the engine,
// change it here.
func regrouped(out *Value) map[*Value]bool {
	topo := out.topoSort()
	fromPow, fromLane := map[*Value]int{}, map[*Value]int{}
	for _, u := range topo {
		for _, c := range u.children {
			if strings.HasPrefix(u.op, "^") {
				fromPow[c]++
			} else {
				fromLane[c]++
			}
		}
	}
	mark := map[*Value]bool{}
	for i := len(topo) - 1; i >= 0; i-- { // every consumer before its inputs
		u := topo[i]
		if fromPow[u] > 0 && fromLane[u] > 0 && fromPow[u]+fromLane[u] >= 3 {
			mark[u] = true
		}
		if mark[u] {
			for _, c := range u.children {
				mark[c] = true
			}
		}
	}
	return mark
}

func opOf(v *Value) string {
	if v.op == "" {
		return "leaf"
	}
	return v.op
}
