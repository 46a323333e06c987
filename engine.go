package backprop

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// The engine's core: a node per recorded op, and the walk that sends
// gradients back through them. Everything that only makes it faster lives
// elsewhere, behind the small calls below: scratch reuse and the
// topological order (scratch.go), summing gradients and storing them in
// leaves (accumulate.go), the scalar lane (scalarlane.go) and the
// table of derivatives with the rules' fused twins (derivatives.go).

// Node is one recorded operation: what it was, the tensors it read, and the
// function that turns the gradient of its output into gradients for those
// inputs (a vector-Jacobian product). The graph is plain data: pictures,
// the grad table and the explorer all read it through Op, Inputs and VJP.
type Node struct {
	op       string
	inputs   []*Tensor
	inbuf    [2]*Tensor // inputs usually point here, saving an allocation
	saved    []*Tensor
	out      *Tensor // nil once released
	backward BackwardFunc

	nodeScratch // the walk's bookkeeping and the op's table entry (scratch.go)
}

// BackwardFunc turns grad, the gradient of the loss with respect to an op's
// output, into gradients with respect to each of the op's inputs: local
// gradient times upstream gradient. It returns one entry per input (nil where
// none is needed or possible). Entries may have the output's broadcast
// shape: the engine sums them down to the input's shape, and sums where an
// input fed several ops, so a BackwardFunc never does either.
//
// It must compute with the tensors the context hands out (Input, Output,
// Saved), not with tensors captured from the forward pass: the context
// returns detached copies when no graph is to be built, which keeps the
// backward pass from recording, and live ones when CreateGraph is set, which
// makes the gradient itself differentiable.
type BackwardFunc func(c *BackwardContext, grad *Tensor) []*Tensor

// record makes out the result of op applied to inputs, if any input requires
// a gradient; otherwise it returns out untouched, so inference and constant
// folding cost no graph.
func record(op string, out *Tensor, inputs []*Tensor, bw BackwardFunc) *Tensor {
	return recordSaved(op, out, inputs, nil, bw)
}

// recordSaved is record with extra tensors the backward reads (Saved).
func recordSaved(op string, out *Tensor, inputs []*Tensor, saved []*Tensor, bw BackwardFunc) *Tensor {
	spare := out.takeSpareNode()
	if !needsNode(out, inputs, saved) {
		return out
	}
	n := spare
	if n == nil {
		n = new(Node)
	}
	// n is fresh (zero): setting fields one by one spares a typed copy of
	// the whole struct, which during a collection is a write barrier per
	// pointer word.
	n.op, n.backward, n.out = op, bw, out
	switch len(inputs) { // element stores: copy would take the bulk write-barrier path
	case 1:
		n.inbuf[0] = inputs[0]
		n.inputs = n.inbuf[:1]
	case 2:
		n.inbuf[0], n.inbuf[1] = inputs[0], inputs[1]
		n.inputs = n.inbuf[:2]
	default:
		n.inputs = slices.Clone(inputs)
	}
	if len(saved) > 0 {
		n.saved = slices.Clone(saved)
	}
	out.node = n
	out.requiresGrad = true
	checkRecorded(n)
	return out
}

// needsNode reports whether out, computed from inputs (and saved), gets a
// node: some input requires a gradient and none is NoGrad. A NoGrad input
// makes out NoGrad too.
func needsNode(out *Tensor, inputs, saved []*Tensor) bool {
	for _, sv := range saved { // an index computed in no-grad mode, say
		if sv != nil && sv.noGrad {
			out.noGrad = true
			return false
		}
	}
	return recording(out, inputs...)
}

// checkRecorded runs right after an op's node is recorded, with its output
// computed: the place for checks of every op's forward result.
func checkRecorded(n *Node) {}

// recording reports whether record would attach a node to out for these
// inputs (no saved tensors). When it would not, it marks out as record
// would, so an op can return out at once without building its backward
// closure: inference and no-graph backward passes then allocate none.
func recording(out *Tensor, inputs ...*Tensor) bool {
	need := false
	for _, in := range inputs {
		if in.noGrad {
			out.noGrad = true
			return false
		}
		need = need || in.requiresGrad
	}
	return need
}

