package backprop

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Every fast twin in the table of derivatives (a fused kernel, a scalar
// form) must give what its rule gives, bit for bit: the twins do the
// rule's arithmetic in the rule's order, so a rule changed without its twin
// (or the other way round) fails here.

// twinCase builds, for one table entry, an op result from random inputs.
// lo keeps inputs where the op is defined and smooth (Log, Sqrt, Div).
type twinCase struct {
	shapes [][]int
	lo     float64
	op     func(in []*Tensor) *Tensor
}

var twinCases = map[ruleID][]twinCase{
	ruleAdd:     {{shapes: [][]int{{3, 4}, {4}}, op: func(in []*Tensor) *Tensor { return in[0].Add(in[1]) }}},
	ruleSub:     {{shapes: [][]int{{3, 4}, {4}}, op: func(in []*Tensor) *Tensor { return in[0].Sub(in[1]) }}},
	ruleMul:     {{shapes: [][]int{{3, 4}, {4}}, op: func(in []*Tensor) *Tensor { return in[0].Mul(in[1]) }}},
	ruleDiv:     {{shapes: [][]int{{3, 4}, {3, 4}}, lo: 0.5, op: func(in []*Tensor) *Tensor { return in[0].Div(in[1]) }}},
	ruleNeg:     {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].Neg() }}},
	ruleExp:     {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].Exp() }}},
	ruleLog:     {{shapes: [][]int{{3, 4}}, lo: 0.1, op: func(in []*Tensor) *Tensor { return in[0].Log() }}},
	ruleSqrt:    {{shapes: [][]int{{3, 4}}, lo: 0.1, op: func(in []*Tensor) *Tensor { return in[0].Sqrt() }}},
	ruleSquare:  {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].Square() }}},
	ruleTanh:    {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].Tanh() }}},
	ruleSigmoid: {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].Sigmoid() }}},
	ruleReLU:    {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].ReLU() }}},
	ruleSin:     {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].Sin() }}},
	ruleCos:     {{shapes: [][]int{{3, 4}}, op: func(in []*Tensor) *Tensor { return in[0].Cos() }}},
	ruleMatMul: {
		{shapes: [][]int{{3, 5}, {5, 4}}, op: func(in []*Tensor) *Tensor { return in[0].MatMul(in[1]) }},
		{shapes: [][]int{{5, 3}, {4, 5}}, op: func(in []*Tensor) *Tensor { return in[0].T().MatMul(in[1].T()) }},
		{shapes: [][]int{{2, 3, 5}, {2, 5, 4}}, op: func(in []*Tensor) *Tensor { return in[0].MatMul(in[1]) }},
	},
	ruleLinear: {{shapes: [][]int{{3, 5}, {4, 5}, {4}}, op: func(in []*Tensor) *Tensor { return Linear(in[0], in[1], in[2]) }}},
}

func randomInput(r *rand.Rand, dt DType, shape []int, lo float64) *Tensor {
	n := numel(shape)
	v := make([]float64, n)
	for i := range v {
		if lo > 0 {
			v[i] = lo + 2*r.Float64()
		} else {
			v[i] = 4*r.Float64() - 2
		}
	}
	return FromFloat64s(v, shape...).To(dt)
}

// runRule applies bw to node n's output gradient g as a backward pass
// without a graph would, and returns copies of the gradients.
func runRule(n *Node, bw BackwardFunc, g *Tensor) []*Tensor {
	c := &BackwardContext{n: n}
	return append([]*Tensor(nil), bw(c, g)...)
}

func sameBits(a, b *Tensor) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	if a.dtype != b.dtype || !equalShape(a.shape, b.shape) {
		return false
	}
	x, y := a.Float64s(), b.Float64s()
	for i := range x {
		if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
			return false
		}
	}
	return true
}

func TestEveryRuleIsInTheTable(t *testing.T) {
	for r := ruleNone + 1; r < ruleCount; r++ {
		d := derivatives[r]
		if d.rule == nil || d.op == "" {
			t.Errorf("rule %d has no entry in the table", r)
		}
		if (d.fused != nil || d.scalar64 != nil) && len(twinCases[r]) == 0 {
			t.Errorf("%s has a fast twin but no case in twinCases", d.op)
		}
	}
}

func TestFusedTwinsMatchRules(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for id, cases := range twinCases {
		d := derivatives[id]
		if d.fused == nil {
			continue
		}
		for _, tc := range cases {
			for _, dt := range []DType{Float32, Float64} {
				for trial := range 4 {
					in := make([]*Tensor, len(tc.shapes))
					for i, s := range tc.shapes {
						// On odd trials only the first input needs a gradient.
						in[i] = randomInput(r, dt, s, tc.lo).SetRequiresGrad(i == 0 || trial%2 == 0)
					}
					out := tc.op(in)
					n := out.node
					if n == nil || n.rule != id {
						t.Fatalf("%s: the case's result is not a %s node", d.op, d.op)
					}
					g := randomInput(r, dt, out.shape, 0)
					want := runRule(n, d.rule, g)
					got := runRule(n, d.fused, g)
					if len(got) != len(want) {
						t.Fatalf("%s %v: fused twin gave %d gradients, the rule %d", d.op, dt, len(got), len(want))
					}
					for i := range want {
						if !sameBits(got[i], want[i]) {
							t.Errorf("%s %v shapes %v: gradient %d of the fused twin differs from the rule's", d.op, dt, tc.shapes, i)
						}
					}
				}
			}
		}
	}
}

func TestScalarTwinsMatchRules(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for id, cases := range twinCases {
		d := derivatives[id]
		if d.scalar64 == nil {
			continue
		}
		tc := cases[0]
		for _, dt := range []DType{Float32, Float64} {
			for range 50 {
				in := make([]*Tensor, len(tc.shapes))
				for i := range in {
					in[i] = randomInput(r, dt, nil, tc.lo).SetRequiresGrad(true)
				}
				out := tc.op(in)
				n := out.node
				if n == nil || !n.lane {
					t.Fatalf("%s %v: a one-element result is not in the scalar lane", d.op, dt)
				}
				g := randomInput(r, dt, nil, 0)
				want := runRule(n, d.rule, g)
				// The lane's call: only the values the entry says it reads.
				g0, g1 := laneGrads(n, g.Item())
				for i, v := range []float64{g0, g1}[:len(in)] {
					if want[i] == nil || math.Float64bits(v) != math.Float64bits(want[i].Item()) {
						t.Errorf("%s %v at %v: scalar form gives input %d %v, the rule %v", d.op, dt, in, i, v, want[i])
					}
				}
			}
		}
	}
}
