package backprop

import (
	"cmp"
	"fmt"
	"slices"
)

// TopK returns the k largest (or with largest false, smallest) elements of
// a along axis and their positions, as torch.topk: values has a's shape
// with k along axis, indices the same shape in Int64. The elements come in
// order, largest (smallest) first, whether or not sorted is set (PyTorch
// leaves the order unspecified without it); equal values keep their order
// along the axis, and NaN counts as larger than every number, as in
// PyTorch. values is differentiable: its gradient is scattered back to the
// chosen positions (it is a Gather of a at indices). a may be Int64.
func (a *Tensor) TopK(k, axis int, largest, sorted bool) (values, indices *Tensor) {
	const op = "TopK"
	a.mustTensor(op)
	ax := normAxis(op, axis, max(len(a.shape), 1))
	if len(a.shape) == 0 {
		if k < 0 || k > 1 {
			panic(fmt.Sprintf("backprop: %s: k = %d out of range for a 0-d tensor", op, k))
		}
		v, i := a.Reshape(1).TopK(k, 0, largest, sorted)
		return v.Reshape(), i.Reshape()
	}
	n := a.shape[ax]
	if k < 0 || k > n {
		panic(fmt.Sprintf("backprop: %s: k = %d out of range for axis %d of shape %v", op, k, axis, a.shape))
	}
	_ = sorted
	shape := slices.Clone(a.shape)
	shape[ax] = k
	idx := rawIn(poolOf(op, a), Int64, shape)
	x := a.contiguousData()
	outer := numel(a.shape[:ax])
	inner := numel(a.shape[ax+1:])
	order := make([]int, n)
	for o := range outer {
		for in := range inner {
			base := x.offset + o*n*inner + in
			for j := range order {
				order[j] = j
			}
			switch x.dtype {
			case Float32:
				topkOrder(order, x.f32, base, inner, largest)
			case Float64:
				topkOrder(order, x.f64, base, inner, largest)
			default:
				topkOrder(order, x.i64, base, inner, largest)
			}
			dst := o*k*inner + in
			for j := range k {
				idx.i64[dst+j*inner] = int64(order[j])
			}
		}
	}
	idx.noGrad = a.noGrad
	return a.Gather(ax, idx), idx
}

// topkOrder sorts positions 0..n-1 of the slice x[base + j*stride] by
// value, largest first (or smallest first), NaN above every number, ties
// by position.
func topkOrder[T float32 | float64 | int64](order []int, x []T, base, stride int, largest bool) {
	key := func(j int) T { return x[base+j*stride] }
	slices.SortStableFunc(order, func(i, j int) int {
		a, b := key(i), key(j)
		an, bn := a != a, b != b
		var c int
		switch {
		case an && bn:
			c = 0
		case an:
			c = 1
		case bn:
			c = -1
		default:
			c = cmp.Compare(a, b)
		}
		if largest {
			return -c
		}
		return c
	})
}
