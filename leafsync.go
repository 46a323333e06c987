package backprop

import (
	"sync"
	"unsafe"
)

// Concurrent backward passes over graphs that share leaves.
//
// Two walks touch a shared leaf in only two places: at the end, when each
// adds its sum for the leaf into the leaf's Grad (accumulateLeaf), and in
// the middle, when an op claims the leaf's freed gradient buffer to write
// its gradient straight into it (claimLeafBuffer, for Linear's weight
// after ZeroGrad). Both take the leaf's lock, one of a fixed set of
// mutexes chosen by the leaf's address: a single-threaded walk pays one
// uncontended lock per leaf it reaches, and walks over different models
// rarely meet on a lock.
//
// A claim makes the buffer the claiming walk's until that walk's own
// accumulation: another walk that finishes first must not add into a
// buffer still being written, so it leaves its sum with the claim (a copy:
// its own may live in a pool or be shared), and the claimer adds those
// after its own. Nothing waits, so no set of walks can deadlock.

type leafStripe struct {
	mu     sync.Mutex
	claims []leafClaim // leaves of this stripe whose buffer a walk is writing
	_      [64]byte    // keeps neighbouring stripes off one cache line
}

type leafClaim struct {
	leaf    *Tensor
	walk    uint64    // the walk's id
	handoff []*Tensor // other walks' sums for leaf, to add after the claimer's
}

var leafStripes [64]leafStripe

func stripeOf(t *Tensor) *leafStripe {
	h := uint64(uintptr(unsafe.Pointer(t))) * 0x9e3779b97f4a7c15
	return &leafStripes[h>>58]
}

func (s *leafStripe) find(leaf *Tensor) int {
	for i := range s.claims {
		if s.claims[i].leaf == leaf {
			return i
		}
	}
	return -1
}

func (s *leafStripe) remove(i int) {
	last := len(s.claims) - 1
	s.claims[i] = s.claims[last]
	s.claims[last] = leafClaim{}
	s.claims = s.claims[:last]
}

// claimLeafBuffer is BackwardContext.leafGradBuffer: the gradient buffer
// of input i, claimed for this walk, when the op may write that input's
// gradient straight into it and return it; nil otherwise.
func claimLeafBuffer(c *BackwardContext, i int) *Tensor {
	in := c.n.inputs[i]
	if c.create || c.want != nil || in.node != nil || !in.requiresGrad || len(in.hooks()) > 0 {
		return nil
	}
	s := stripeOf(in)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !in.gradZero {
		return nil
	}
	gr := in.grad
	if gr.dtype != in.dtype || !gr.IsContiguous() || gr.owner != nil || gr.requiresGrad {
		return nil
	}
	in.gradZero, in.gradInPlace = false, true
	claim := leafClaim{leaf: in, walk: c.id}
	if k := s.find(in); k >= 0 { // left by a walk that panicked
		s.claims[k] = claim
	} else {
		s.claims = append(s.claims, claim)
	}
	return gr
}

// accumulateLeaf adds g, walk's sum for leaf, into leaf's Grad.
func accumulateLeaf(leaf, g *Tensor, create bool, walk uint64) {
	s := stripeOf(leaf)
	s.mu.Lock()
	defer s.mu.Unlock()
	if leaf.gradInPlace {
		if k := s.find(leaf); k >= 0 {
			c := &s.claims[k]
			if c.walk != walk {
				c.handoff = append(c.handoff, heapCopy(g))
				return
			}
			handoff := c.handoff
			s.remove(k)
			leaf.accumulateGrad(g, create)
			for _, h := range handoff {
				leaf.accumulateGrad(h, false)
			}
			return
		}
	}
	leaf.accumulateGrad(g, create)
}

// releaseClaims ends the claims of a walk that stops before its
// accumulation (anomaly mode): its partial gradients are dropped, the other
// walks' sums it was holding are kept.
func releaseClaims(walk uint64) {
	for i := range leafStripes {
		s := &leafStripes[i]
		s.mu.Lock()
		for k := 0; k < len(s.claims); {
			c := s.claims[k]
			if c.walk != walk {
				k++
				continue
			}
			s.remove(k)
			leaf := c.leaf
			leaf.gradInPlace, leaf.gradZero = false, true
			for _, h := range c.handoff {
				leaf.accumulateGrad(h, false)
			}
		}
		s.mu.Unlock()
	}
}

// heapCopy is a copy of t's values in storage of its own, cut off from any
// graph.
func heapCopy(t *Tensor) *Tensor {
	out := empty(t.dtype, t.shape)
	out.copyFrom(t.contiguousData())
	return out
}
