package backprop

import "slices"

// Reductions over any set of axes. With no axes they reduce over all of
// them; the ...Keep variants keep reduced axes with length 1 (keepdim).

// keepShape is shape with the given (normalized) axes set to 1.
func keepShape(shape, axes []int) []int {
	ks := slices.Clone(shape)
	for _, a := range axes {
		ks[a] = 1
	}
	return ks
}

// dropShape is shape without the given (normalized, sorted) axes.
func dropShape(shape, axes []int) []int {
	var out []int
	for i, s := range shape {
		if !slices.Contains(axes, i) {
			out = append(out, s)
		}
	}
	return out
}

// SumKeep sums over axes (all when none), keeping them with length 1.
func (a *Tensor) SumKeep(axes ...int) *Tensor {
	a.mustFloat("Sum")
	ax := normAxes("Sum", axes, len(a.shape))
	out := empty(a.dtype, keepShape(a.shape, ax))
	reduceSumInto(out, a)
	inShape := a.shape
	return record("Sum", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Expand(inShape...)}
	})
}

// Sum sums over axes (all when none), dropping them.
func (a *Tensor) Sum(axes ...int) *Tensor {
	ax := normAxes("Sum", axes, len(a.shape))
	return a.SumKeep(ax...).Reshape(dropShape(a.shape, ax)...)
}
