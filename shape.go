package backprop

import (
	"fmt"
	"slices"
)

// Shape ops. Most return views that share storage with their input (no
// copy); gradients flow back through the inverse view.

// Reshape returns a tensor with the same elements in row-major order and a
// new shape. One entry may be -1, inferred from the others. It is a view
// when t is contiguous, a copy otherwise.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = inferShape("Reshape", t.shape, shape)
	if slices.Equal(shape, t.shape) {
		return t
	}
	src := t.contiguousData()
	out := src.view(shape, contiguousStrides(shape), src.offset)
	inShape := t.shape
	return record("Reshape", out, []*Tensor{t}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Reshape(inShape...)}
	})
}

func inferShape(op string, from, shape []int) []int {
	shape = slices.Clone(shape)
	infer := -1
	known := 1
	for i, s := range shape {
		switch {
		case s == -1 && infer < 0:
			infer = i
		case s < 0:
			panic(fmt.Sprintf("backprop: %s: bad shape %v for tensor of shape %v", op, shape, from))
		default:
			known *= s
		}
	}
	n := numel(from)
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			panic(fmt.Sprintf("backprop: %s: shape %v does not fit %d elements of shape %v", op, shape, n, from))
		}
		shape[infer] = n / known
	} else if known != n {
		panic(fmt.Sprintf("backprop: %s: shape %v does not fit %d elements of shape %v", op, shape, n, from))
	}
	return shape
}

// Expand returns a view of t broadcast to shape (axes of length 1, and new
// leading axes, repeat without copying). -1 keeps an axis as it is.
func (t *Tensor) Expand(shape ...int) *Tensor {
	shape = slices.Clone(shape)
	if len(shape) < len(t.shape) {
		panic(fmt.Sprintf("backprop: Expand: shape %v has fewer axes than tensor of shape %v", shape, t.shape))
	}
	lead := len(shape) - len(t.shape)
	for i := range t.shape {
		if shape[lead+i] == -1 {
			shape[lead+i] = t.shape[i]
		}
		if t.shape[i] != 1 && t.shape[i] != shape[lead+i] {
			panic(fmt.Sprintf("backprop: Expand: cannot expand shape %v to %v", t.shape, shape))
		}
	}
	if !validShape(shape) {
		panic(fmt.Sprintf("backprop: Expand: bad shape %v", shape))
	}
	if slices.Equal(shape, t.shape) {
		return t
	}
	out := t.view(shape, broadcastStrides(t, shape), t.offset)
	return record("Expand", out, []*Tensor{t}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g} // the engine sums over the expanded axes
	})
}

// Contiguous returns t when its elements are already in row-major order,
// else a copy that is (recorded, so gradients flow through it).
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}
