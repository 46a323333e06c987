package backprop

import "math"

// The scalar lane of the backward walk.
//
// A graph of one-element tensors (the lecture's circuits, micrograd-style
// models) spends nearly all of its backward pass allocating one-element
// gradient tensors and running the generic op machinery on them. For the
// common elementwise ops the local gradient of a one-element result has a
// closed form in the values of its inputs and output, so when no graph is
// to be built the walk carries such gradients as plain numbers
// (Node.sgrad) and turns them into tensors only where a tensor is needed:
// at leaves, at ops outside the lane, at hooks and retained gradients.
//
// Each rule below computes exactly what the op's BackwardFunc computes
// (the same operations in the same order, in the tensor's dtype), and sums
// at forks are made in the dtype too, so a gradient does not depend on
// which path carried it.

// scalarRule names an op whose one-element backward has a closed form.
type scalarRule uint8

const (
	ruleNone scalarRule = iota
	ruleAdd
	ruleSub
	ruleMul
	ruleDiv
	ruleNeg
	ruleExp
	ruleLog
	ruleSqrt
	ruleSquare
	ruleTanh
	ruleSigmoid
	ruleReLU
	ruleSin
	ruleCos
)

// withRule marks t's node (when t was just recorded, from one-element
// inputs into a one-element float result) as computable in the scalar lane
// by rule r, and returns t. Deciding here, while the tensors are in cache,
// spares the walk a look at each input.
func withRule(t *Tensor, r scalarRule) *Tensor {
	n := t.node
	if n == nil || n.out != t || !t.dtype.IsFloat() || !isOneElement(t) {
		return t
	}
	for _, in := range n.inputs {
		if !isOneElement(in) || in.dtype != t.dtype {
			return t
		}
	}
	n.rule, n.laneF32 = r, t.dtype == Float32
	return t
}

// inLane reports whether the walk runs n as numbers: a gradient reached it,
// it has a rule, nothing needs to see its gradient as a tensor, and no
// graph is being built nor inputs requested.
func (w *walkState) inLane(n *Node) bool {
	if n.rule == ruleNone || (!n.sHas && n.pending == nil) || w.create || w.want != nil {
		return false
	}
	out := n.out
	return out != nil && !out.retainGrad && (out.extra == nil || len(out.extra.hooks) == 0)
}

func isOneElement(t *Tensor) bool {
	for _, d := range t.shape {
		if d != 1 {
			return false
		}
	}
	return true
}

// value reads the single value of a one-element float tensor.
func scalarValue(t *Tensor) float64 {
	if t.dtype == Float32 {
		return float64(t.f32[t.offset])
	}
	return t.f64[t.offset]
}

// Which values each rule reads: the walk touches nothing else, since on a
// large scalar graph every tensor it reads is a likely cache miss.
const (
	needX0 = 1 << iota
	needX1
	needY
)

var ruleNeeds = [...]uint8{
	ruleAdd: 0, ruleSub: 0, ruleMul: needX0 | needX1, ruleDiv: needX1 | needY,
	ruleNeg: 0, ruleExp: needY, ruleLog: needX0, ruleSqrt: needY, ruleSquare: needX0,
	ruleTanh: needY, ruleSigmoid: needY, ruleReLU: needX0, ruleSin: needX0, ruleCos: needX0,
}

// laneGrads returns the gradients of n's inputs (at most two) for the
// upstream gradient g, in n's dtype.
func laneGrads(n *Node, g float64) (g0, g1 float64) {
	var x0, x1, y float64
	need := ruleNeeds[n.rule]
	if need&needX0 != 0 {
		x0 = scalarValue(n.inputs[0])
	}
	if need&needX1 != 0 {
		x1 = scalarValue(n.inputs[1])
	}
	if need&needY != 0 {
		y = scalarValue(n.out)
	}
	if n.laneF32 {
		a, b := ruleGrads(n.rule, float32(g), float32(x0), float32(x1), float32(y))
		return float64(a), float64(b)
	}
	return ruleGrads(n.rule, g, x0, x1, y)
}

// ruleGrads mirrors the BackwardFuncs of elementwise.go.
func ruleGrads[T float32 | float64](r scalarRule, g, x0, x1, y T) (g0, g1 T) {
	switch r {
	case ruleAdd:
		return g, g
	case ruleSub:
		return g, -g
	case ruleMul:
		return g * x1, g * x0
	case ruleDiv:
		ga := g / x1
		return ga, -(ga * y)
	case ruleNeg:
		return -g, 0
	case ruleExp:
		return g * y, 0
	case ruleLog:
		return g / x0, 0
	case ruleSqrt:
		return g / y * 0.5, 0
	case ruleSquare:
		return g * x0 * 2, 0
	case ruleTanh:
		return g * (1 - y*y), 0
	case ruleSigmoid:
		return g * y * (1 - y), 0
	case ruleReLU:
		if x0 > 0 {
			return g, 0
		}
		return 0, 0
	case ruleSin:
		return g * T(math.Cos(float64(x0))), 0
	case ruleCos:
		return -(g * T(math.Sin(float64(x0)))), 0
	}
	panic("backprop: scalar lane: unknown rule")
}

// addScalar adds v to a pending scalar gradient s (present when has),
// rounding to dt as a tensor sum would.
func addScalar(s float64, has bool, v float64, dt DType) float64 {
	if !has {
		return v
	}
	if dt == Float32 {
		return float64(float32(s) + float32(v))
	}
	return s + v
}

// scalarTensor makes a one-element tensor shaped like t holding v.
func scalarTensor(t *Tensor, v float64) *Tensor {
	s := rawIn(poolOf("Backward", t), t.dtype, t.shape)
	s.fill(v)
	return s
}

// laneStep runs node n of a walk as numbers: its gradient (pending tensor
// and number summed), times its local gradients, added to its inputs'
// pending numbers or their leaf sums.
func (w *walkState) laneStep(n *Node) {
	dt := Float64
	if n.laneF32 {
		dt = Float32
	}
	var g float64
	has := false
	if n.pending != nil {
		g, has = scalarValue(n.pending), true
		n.pending, n.owned = nil, false
	}
	if n.sHas {
		g = addScalar(g, has, n.sgrad, dt)
		n.sHas = false
	}
	g0, g1 := laneGrads(n, g)
	// The lane runs only for Backward (no requested inputs), where an
	// input needs a gradient exactly when it requires one, and a recorded
	// input always does. The inputs' dtype is n's (withRule checked).
	for j, in := range n.inputs {
		v := g0
		if j == 1 {
			v = g1
		}
		if m := in.node; m != nil {
			if m.mark == w.id {
				m.sgrad, m.sHas = addScalar(m.sgrad, m.sHas, v, dt), true
			}
			continue
		}
		if in.requiresGrad {
			w.leaves.addScalar(in, v)
		}
	}
	w.finish(n)
}
