package backprop

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Scratch memory of the backward walk: the bookkeeping a node carries
// while a walk runs, and the walk's own state, reused from one walk to the
// next so that a training step's walk allocates none of it.

// nodeScratch is what a Node carries besides the graph: the state of the
// walk in progress, valid while mark is that walk's id, and the scalar
// op's entry in the table of derivatives, set when the node is recorded
// (derivatives.go).
type nodeScratch struct {
	mark    uint64
	pending *Tensor // gradient summed so far for out
	sgrad   float64 // with sHas: more of it, as a number (scalarlane.go)
	owned   bool    // pending is a buffer of this walk's own, safe to add into
	visited bool
	needed  bool // a requested input lies below (Gradients only)
	sHas    bool

	rule    ruleID // the op's entry in the table of derivatives, if any
	lane    bool   // the scalar lane may run n (fitsLane)
	laneF32 bool   // with lane: the values are float32 (else float64)
}

// startScratch makes n's scratch that of walk id, if it is not yet.
func (n *Node) startScratch(id uint64) {
	if n.mark == id {
		return
	}
	if n.pending != nil { // a pointer store costs a write barrier during a collection
		n.pending = nil
	}
	n.mark, n.owned, n.visited, n.sHas = id, false, false, false
}

// walkState is one backward walk: its options, the requested inputs of
// Gradients, and the scratch it fills.
type walkState struct {
	id      uint64
	create  bool // record the backward pass (CreateGraph)
	retain  bool // keep the graph (RetainGraph or CreateGraph)
	want    map[*Tensor]int
	results []*Tensor

	roots  []*Node
	order  []*Node
	stack  []topoFrame
	leaves leafSums

	stackHigh int // the most frames stack held in this walk
	ctx       BackwardContext
}

type topoFrame struct {
	n *Node
	i int
}

var walkStatePool = sync.Pool{New: func() any { return new(walkState) }}

// keptWalk holds one walk's scratch across garbage collections, which
// empty walkStatePool: building a large graph collects several times, and
// without it every backward pass over one would grow its order and stack
// afresh. Only scratch up to keptWalkMax nodes is kept, so at most a few
// MB stay held.
var keptWalk atomic.Pointer[walkState]

const keptWalkMax = 1 << 18

// startWalk begins a walk with the given options, toward the requested
// inputs (Gradients) or, with none, the leaves' Grad.
func startWalk(inputs []*Tensor, opt BackwardOptions) *walkState {
	w := keptWalk.Swap(nil)
	if w == nil {
		w = walkStatePool.Get().(*walkState)
	}
	w.id = walkID.Add(1)
	w.create = opt.CreateGraph
	w.retain = opt.RetainGraph || opt.CreateGraph
	if inputs != nil {
		w.want = make(map[*Tensor]int, len(inputs))
		for i, in := range inputs {
			w.want[in] = i
		}
		w.results = make([]*Tensor, len(inputs))
	}
	w.ctx = BackwardContext{create: w.create, want: w.want, id: w.id}
	return w
}

// end drops every reference the walk holds, so that it keeps no graph
// alive, and keeps its scratch for the next walk.
func (w *walkState) end() {
	w.want, w.results = nil, nil
	clear(w.roots[:cap(w.roots)])
	// Only what this walk used: a kept scratch can be far larger.
	clear(w.order[:len(w.order)])
	clear(w.stack[:w.stackHigh])
	w.stackHigh = 0
	clear(w.leaves.sums[:cap(w.leaves.sums)])
	clear(w.leaves.index)
	w.roots, w.order, w.stack, w.leaves.sums = w.roots[:0], w.order[:0], w.stack[:0], w.leaves.sums[:0]
	w.ctx = BackwardContext{}
	if cap(w.order) <= keptWalkMax && cap(w.stack) <= keptWalkMax && keptWalk.CompareAndSwap(nil, w) {
		return
	}
	walkStatePool.Put(w)
}

// seedAt is the upstream gradient given for output i (nil: 1 for a scalar).
func seedAt(seeds []*Tensor, i int) *Tensor {
	if i < len(seeds) {
		return seeds[i]
	}
	return nil
}

// seed starts the walk at output i with upstream gradient seed.
func (w *walkState) seed(i int, out, seed *Tensor) {
	if !out.requiresGrad {
		panic(fmt.Sprintf("backprop: backward: output %d (shape %v) does not require a gradient: nothing it depends on requires one", i, out.shape))
	}
	if seed == nil {
		if out.Numel() != 1 {
			panic(fmt.Sprintf("backprop: backward: output of shape %v is not a scalar; pass its upstream gradient", out.shape))
		}
		seed = scalarTensor(out, 1)
	} else if !slices.Equal(seed.shape, out.shape) {
		panic(fmt.Sprintf("backprop: backward: upstream gradient of shape %v for output of shape %v", seed.shape, out.shape))
	}
	if !w.create {
		seed = seed.Detach()
	}
	n := out.node
	if n == nil {
		w.leaves.add(out, seed, w.create)
		return
	}
	if n.out == nil {
		panic(releasedMsg(n))
	}
	n.startScratch(w.id)
	n.pending, n.owned = sumGrad(n.pending, n.owned, seed, w.create)
	w.roots = append(w.roots, n)
}

// topoOrder returns the nodes below the walk's outputs, each after every
// node that consumes its output (children first), without recursion so
// that a million-node chain is fine. For Gradients it marks the nodes that
// lead to a requested input.
func (w *walkState) topoOrder() []*Node {
	order := w.order[:0]
	stack := w.stack[:0]
	visit := func(n *Node) {
		n.startScratch(w.id)
		if n.visited {
			return
		}
		n.visited = true
		stack = append(stack, topoFrame{n, 0})
		w.stackHigh = max(w.stackHigh, len(stack))
	}
	for _, r := range w.roots {
		visit(r)
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.i < len(top.n.inputs) {
				in := top.n.inputs[top.i]
				top.i++
				if in.node != nil { // a recorded result always requires a gradient
					visit(in.node)
				}
				continue
			}
			order = append(order, top.n)
			stack = stack[:len(stack)-1]
		}
	}
	w.order, w.stack = order, stack
	if w.want != nil {
		w.markNeeded(order)
	}
	return order
}

// markNeeded marks the nodes that have a requested input below them: only
// those run in Gradients.
func (w *walkState) markNeeded(order []*Node) {
	for _, n := range order { // children before parents
		n.needed = false
		for _, in := range n.inputs {
			if _, ok := w.want[in]; ok || (in.node != nil && in.node.mark == w.id && in.node.needed) {
				n.needed = true
				break
			}
		}
	}
}
