package backprop

import (
	"fmt"
	"slices"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Summing gradients. Where a value fed several ops, the gradients its
// consumers send back are added up (sumGrad); a leaf's total, after its
// hooks, goes into its Grad (accumulateGrad). Both avoid work a plain
// version would do: the first contribution is kept rather than copied, a
// sum adds in place into a buffer the walk owns, and after ZeroGrad the
// next total is written into the old buffer rather than added to zeros.

// takePending returns the gradient summed at n's output so far (numbers
// from the scalar lane included) and clears it, or nil if none reached n.
func (w *walkState) takePending(n *Node) *Tensor {
	if n.sHas { // a number from the lane, needed here as a tensor
		if n.out == nil {
			panic(releasedMsg(n))
		}
		n.pending, n.owned = sumGrad(n.pending, n.owned, scalarTensor(n.out, n.sgrad), w.create)
		n.sHas = false
	}
	g := n.pending
	n.pending = nil
	return g
}

// runHooks gives t's hooks its gradient g, in order, each seeing what the
// one before returned, and returns the result.
func runHooks(t, g *Tensor) *Tensor {
	for _, h := range t.hooks() {
		if r := h(g); r != nil {
			checkHookGrad(r, t)
			g = r
		}
	}
	return g
}

// storeLeaves ends the walk at the leaves: each leaf's total, after its
// hooks, goes to its Grad or, for Gradients, into the results.
func (w *walkState) storeLeaves() []*Tensor {
	for i := range w.leaves.sums {
		sum := &w.leaves.sums[i]
		if sum.sHas {
			sum.g, sum.owned = sumGrad(sum.g, sum.owned, scalarTensor(sum.leaf, sum.s), w.create)
		}
		leaf := sum.leaf
		g := runHooks(leaf, sum.g)
		if w.want == nil {
			leaf.accumulateGrad(g, w.create)
		} else if k, ok := w.want[leaf]; ok {
			w.results[k] = g
		}
	}
	return w.results
}

// sumGrad sums gradient contributions where a value fed several ops. The
// first contribution is kept as it is (it may be shared: Add hands the same
// gradient to both inputs); the second makes a buffer the walk owns, and
// later ones add into it in place. With a graph to build, every sum is a
// recorded Add instead.
func sumGrad(acc *Tensor, owned bool, g *Tensor, create bool) (*Tensor, bool) {
	switch {
	case acc == nil:
		return g, false
	case create:
		return acc.Add(g), false
	case owned && equalShape(acc.shape, g.shape):
		addInPlace(acc, g)
		return acc, true
	default:
		return acc.Add(g), true
	}
}

// accumulateGrad adds g to t's stored gradient. Without a graph to build
// it adds in place into a buffer t owns (or, after ZeroGrad, copies into
// it). The stored gradient never lives in a Pool: it outlives the step, so
// a gradient computed in one is copied out.
func (t *Tensor) accumulateGrad(g *Tensor, create bool) {
	if t.gradInPlace {
		// This walk wrote its first contribution straight into the buffer
		// (leafGradBuffer), so g, the walk's sum for t, is the buffer
		// itself or a sum that already counts it.
		t.gradInPlace = false
		if g != t.grad {
			unaryInto(t.grad, g, kernels.CopyRun[float32], kernels.CopyRun[float64])
		}
		return
	}
	dst := t.grad
	if t.gradZero {
		dst, t.gradZero = nil, false
	}
	if create {
		if dst != nil {
			g = dst.Add(g)
		}
		t.grad = outOfPool(g)
		return
	}
	switch {
	case t.grad != nil && dst == nil && t.grad.dtype == g.dtype && equalShape(t.grad.shape, g.shape):
		unaryInto(t.grad, g, kernels.CopyRun[float32], kernels.CopyRun[float64]) // after ZeroGrad: the buffer is free
	case dst == nil || dst.requiresGrad || !dst.IsContiguous() || dst.owner != nil:
		own := empty(g.dtype, g.shape)
		unaryInto(own, g, kernels.CopyRun[float32], kernels.CopyRun[float64])
		if dst != nil {
			own = own.Add(dst.Detach())
		}
		t.grad = own
	default:
		addInPlace(dst, g)
	}
}

// outOfPool returns t, or when its storage comes from a pool or it is
// marked with one, a heap copy recorded as an identity op (so that a
// gradient built with CreateGraph stays differentiable).
func outOfPool(t *Tensor) *Tensor {
	if t.owner == nil && t.pool == nil {
		return t
	}
	out := empty(t.dtype, t.shape)
	out.copyFrom(t.contiguousData())
	return record("Clone", out, []*Tensor{t}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g)
	})
}

