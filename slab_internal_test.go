package backprop

import (
	"testing"
	"unsafe"
)

// Results come from a scalar slab only when their inputs keep nothing but
// scalars alive: a slab lives while any of its entries does, so an entry
// must never hold a neighbour's activations.
func TestScalarSlabInputs(t *testing.T) {
	a := Float64.Scalar(0.5).SetRequiresGrad(true)
	b := Float32.Scalar(2).SetRequiresGrad(true)
	chain := a.Mul(a).Exp().AddScalar(1)
	if !chain.inSlab || !b.Tanh().inSlab {
		t.Fatal("a scalar op on scalar leaves did not use the slab")
	}
	big := Float64.Zeros(1000).SetRequiresGrad(true)
	s := big.Sum() // a scalar whose node holds big
	if s.inSlab {
		t.Fatal("a reduction's result is in the slab")
	}
	if r := s.Mul(a); r.inSlab {
		t.Fatal("a scalar op on a reduction's result used the slab")
	}
	view := Float64.Zeros(1000).Select(0, 3) // a leaf viewing big storage
	if r := view.SetRequiresGrad(true).Exp(); r.inSlab {
		t.Fatal("a scalar op on a view of a large tensor used the slab")
	}
	if r := chain.Mul(s); r.inSlab {
		t.Fatal("a slab entry times a reduction's result used the slab")
	}
	if r := a.Add(Float64.Scalar(1)).Detach().Exp(); r.inSlab {
		t.Fatal("a detached view of a slab entry is a leaf without inline storage")
	}
}

// A scalar slab is sized to fill the 24 KiB size class of Go's allocator;
// a Node or Tensor that grows pushes it into the next class (a third more
// memory per scalar op), which this catches.
func TestScalarSlabFitsItsSizeClass(t *testing.T) {
	if got := unsafe.Sizeof(scalarSlab{}); got > 24<<10 {
		t.Fatalf("scalarSlab is %d bytes, over the 24 KiB size class (Node %d, Tensor %d bytes)", got, unsafe.Sizeof(Node{}), unsafe.Sizeof(Tensor{}))
	}
}
