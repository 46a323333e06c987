package backprop

import (
	"fmt"
	"slices"
)

// The public face of autograd: marking variables, reading their gradients,
// hooks, no-grad views, and the calls that start a backward walk
// (engine.go).

// Op is the operation's name ("Add", "MatMul", ...).
func (n *Node) Op() string { return n.op }

// Inputs returns the tensors the op read. After a backward pass that did not
// retain the graph the list is empty: the node has been released.
func (n *Node) Inputs() []*Tensor { return slices.Clone(n.inputs) }

// Output returns the tensor the op produced, or nil once released.
func (n *Node) Output() *Tensor { return n.out }

// Released reports whether a backward pass has freed this node.
func (n *Node) Released() bool { return n.out == nil }

// VJP applies the node's backward function to grad without recording and
// returns a gradient for every float input, reduced to the input's shape.
// With grad = 1 on a scalar op it gives the local gradients that the grad
// table prints.
func (n *Node) VJP(grad *Tensor) []*Tensor {
	if n.Released() {
		panic(fmt.Sprintf("backprop: VJP: node %s was released by an earlier backward pass (use RetainGraph)", n.op))
	}
	c := BackwardContext{n: n, needAll: true}
	gs := n.backward(&c, grad.Detach())
	out := make([]*Tensor, len(n.inputs))
	for i, in := range n.inputs {
		if i < len(gs) && gs[i] != nil {
			out[i] = sumToShape(gs[i], in.shape)
		}
	}
	return out
}

// Record attaches a custom op to the graph: out is the result of the op
// called name on inputs, computed by the caller without recording (on
// detached inputs), and bw is its backward. saved lists any other tensors bw
// needs, available as c.Saved(i). If no input requires a gradient, out is
// returned as it is. See examples/customop.
func Record(name string, out *Tensor, inputs []*Tensor, saved []*Tensor, bw BackwardFunc) *Tensor {
	if out.node != nil || out.requiresGrad {
		panic(fmt.Sprintf("backprop: Record(%s): output already belongs to a graph; compute it from detached inputs", name))
	}
	return recordSaved(name, out, inputs, saved, bw)
}

// Hook sees the gradient of a tensor during backward. It may return a
// replacement gradient of the same shape, or nil to leave it as it is.
type Hook func(grad *Tensor) *Tensor

// RequiresGrad reports whether gradients flow to or through t.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// SetRequiresGrad marks a leaf tensor as a variable whose gradient Backward
// accumulates into Grad, and returns t. Only float leaves can require one.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	if t.node != nil {
		panic(fmt.Sprintf("backprop: SetRequiresGrad: tensor is the result of %s, not a leaf (use Detach)", t.node.op))
	}
	if on {
		t.mustFloat("SetRequiresGrad")
	}
	t.requiresGrad = on
	return t
}

// IsLeaf reports whether t was made by the user rather than by a recorded op.
func (t *Tensor) IsLeaf() bool { return t.node == nil }

// GradFn returns the node that produced t, or nil for a leaf.
func (t *Tensor) GradFn() *Node { return t.node }

// Grad returns the gradient accumulated by Backward: always for leaves that
// require one, and for other tensors after RetainGrad. Nil until then.
func (t *Tensor) Grad() *Tensor {
	if t.gradZero {
		t.grad.fill(0)
		t.gradZero = false
	}
	return t.grad
}

// ZeroGrad zeroes t's accumulated gradient, keeping its buffer so that a
// training loop does not reallocate it every step. The zeroing is deferred:
// the next Backward writes its gradient into the buffer instead of adding
// to zeros (a pass over the buffer saved, and another not made), and Grad
// fills it with zeros if it is asked for first. So a gradient tensor taken
// from Grad before ZeroGrad keeps its old values until then; take it from
// Grad again.
func (t *Tensor) ZeroGrad() {
	if t.grad == nil {
		return
	}
	if t.grad.requiresGrad || !t.grad.IsContiguous() || t.grad.owner != nil {
		t.grad, t.gradZero, t.gradInPlace = nil, false, false
		return
	}
	t.gradZero, t.gradInPlace = true, false
}

