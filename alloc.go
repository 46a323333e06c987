package backprop

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Allocation. Every tensor the package computes comes from alloc: one
// header (which holds short shapes and strides, and a one-element tensor's
// value, so a scalar costs one allocation), optionally a graph node in the
// same allocation, and storage from the heap or from a Pool's arena
// (arena.go). Views (view) share storage and allocate only a header.

// allocOpts name what a caller of alloc asks for beyond dtype and shape.
type allocOpts struct {
	// zero: the storage reads as zeros. Without it the caller writes every
	// element, and storage reused from a pool keeps old values until then.
	// (Fresh heap storage is zeros either way.)
	zero bool
	// node: a spare Node shares the header's allocation, for an op that
	// knows before computing that it will record; recordSaved takes it.
	// This saves an allocation per op, which dominates the cost of scalar
	// graphs.
	node bool
	// slab: with node, a one-element float result may come from a scalar
	// slab. Only for results whose inputs pass scalarSlabInput.
	slab bool
}

// alloc returns a contiguous tensor of dtype dt and the given shape, its
// storage from p (the heap when p is nil), marked with p. It panics on a
// shape with a negative axis.
func alloc(p *Pool, dt DType, shape []int, o allocOpts) *Tensor {
	if !validShape(shape) {
		// A copy in the message, so that shape itself does not escape and
		// callers can build it on their stack.
		panic(fmt.Sprintf("backprop: invalid shape %v", cloneInts(shape)))
	}
	n := numel(shape)
	inline := n == 1 && dt != Int64
	t := newHeader(o.node, o.slab && o.node && inline)
	t.dtype = dt
	t.setContiguous(shape)
	if p != nil {
		// Even a scalar, whose value lives in its header, is computed in p:
		// dead after Reset like the rest.
		t.pool, t.owner, t.gen = p, p, p.gen.Load()
	}
	switch {
	case inline:
		t.useInline()
	case p != nil && n > 1:
		t.takeStorage(p, n, o.zero)
	default:
		t.makeStorage(n)
	}
	return t
}

// empty returns zeros of dtype dt and the given shape, on the heap.
func empty(dt DType, shape []int) *Tensor { return alloc(nil, dt, shape, allocOpts{zero: true}) }

// newIn returns zeros of dtype dt and the given shape, in p (see alloc).
func newIn(p *Pool, dt DType, shape []int) *Tensor {
	return alloc(p, dt, shape, allocOpts{zero: true})
}

// rawIn is newIn for a result whose every element the caller writes:
// storage reused from the pool is not zeroed first.
func rawIn(p *Pool, dt DType, shape []int) *Tensor { return alloc(p, dt, shape, allocOpts{}) }

// makeStorage gives t n fresh elements on the heap.
func (t *Tensor) makeStorage(n int) {
	switch t.dtype {
	case Float32:
		t.f32 = make([]float32, n)
	case Float64:
		t.f64 = make([]float64, n)
	case Int64:
		t.i64 = make([]int64, n)
	default:
		panic(fmt.Sprintf("backprop: unknown dtype %d", int(t.dtype)))
	}
}

// takeStorage gives t n elements from p's arena, zeroed if zero is set.
func (t *Tensor) takeStorage(p *Pool, n int, zero bool) {
	switch t.dtype {
	case Float32:
		t.f32 = take(p, &p.f32, n, zero, 4)
	case Float64:
		t.f64 = take(p, &p.f64, n, zero, 8)
	case Int64:
		t.i64 = take(p, &p.i64, n, zero, 8)
	default:
		panic(fmt.Sprintf("backprop: unknown dtype %v", t.dtype))
	}
}

// useInline makes a one-element float tensor's storage its header's.
func (t *Tensor) useInline() {
	t.one[0] = 0
	if t.dtype == Float32 {
		t.f32 = unsafe.Slice((*float32)(unsafe.Pointer(&t.one[0])), 1)
	} else {
		t.f64 = t.one[:]
	}
}

// tensorNode is an op result and its graph node in one allocation (see
// allocOpts.node).
type tensorNode struct {
	t Tensor
	n Node
}

// newHeader allocates a tensor header; withNode puts a spare Node beside
// it, from the current scalar slab when fromSlab is set.
func newHeader(withNode, fromSlab bool) *Tensor {
	switch {
	case fromSlab:
		return newSlabHeader()
	case withNode:
		tn := new(tensorNode)
		tn.t.spareNode = true
		return &tn.t
	}
	return new(Tensor)
}

// scalarSlab is a block of tensorNodes for the one-element results of
// elementwise ops on scalars: scalar graphs make one such result per op,
// and taking them from a block saves most of the cost of allocating each
// on its own. A block stays alive while any of its entries is referenced,
// so only results whose inputs are slab entries or leaves that hold their
// own value go there (scalarSlabInput): a block then keeps nothing alive
// but scalars, never a neighbour's activations.
type scalarSlab struct {
	next  atomic.Int32
	nodes [63]tensorNode // 63, not 64: with the counter the block fills a 24 KiB size class
}

var curScalarSlab atomic.Pointer[scalarSlab]

// newSlabHeader is newHeader(true, false) from the current scalar slab.
func newSlabHeader() *Tensor {
	for {
		s := curScalarSlab.Load()
		if s != nil {
			if i := int(s.next.Add(1)) - 1; i < len(s.nodes) {
				tn := &s.nodes[i]
				tn.t.spareNode, tn.t.inSlab = true, true
				return &tn.t
			}
		}
		ns := new(scalarSlab)
		ns.next.Store(1)
		if curScalarSlab.CompareAndSwap(s, ns) {
			tn := &ns.nodes[0]
			tn.t.spareNode, tn.t.inSlab = true, true
			return &tn.t
		}
	}
}

// scalarSlabInput reports whether t may feed a result taken from a scalar
// slab: a slab entry itself, or a leaf whose one value is stored inline.
func scalarSlabInput(t *Tensor) bool {
	if t.inSlab {
		return true
	}
	if t.node != nil {
		return false
	}
	switch t.dtype {
	case Float64:
		return len(t.f64) == 1 && &t.f64[0] == &t.one[0]
	case Float32:
		return len(t.f32) == 1 && unsafe.Pointer(&t.f32[0]) == unsafe.Pointer(&t.one[0])
	}
	return false
}

// takeSpareNode returns t's spare node (nil if it has none) and forgets it,
// so that no header copied from t later claims it.
func (t *Tensor) takeSpareNode() *Node {
	if !t.spareNode {
		return nil
	}
	t.spareNode = false
	// t was allocated as the first field of a tensorNode by newHeader.
	return &(*tensorNode)(unsafe.Pointer(t)).n
}
