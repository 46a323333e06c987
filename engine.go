package backprop

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Node is one recorded operation: what it was, the tensors it read, and the
// function that turns the gradient of its output into gradients for those
// inputs (a vector-Jacobian product). The graph is plain data: pictures,
// the grad table and the explorer all read it through Op, Inputs and VJP.
type Node struct {
	op       string
	inputs   []*Tensor
	inbuf    [2]*Tensor // inputs usually point here, saving an allocation
	saved    []*Tensor
	out      *Tensor
	backward BackwardFunc

	// Scratch space of one backward walk, valid while mark == that walk's id.
	mark    uint64
	pending *Tensor // gradient summed so far for out
	sgrad   float64 // with sHas: more of it, as a number (scalarlane.go)
	owned   bool    // pending is a buffer of this walk's own, safe to add into
	visited bool
	needed  bool // a requested input lies below (Gradients only)
	sHas    bool

	rule     scalarRule // closed-form one-element backward, if any
	laneF32  bool       // with rule: the values are float32 (else float64)
	released bool
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

// leafGradBuffer returns the gradient buffer of input i when the op may
// write that input's gradient straight into it, and return it, instead of
// computing it into a new tensor that the engine then copies there: input i
// is a leaf whose buffer ZeroGrad freed, the walk accumulates into Grad
// (Backward without CreateGraph), and no hook is to see its gradient. Other
// contributions to the same leaf, before or after, are summed with it as
// usual (the sum is a new tensor, copied into the buffer at the end). It
// returns nil otherwise.
func (c *BackwardContext) leafGradBuffer(i int) *Tensor { return claimLeafBuffer(c, i) }

// CreateGraph reports whether this backward pass records a graph of its own.
func (c *BackwardContext) CreateGraph() bool { return c.create }

// Op is the operation's name ("Add", "MatMul", ...).
func (n *Node) Op() string { return n.op }

// Inputs returns the tensors the op read. After a backward pass that did not
// retain the graph the list is empty: the node has been released.
func (n *Node) Inputs() []*Tensor { return slices.Clone(n.inputs) }

// Output returns the tensor the op produced, or nil once released.
func (n *Node) Output() *Tensor { return n.out }

// Released reports whether a backward pass has freed this node.
func (n *Node) Released() bool { return n.released }

// VJP applies the node's backward function to grad without recording and
// returns a gradient for every float input, reduced to the input's shape.
// With grad = 1 on a scalar op it gives the local gradients that the grad
// table prints.
func (n *Node) VJP(grad *Tensor) []*Tensor {
	if n.released {
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

// record makes out the result of op applied to inputs, if any input requires
// a gradient; otherwise it returns out untouched, so inference and constant
// folding cost no graph.
func record(op string, out *Tensor, inputs []*Tensor, bw BackwardFunc) *Tensor {
	return recordSaved(op, out, inputs, nil, bw)
}

func recordSaved(op string, out *Tensor, inputs []*Tensor, saved []*Tensor, bw BackwardFunc) *Tensor {
	spare := out.takeSpareNode()
	for _, sv := range saved { // an index computed in no-grad mode, say
		if sv != nil && sv.noGrad {
			out.noGrad = true
			return out
		}
	}
	need := false
	for _, in := range inputs {
		if in.noGrad {
			out.noGrad = true
			return out
		}
		if in.requiresGrad {
			need = true
		}
	}
	if !need {
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
	if anomalyMode.Load() {
		anomalyRecorded(n)
	}
	return out
}

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

// Record attaches a custom op to the graph: out is the result of the op
// called name on inputs, computed by the caller without recording (on
// detached inputs), and bw is its backward. saved lists any other tensors bw
// needs, available as c.Saved(i). If no input requires a gradient, out is
// returned as it is. See examples/customop.
func Record(name string, out *Tensor, inputs []*Tensor, saved []*Tensor, bw BackwardFunc) *Tensor {
	if out.node != nil || out.requiresGrad {
		panic(fmt.Sprintf("backprop: Record(%s): output already belongs to a graph; compute it from detached inputs", name))
	}
	return recordSaved(name, out, inputs, saved, checkedBackward("Record("+name+")", len(inputs), bw))
}

// Hook sees the gradient of a tensor during backward. It may return a
// replacement gradient of the same shape, or nil to leave it as it is.
type Hook func(grad *Tensor) *Tensor

// RequiresGrad reports whether gradients flow to or through t.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// SetRequiresGrad marks a leaf tensor as a variable whose gradient Backward
// accumulates into Grad, and returns t. Only float leaves can require one.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	t.mustTensor("SetRequiresGrad")
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
	t.mustTensor("NoGrad")
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
	t.mustTensor("Detach")
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

var walkID atomic.Uint64

// walk is the engine: it orders the graph below outputs so that every node
// comes after all its consumers, then sends gradients from the outputs back
// to the leaves, one node at a time. With inputs it collects their gradients
// and returns them; without, it accumulates into the leaves' Grad.
func walk(outputs, seeds, inputs []*Tensor, opt BackwardOptions) []*Tensor {
	id := walkID.Add(1)
	anomaly := anomalyMode.Load() // checks every gradient; no scalar lane
	create := opt.CreateGraph
	retain := opt.RetainGraph || create

	// Seed the outputs.
	ws := getWalkScratch()
	defer ws.put()
	leaves := &ws.leaves
	roots := ws.roots[:0]
	for i, out := range outputs {
		var seed *Tensor
		if i < len(seeds) {
			seed = seeds[i]
		}
		out.mustTensor("Backward")
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
		if !create {
			seed = seed.Detach()
		}
		if out.node == nil {
			leaves.add(out, seed, create)
			continue
		}
		n := out.node
		if n.released {
			panic(releasedMsg(n))
		}
		if n.mark != id {
			n.mark, n.pending, n.owned, n.visited, n.sHas = id, nil, false, false, false
		}
		n.pending, n.owned = addGrad(n.pending, n.owned, seed, create)
		roots = append(roots, n)
	}

	// Requested inputs, by tensor.
	var want map[*Tensor]int
	results := make([]*Tensor, len(inputs))
	if inputs != nil {
		want = make(map[*Tensor]int, len(inputs))
		for i, in := range inputs {
			want[in] = i
		}
	}

	ws.roots = roots
	order := topoOrder(ws, roots, id)

	// With requested inputs, run only nodes that have one below them.
	if want != nil {
		for _, n := range order { // children before parents
			n.needed = false
			for _, in := range n.inputs {
				if _, ok := want[in]; ok || (in.node != nil && in.node.mark == id && in.node.needed) {
					n.needed = true
					break
				}
			}
		}
	}

	ctx := &ws.ctx
	*ctx = BackwardContext{create: create, want: want, id: id}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if (n.sHas || n.pending != nil) && want == nil && !anomaly && inLane(n, create) {
			laneStep(n, leaves, id, retain)
			continue
		}
		if n.sHas { // a number from the lane, needed here as a tensor
			if n.released {
				panic(releasedMsg(n))
			}
			n.pending, n.owned = addGrad(n.pending, n.owned, scalarTensor(n.out, n.sgrad), create)
			n.sHas = false
		}
		g := n.pending
		n.pending = nil
		if g == nil {
			continue
		}
		out := n.out
		if out != nil {
			for _, h := range out.hooks() {
				if r := h(g); r != nil {
					checkHookGrad(r, out)
					g = r
				}
			}
			if want != nil {
				if k, ok := want[out]; ok {
					results[k] = g
				}
			} else if out.retainGrad {
				out.accumulateGrad(g, create)
			}
		}
		if want != nil && !n.needed {
			continue
		}
		if n.released {
			panic(releasedMsg(n))
		}
		ctx.n = n
		gs := n.backward(ctx, g)
		if anomaly {
			anomalyBackward(ctx, n, g, gs)
		}
		for j, in := range n.inputs {
			if j >= len(gs) || gs[j] == nil || !ctx.NeedsGrad(j) {
				continue
			}
			gi := sumToShape(gs[j], in.shape)
			if gi.dtype != in.dtype {
				panic(fmt.Sprintf("backprop: backward of %s gave a %v gradient for %v input %d", n.op, gi.dtype, in.dtype, j))
			}
			if !create && gi.requiresGrad {
				gi = gi.Detach()
			}
			if in.node != nil {
				m := in.node
				if m.mark == id {
					m.pending, m.owned = addGrad(m.pending, m.owned, gi, create)
				}
				continue
			}
			leaves.add(in, gi, create)
		}
		if !retain {
			n.release()
		}
	}

	for i := range leaves.sums {
		sum := &leaves.sums[i]
		if sum.sHas {
			sum.g, sum.owned = addGrad(sum.g, sum.owned, scalarTensor(sum.leaf, sum.s), create)
		}
		leaf, g := sum.leaf, sum.g
		for _, h := range leaf.hooks() {
			if r := h(g); r != nil {
				checkHookGrad(r, leaf)
				g = r
			}
		}
		if want != nil {
			if k, ok := want[leaf]; ok {
				results[k] = g
			}
			continue
		}
		accumulateLeaf(leaf, g, create, id) // leaves may be shared with concurrent walks
	}
	if want == nil {
		return nil
	}
	return results
}

func releasedMsg(n *Node) string {
	return fmt.Sprintf("backprop: backward through the graph a second time: the saved tensors of %s were freed by an earlier backward pass (pass RetainGraph to the first one)", n.op)
}

func checkHookGrad(r, t *Tensor) {
	if !slices.Equal(r.shape, t.shape) || r.dtype != t.dtype {
		panic(fmt.Sprintf("backprop: hook returned a %v gradient of shape %v for a %v tensor of shape %v", r.dtype, r.shape, t.dtype, t.shape))
	}
}

func (n *Node) release() {
	n.released = true
	n.inputs = nil
	n.inbuf = [2]*Tensor{}
	n.saved = nil
	n.out = nil
	n.backward = nil
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
		acc.g, acc.owned = addGrad(acc.g, acc.owned, g, create)
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

// walkScratch is what a backward walk needs besides the graph, kept from
// one walk to the next (a training step's walk then allocates none of it).
type walkScratch struct {
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

var walkScratchPool = sync.Pool{New: func() any { return new(walkScratch) }}

// keptScratch holds one walk's scratch across garbage collections, which
// empty walkScratchPool: building a large graph collects several times, and
// without it every backward pass over one would grow its order and stack
// afresh. Only scratch up to keptScratchMax nodes is kept, so at most a few
// MB stay held.
var keptScratch atomic.Pointer[walkScratch]

const keptScratchMax = 1 << 18

func getWalkScratch() *walkScratch {
	if w := keptScratch.Swap(nil); w != nil {
		return w
	}
	return walkScratchPool.Get().(*walkScratch)
}

// put drops every reference the scratch holds, so that it keeps no graph
// alive, and returns it for the next walk.
func (w *walkScratch) put() {
	clear(w.roots[:cap(w.roots)])
	// Only what this walk used: a kept scratch can be far larger.
	clear(w.order[:len(w.order)])
	clear(w.stack[:w.stackHigh])
	w.stackHigh = 0
	clear(w.leaves.sums[:cap(w.leaves.sums)])
	clear(w.leaves.index)
	w.roots, w.order, w.stack, w.leaves.sums = w.roots[:0], w.order[:0], w.stack[:0], w.leaves.sums[:0]
	w.ctx = BackwardContext{}
	if cap(w.order) <= keptScratchMax && cap(w.stack) <= keptScratchMax && keptScratch.CompareAndSwap(nil, w) {
		return
	}
	walkScratchPool.Put(w)
}

// addGrad sums gradient contributions where a value fed several ops. The
// first contribution is kept as it is (it may be shared: Add hands the same
// gradient to both inputs); the second makes a buffer the walk owns, and
// later ones add into it in place. With a graph to build, every sum is a
// recorded Add instead.
func addGrad(acc *Tensor, owned bool, g *Tensor, create bool) (*Tensor, bool) {
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

// topoOrder returns the nodes below roots, each after every node that
// consumes its output (children first), without recursion so that a
// million-node chain is fine.
func topoOrder(ws *walkScratch, roots []*Node, id uint64) []*Node {
	order := ws.order[:0]
	stack := ws.stack[:0]
	visit := func(n *Node) {
		if n.mark != id {
			if n.pending != nil { // a pointer store costs a write barrier during a collection
				n.pending = nil
			}
			n.mark, n.owned, n.visited, n.sHas = id, false, false, false
		}
		if n.visited {
			return
		}
		n.visited = true
		stack = append(stack, topoFrame{n, 0})
		ws.stackHigh = max(ws.stackHigh, len(stack))
	}
	for _, r := range roots {
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
	ws.order, ws.stack = order, stack
	return order
}