// ClearGrad drops t's gradient (PyTorch's zero_grad(set_to_none=True)).
func (t *Tensor) ClearGrad() { t.grad, t.gradZero, t.gradInPlace = nil, false, false }

// SetGrad replaces t's accumulated gradient (nil clears it).
func (t *Tensor) SetGrad(g *Tensor) {
	if g != nil && !slices.Equal(g.shape, t.shape) {
		panic(fmt.Sprintf("backprop: SetGrad: gradient of shape %v for tensor of shape %v", g.shape, t.shape))
	}
	t.grad, t.gradZero, t.gradInPlace = g, false, false
}

// RetainGrad asks Backward to store the gradient of a non-leaf tensor in
// Grad, as it does for leaves. It returns t.
func (t *Tensor) RetainGrad() *Tensor {
	if t.requiresGrad && t.node != nil {
		t.retainGrad = true
	}
	return t
}

// RegisterHook adds a hook that sees (and may replace) t's gradient during
// each backward pass: for a leaf, the total before it is accumulated into
// Grad; otherwise the total before it flows on to t's inputs.
func (t *Tensor) RegisterHook(h Hook) {
	if !t.requiresGrad {
		panic("backprop: RegisterHook: tensor does not require a gradient")
	}
	t.ext().hooks = append(t.ext().hooks, h)
}

// NoGrad returns a view of t's data (shared, not copied) marked so that
// nothing computed from it is recorded: every op with a NoGrad input returns
// a NoGrad result without a node, even when its other inputs (a model's
// parameters) require gradients. It is no-grad mode for inference, carried
// by the data rather than by global or goroutine-local state, so goroutines
// running inference share a model safely while another one trains it.
func (t *Tensor) NoGrad() *Tensor {
	v := t.view(t.shape, t.strides, t.offset)
	v.noGrad = true
	return v
}

// IsNoGrad reports whether t is marked by NoGrad (directly or by being
// computed from such a tensor).
func (t *Tensor) IsNoGrad() bool { return t.noGrad }

// Detach returns a view of t's data that is cut off from the graph: it
// requires no gradient, and gradients do not flow through it. The data is
// shared, not copied.
func (t *Tensor) Detach() *Tensor {
	return t.view(t.shape, t.strides, t.offset)
}

// BackwardOptions control a backward pass.
type BackwardOptions struct {
	// RetainGraph keeps the graph's saved tensors so that another backward
	// pass can run through it. CreateGraph implies it.
	RetainGraph bool
	// CreateGraph records the backward pass itself, so the gradients it
	// returns can be differentiated again (grad of grad, Hessian-vector
	// products).
	CreateGraph bool
}

// Backward computes the gradient of the scalar t with respect to every leaf
// that requires one, starting from dt/dt = 1, and adds it to their Grad.
// The graph is released afterwards.
func (t *Tensor) Backward() { t.BackwardWith(nil, BackwardOptions{}) }

// BackwardWith is Backward with an explicit upstream gradient (required when
// t is not a scalar; nil means ones for a scalar) and options.
func (t *Tensor) BackwardWith(grad *Tensor, opt BackwardOptions) {
	walk([]*Tensor{t}, []*Tensor{grad}, nil, opt)
}

// Gradients returns the gradients of outputs with respect to inputs, like
// torch.autograd.grad: gradOutputs holds each output's upstream gradient
// (nil, or a nil entry, for a scalar output means 1). It does not touch any
// tensor's Grad. An input that the outputs do not depend on gets a zero
// gradient. Only the part of the graph between outputs and inputs runs.
func Gradients(outputs, gradOutputs, inputs []*Tensor, opt BackwardOptions) []*Tensor {
	if len(inputs) == 0 {
		panic("backprop: Gradients: no inputs")
	}
	res := walk(outputs, gradOutputs, inputs, opt)
	for i, r := range res {
		if r == nil {
			res[i] = zerosFor("Gradients", inputs[i])
		}
	}
	return res
}
