package backprop

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
// The numbers come from the scalar forms in the table of derivatives
// (derivatives.go), written beside each op's rule and doing the rule's
// arithmetic in the rule's order, in the tensor's dtype; sums at forks are
// made in the dtype too, so a gradient does not depend on which path
// carried it.

// fitsLane reports whether the walk may carry n's gradients as numbers:
// n's rule has scalar forms (recordRule checked), and its result and
// inputs are one-element float tensors of one dtype. Deciding when the op
// is recorded, while the tensors are in cache, spares the walk a look at
// each input.
func fitsLane(n *Node) bool {
	t := n.out
	if !t.dtype.IsFloat() || !isOneElement(t) {
		return false
	}
	for _, in := range n.inputs {
		if !isOneElement(in) || in.dtype != t.dtype {
			return false
		}
	}
	return true
}

// inLane reports whether the walk runs n as numbers: a gradient reached it,
// it has a rule, nothing needs to see its gradient as a tensor, and no
// graph is being built nor inputs requested.
func (w *walkState) inLane(n *Node) bool {
	if !n.lane || (!n.sHas && n.pending == nil) || w.create || w.want != nil {
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

// laneGrads returns the gradients of n's inputs (at most two) for the
// upstream gradient g, in n's dtype, from the scalar form of n's rule.
func laneGrads(n *Node, g float64) (g0, g1 float64) {
	d := &derivatives[n.rule]
	var x0, x1, y float64
	if d.reads&readX0 != 0 {
		x0 = scalarValue(n.inputs[0])
	}
	if d.reads&readX1 != 0 {
		x1 = scalarValue(n.inputs[1])
	}
	if d.reads&readY != 0 {
		y = scalarValue(n.out)
	}
	if n.laneF32 {
		a, b := d.scalar32(float32(g), float32(x0), float32(x1), float32(y))
		return float64(a), float64(b)
	}
	return d.scalar64(g, x0, x1, y)
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
	// input always does. The inputs' dtype is n's (fitsLane checked).
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
