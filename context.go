package backprop

// BackwardContext gives a BackwardFunc the tensors of its node.
type BackwardContext struct {
	n       *Node
	create  bool
	needAll bool
	want    map[*Tensor]int // Gradients' requested inputs, or nil
	id      uint64          // the walk
	buf     [3]*Tensor      // backs one(), two() and three(): no allocation per node
}

// one and two return an op's gradients in a buffer the context reuses; the
// engine reads them before the next node runs.
func (c *BackwardContext) one(a *Tensor) []*Tensor {
	c.buf[0] = a
	return c.buf[:1]
}

func (c *BackwardContext) two(a, b *Tensor) []*Tensor {
	c.buf[0], c.buf[1] = a, b
	return c.buf[:2]
}

func (c *BackwardContext) three(a, b, d *Tensor) []*Tensor {
	c.buf[0], c.buf[1], c.buf[2] = a, b, d
	return c.buf[:3]
}

func (c *BackwardContext) wrap(t *Tensor) *Tensor {
	if c.create || t == nil || !t.requiresGrad {
		return t
	}
	return t.Detach()
}

// Input returns the i-th input of the op.
func (c *BackwardContext) Input(i int) *Tensor { return c.wrap(c.n.inputs[i]) }

// Output returns the op's result (ops such as exp and tanh reuse it).
func (c *BackwardContext) Output() *Tensor { return c.wrap(c.n.out) }

// InputValue returns the i-th input itself, not the detached copy Input
// gives when no graph is built, for a backward that only reads its values
// (F32, At, a kernel of its own) and records nothing: the fused twins of
// the rules in the table of derivatives, or a custom op's fast path under
// !CreateGraph(). An op applied to it would record; use Input for that.
func (c *BackwardContext) InputValue(i int) *Tensor { return c.n.inputs[i] }

// OutputValue is InputValue for the op's result.
func (c *BackwardContext) OutputValue() *Tensor { return c.n.out }

// Saved returns the i-th extra tensor the op saved with RecordSaved.
func (c *BackwardContext) Saved(i int) *Tensor { return c.wrap(c.n.saved[i]) }

// NeedsGrad reports whether input i needs a gradient, so a BackwardFunc can
// skip work (the input gradient of a first layer, say).
func (c *BackwardContext) NeedsGrad(i int) bool {
	in := c.n.inputs[i]
	if c.needAll {
		return in.dtype.IsFloat()
	}
	if !in.requiresGrad {
		return false
	}
	if c.want == nil {
		return true
	}
	// Gradients: only inputs that lead to a requested tensor.
	if _, ok := c.want[in]; ok {
		return true
	}
	return in.node != nil && in.node.mark == c.id && in.node.needed
}

// CreateGraph reports whether this backward pass records a graph of its own.
func (c *BackwardContext) CreateGraph() bool { return c.create }