var walkID atomic.Uint64

// walk is backpropagation. It orders the graph below outputs so that every
// node comes after all its consumers, then, from the outputs down to the
// leaves, gives each node the gradient summed at its output and lets its
// backward turn that into gradients for its inputs. With inputs it collects
// their gradients and returns them; without, it accumulates into the
// leaves' Grad.
func walk(outputs, seeds, inputs []*Tensor, opt BackwardOptions) []*Tensor {
	w := startWalk(inputs, opt)
	defer w.end()
	for i, out := range outputs {
		w.seed(i, out, seedAt(seeds, i))
	}
	order := w.topoOrder() // consumers after their inputs
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if w.inLane(n) {
			w.laneStep(n) // the same chain rule, on plain numbers (scalarlane.go)
			continue
		}
		g := w.upstream(n) // the gradient summed at n's output
		if g == nil {
			continue
		}
		grads := w.callBackward(n, g) // local gradient times upstream gradient
		for j, in := range n.inputs {
			if gi := w.inputGrad(n, j, grads); gi != nil {
				w.send(in, gi) // summed with what in's other consumers send
			}
		}
		w.finish(n)
	}
	return w.storeLeaves()
}

// upstream takes the gradient summed at n's output, runs its hooks and
// keeps it where asked (RetainGrad, a requested tensor). It returns nil
// when nothing reached n, or when n leads to no requested input.
func (w *walkState) upstream(n *Node) *Tensor {
	g := w.takePending(n)
	if g == nil {
		return nil
	}
	out := n.out
	if out == nil { // released by an earlier pass
		if w.want != nil && !n.needed {
			return nil
		}
		panic(releasedMsg(n))
	}
	g = runHooks(out, g)
	if w.want == nil {
		if out.retainGrad {
			out.accumulateGrad(g, w.create)
		}
		return g
	}
	if k, ok := w.want[out]; ok {
		w.results[k] = g
	}
	if !n.needed {
		return nil
	}
	return g
}

// callBackward applies n's local gradient to g.
func (w *walkState) callBackward(n *Node, g *Tensor) []*Tensor {
	c := &w.ctx
	c.n = n
	grads := backwardOf(n, w.create)(c, g)
	checkGrads(n, grads)
	return grads
}

// checkGrads runs after each node's backward, on the gradients it
// returned (one per input, nil where none): the place for checks of every
// op's backward result.
func checkGrads(n *Node, grads []*Tensor) {}

// inputGrad returns the gradient grads gives input j of n, summed down to
// the input's shape, or nil when there is none or it needs none.
func (w *walkState) inputGrad(n *Node, j int, grads []*Tensor) *Tensor {
	if j >= len(grads) || grads[j] == nil || !w.ctx.NeedsGrad(j) {
		return nil
	}
	in := n.inputs[j]
	gi := sumToShape(grads[j], in.shape)
	if gi.dtype != in.dtype {
		panic(fmt.Sprintf("backprop: backward of %s gave a %v gradient for %v input %d", n.op, gi.dtype, in.dtype, j))
	}
	if !w.create && gi.requiresGrad {
		gi = gi.Detach()
	}
	return gi
}

// send adds g to what in has received so far: the pending sum of the node
// that made it, or for a leaf, its sum in this walk.
func (w *walkState) send(in, g *Tensor) {
	if m := in.node; m != nil {
		if m.mark == w.id { // below the outputs, so it runs later in this walk
			m.pending, m.owned = sumGrad(m.pending, m.owned, g, w.create)
		}
		return
	}
	w.leaves.add(in, g, w.create)
}

// finish frees n's saved tensors unless the graph is to be kept.
func (w *walkState) finish(n *Node) {
	if !w.retain {
		n.release()
	}
}

func (n *Node) release() {
	n.inputs = nil
	n.inbuf = [2]*Tensor{}
	n.saved = nil
	n.out = nil
	n.backward = nil
}

func releasedMsg(n *Node) string {
	return fmt.Sprintf("backprop: backward through the graph a second time: the saved tensors of %s were freed by an earlier backward pass (pass RetainGraph to the first one)", n.op)
}