// leafGradBuffer returns the gradient buffer of input i when the op may
// write that input's gradient straight into it, and return it, instead of
// computing it into a new tensor that the engine then copies there: input i
// is a leaf whose buffer ZeroGrad freed, the walk accumulates into Grad
// (Backward without CreateGraph), and no hook is to see its gradient. Other
// contributions to the same leaf, before or after, are summed with it as
// usual (the sum is a new tensor, copied into the buffer at the end). It
// returns nil otherwise.
func (c *BackwardContext) leafGradBuffer(i int) *Tensor {
	in := c.n.inputs[i]
	if c.create || c.want != nil || in.node != nil || !in.requiresGrad || !in.gradZero {
		return nil
	}
	gr := in.grad
	if gr.dtype != in.dtype || !gr.IsContiguous() || gr.owner != nil || gr.requiresGrad || len(in.hooks()) > 0 {
		return nil
	}
	in.gradZero, in.gradInPlace = false, true
	return gr
}

// gradSum is a gradient being summed over the uses of a leaf.
type gradSum struct {
	leaf  *Tensor
	g     *Tensor
	owned bool
	sHas  bool    // s holds more of the gradient, as a number
	s     float64 // from the scalar lane
}

// leafSums are the gradients of the leaves a walk reaches, in the order it
// first reaches them.
type leafSums struct {
	index map[*Tensor]int
	sums  []gradSum
}

func (l *leafSums) add(leaf, g *Tensor, create bool) {
	if i := l.find(leaf); i >= 0 {
		acc := &l.sums[i]
		acc.g, acc.owned = sumGrad(acc.g, acc.owned, g, create)
		return
	}
	l.push(gradSum{leaf: leaf, g: g})
}

// addScalar adds v, a one-element leaf's gradient from the scalar lane.
func (l *leafSums) addScalar(leaf *Tensor, v float64) {
	if i := l.find(leaf); i >= 0 {
		acc := &l.sums[i]
		acc.s, acc.sHas = addScalar(acc.s, acc.sHas, v, leaf.dtype), true
		return
	}
	l.push(gradSum{leaf: leaf, s: v, sHas: true})
}

func (l *leafSums) push(sum gradSum) {
	leaf := sum.leaf
	l.sums = append(l.sums, sum)
	switch n := len(l.sums); {
	case n == leafScan+1: // outgrew the scan: index every leaf so far
		if l.index == nil {
			l.index = make(map[*Tensor]int)
		}
		for i := range l.sums {
			l.index[l.sums[i].leaf] = i
		}
	case n > leafScan+1:
		l.index[leaf] = n - 1
	}
}

// leafScan is how many leaves a walk finds by scanning its sums rather than
// through the map: few leaves (scalar graphs, small models) are looked up on
// every edge into them, and a short scan costs less than hashing.
const leafScan = 8

// find returns the index of leaf's sum, or -1.
func (l *leafSums) find(leaf *Tensor) int {
	if len(l.sums) <= leafScan {
		for i := range l.sums {
			if l.sums[i].leaf == leaf {
				return i
			}
		}
		return -1
	}
	if i, ok := l.index[leaf]; ok {
		return i
	}
	return -1
}

func checkHookGrad(r, t *Tensor) {
	if !slices.Equal(r.shape, t.shape) || r.dtype != t.dtype {
		panic(fmt.Sprintf("backprop: hook returned a %v gradient of shape %v for a %v tensor of shape %v", r.dtype, r.shape, t.dtype, t.shape))
	}
}
