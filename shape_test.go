package backprop_test

import (
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/gradcheck"
)

// squaredOf returns op(x)*op(x). For a linear op that makes the upstream
// gradient reaching op's backward depend on the inputs, so a second-order
// check differentiates op's backward formula itself instead of finding a
// Hessian of zero.
func squaredOf(op gradcheck.Func) gradcheck.Func {
	return func(x ...*bp.Tensor) *bp.Tensor { y := op(x...); return y.Mul(y) }
}

// randomIndex returns an Int64 tensor of the given shape with values in [0, n).
func randomIndex(seed uint64, n int, shape ...int) *bp.Tensor {
	g := bp.NewRNG(seed)
	count := 1
	for _, s := range shape {
		count *= s
	}
	v := make([]int, count)
	for i := range v {
		v[i] = g.IntN(n)
	}
	return bp.FromInts(v, shape...)
}

func expectShape(t *testing.T, what string, x *bp.Tensor, shape ...int) {
	t.Helper()
	if !slices.Equal(x.Shape(), shape) {
		t.Fatalf("%s: shape %v, want %v", what, x.Shape(), shape)
	}
}

func expectValues(t *testing.T, what string, x *bp.Tensor, want ...float64) {
	t.Helper()
	if got := x.Float64s(); !slices.Equal(got, want) {
		t.Fatalf("%s: values %v, want %v", what, got, want)
	}
}

func TestTransposePermuteGrads(t *testing.T) {
	checkGrad2(t, "Transpose", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Transpose(0, -1) }), rnd(1, 2, 3, 4))
	checkGrad2(t, "Transpose nonContig", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Transpose(-2, 1) }), nonContig(2, 2, 3, 4))
	checkGrad2(t, "T", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].T() }), nonContig(3, 3, 5))
	checkGrad2(t, "Permute", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Permute(2, 0, -2) }), rnd(4, 2, 3, 4))
	checkGrad2(t, "Permute nonContig", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Permute(1, 2, 0) }), nonContig(5, 2, 3, 4))
}

func TestTransposePermuteValues(t *testing.T) {
	x := bp.Float64.Arange(0, 24, 1).Reshape(2, 3, 4)
	p := x.Permute(2, 0, 1)
	expectShape(t, "Permute", p, 4, 2, 3)
	for i := range 4 {
		for j := range 2 {
			for k := range 3 {
				if p.At(i, j, k) != x.At(j, k, i) {
					t.Fatalf("Permute(2,0,1)[%d,%d,%d] = %v, want %v", i, j, k, p.At(i, j, k), x.At(j, k, i))
				}
			}
		}
	}
	tr := x.Transpose(0, 2)
	expectShape(t, "Transpose", tr, 4, 3, 2)
	if tr.At(3, 1, 0) != x.At(0, 1, 3) {
		t.Fatalf("Transpose(0,2)[3,1,0] = %v, want %v", tr.At(3, 1, 0), x.At(0, 1, 3))
	}
	expectValues(t, "T", bp.Float64.Arange(0, 6, 1).Reshape(2, 3).T(), 0, 3, 1, 4, 2, 5)
	if x.Transpose(1, -2) != x || x.Permute(0, 1, 2) != x {
		t.Error("identity Transpose/Permute should return the tensor itself")
	}
	// A scalar has one axis to name, as in PyTorch: 0 or -1.
	s := bp.Float64.Scalar(2)
	if s.Transpose(0, 0) != s || s.Transpose(-1, 0) != s {
		t.Error("Transpose of a scalar should return it")
	}
	mustPanic(t, "axis 1 out of range", func() { s.Transpose(0, 1) })
}

func TestShapeViewGrads(t *testing.T) {
	checkGrad2(t, "Squeeze all", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Squeeze() }), rnd(1, 1, 3, 1, 2))
	checkGrad(t, "Squeeze axis", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Squeeze(-2) }, nonContig(2, 3, 1, 2).Transpose(0, 1))
	checkGrad2(t, "Unsqueeze", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Unsqueeze(-1) }), nonContig(3, 3, 4))
	checkGrad(t, "Unsqueeze front", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Unsqueeze(0) }, rnd(4, 3))
	checkGrad2(t, "Flatten", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Flatten(1, -1) }), nonContig(5, 2, 3, 4))
	checkGrad2(t, "Slice", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Slice(-1, 1, -1) }), rnd(6, 3, 5))
	checkGrad2(t, "Slice nonContig", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Slice(0, -3, 100) }), nonContig(7, 5, 4))
	checkGrad2(t, "SliceStep", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].SliceStep(1, 1, 7, 2) }), nonContig(8, 3, 7))
	checkGrad2(t, "Narrow", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Narrow(-2, -3, 2) }), nonContig(9, 4, 3))
	checkGrad2(t, "Select", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Select(1, -1) }), nonContig(10, 3, 4, 2))
	checkGrad2(t, "Split", squaredOf(func(x ...*bp.Tensor) *bp.Tensor {
		p := x[0].Split(-1, 2, 0, 3)
		return p[0].Sum(-1).Add(p[2].Mul(p[2]).Sum(-1))
	}), nonContig(11, 3, 5))
	checkGrad(t, "Chunk", func(x ...*bp.Tensor) *bp.Tensor {
		p := x[0].Chunk(3, 0)
		return p[0].Mul(p[1]).Sum(0).Add(p[2].Sum(0).MulScalar(3))
	}, rnd(12, 7, 2))
	checkGrad2(t, "Reshape nonContig", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Reshape(-1, 2) }), nonContig(13, 2, 3, 4))
	checkGrad2(t, "Expand", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Expand(2, -1, 4) }), nonContig(14, 3, 1))
	checkGrad2(t, "Contiguous", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Contiguous() }), nonContig(15, 3, 4))
}

func TestShapeViewValues(t *testing.T) {
	x := bp.Float64.Arange(0, 12, 1).Reshape(3, 4)
	expectValues(t, "Slice", x.Slice(1, 1, -1), 1, 2, 5, 6, 9, 10)
	expectShape(t, "Slice past the end", x.Slice(0, 2, 10), 1, 4)
	expectShape(t, "Slice empty", x.Slice(1, 3, 1), 3, 0)
	expectShape(t, "Slice clamped start", x.Slice(1, -10, 2), 3, 2)
	expectValues(t, "SliceStep", x.SliceStep(1, 0, 4, 3), 0, 3, 4, 7, 8, 11)
	expectValues(t, "SliceStep uneven", x.Select(0, 0).SliceStep(0, 1, -1, 2), 1)
	expectValues(t, "Narrow", x.Narrow(0, -2, 1), 4, 5, 6, 7)
	expectValues(t, "Select", x.Select(-1, 2), 2, 6, 10)
	expectShape(t, "Select", x.Select(0, 1), 4)
	expectShape(t, "Squeeze all", bp.Zeros(1, 3, 1, 2).Squeeze(), 3, 2)
	expectShape(t, "Squeeze non-1 axis kept", bp.Zeros(1, 3, 1, 2).Squeeze(1, -2), 1, 3, 2)
	expectShape(t, "Unsqueeze end", x.Unsqueeze(2), 3, 4, 1)
	expectShape(t, "Unsqueeze -3", x.Unsqueeze(-3), 1, 3, 4)
	expectShape(t, "Flatten", bp.Zeros(2, 3, 4, 5).Flatten(1, 2), 2, 12, 5)
	expectShape(t, "Flatten all", bp.Zeros(2, 3, 4).Flatten(0, -1), 24)
	expectShape(t, "Flatten 0-d", bp.Scalar(3).Flatten(0, -1), 1)
	expectValues(t, "Flatten transposed", x.T().Flatten(0, 1), 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11)

	var got [][]int
	for _, c := range bp.Zeros(7).Chunk(3, 0) {
		got = append(got, c.Shape())
	}
	if !slices.EqualFunc(got, [][]int{{3}, {3}, {1}}, slices.Equal) {
		t.Errorf("Chunk(3) of length 7: %v, want [3] [3] [1]", got)
	}
	for _, tc := range []struct{ l, n int }{{6, 4}, {10, 4}, {2, 5}, {0, 3}} {
		var sizes []int
		for _, c := range bp.Zeros(2, tc.l).Chunk(tc.n, -1) {
			sizes = append(sizes, c.Size(1))
		}
		want := map[[2]int][]int{{6, 4}: {2, 2, 2}, {10, 4}: {3, 3, 3, 1}, {2, 5}: {1, 1}, {0, 3}: {0, 0, 0}}[[2]int{tc.l, tc.n}]
		if !slices.Equal(sizes, want) {
			t.Errorf("Chunk(%d) of length %d: %v, want %v (torch)", tc.n, tc.l, sizes, want)
		}
	}
	parts := x.Split(0, 1, 2)
	expectValues(t, "Split[1]", parts[1], 4, 5, 6, 7, 8, 9, 10, 11)
}

// A view must see writes into its input's storage; Reshape of a
// non-contiguous tensor must not.
func TestViewsShareStorage(t *testing.T) {
	x := bp.Float64.Arange(0, 24, 1).Reshape(2, 3, 4)
	views := map[string]*bp.Tensor{
		"Transpose": x.Transpose(0, 2),
		"Permute":   x.Permute(1, 2, 0),
		"Slice":     x.Slice(2, 0, 2),
		"SliceStep": x.SliceStep(1, 0, 3, 2),
		"Narrow":    x.Narrow(0, 0, 1),
		"Select":    x.Select(1, 0),
		"Expand":    x.Unsqueeze(0).Expand(5, 2, 3, 4),
		"Squeeze":   x.Unsqueeze(1).Squeeze(),
		"Unsqueeze": x.Unsqueeze(3),
		"Split":     x.Split(0, 1, 1)[0],
		"Chunk":     x.Chunk(2, 2)[0],
		"Reshape":   x.Reshape(6, 4),
		"Flatten":   x.Flatten(0, 1),
	}
	x.StorageF64()[0] = 100
	for name, v := range views {
		if v.StorageF64()[0] != 100 || v.Float64s()[0] != 100 {
			t.Errorf("%s does not share storage with its input", name)
		}
	}
	tr := x.Transpose(0, 1)
	r := tr.Reshape(-1)
	x.StorageF64()[1] = -7
	if r.Float64s()[4] == -7 || tr.At(0, 0, 1) != -7 {
		t.Error("Reshape of a transposed tensor must copy")
	}
	if !r.IsContiguous() {
		t.Error("Reshape of a transposed tensor must be contiguous")
	}
}

func TestConcatStackGrads(t *testing.T) {
	checkGrad2(t, "Concat", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return bp.Concat(-1, x...) }), rnd(1, 2, 3), nonContig(2, 2, 4), rnd(3, 2, 1))
	checkGrad2(t, "Concat axis 0", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return bp.Concat(0, x[0], x[1], x[0]) }), nonContig(4, 2, 3), rnd(5, 1, 3))
	checkGrad2(t, "Stack", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return bp.Stack(-1, x...) }), rnd(6, 2, 3), nonContig(7, 2, 3))
	checkGrad(t, "Stack axis 0", func(x ...*bp.Tensor) *bp.Tensor { return bp.Stack(0, x[0], x[1], x[0]) }, nonContig(8, 3), rnd(9, 3))
	// Only the inputs that need a gradient get one.
	a := rnd(10, 2).SetRequiresGrad(true)
	bp.Concat(0, a, rnd(11, 3)).Sum().Backward()
	expectValues(t, "Concat grad", a.Grad(), 1, 1)
}

func TestConcatStackValues(t *testing.T) {
	a := bp.Float64.Arange(0, 4, 1).Reshape(2, 2)
	b := bp.Float64.Arange(4, 6, 1).Reshape(2, 1)
	c := bp.Concat(1, a, b)
	expectShape(t, "Concat", c, 2, 3)
	expectValues(t, "Concat", c, 0, 1, 4, 2, 3, 5)
	expectValues(t, "Concat axis 0", bp.Concat(0, a, a.T()), 0, 1, 2, 3, 0, 2, 1, 3)
	expectShape(t, "Concat empty piece", bp.Concat(0, a, bp.Float64.Zeros(0, 2)), 2, 2)
	s := bp.Stack(1, a, a.MulScalar(10))
	expectShape(t, "Stack", s, 2, 2, 2)
	expectValues(t, "Stack", s, 0, 1, 0, 10, 2, 3, 20, 30)
	expectShape(t, "Stack end", bp.Stack(-1, a, a, a), 2, 2, 3)
	ints := bp.Concat(0, bp.FromInts([]int{1, 2}), bp.FromInts([]int{3}))
	if ints.DType() != bp.Int64 || !slices.Equal(ints.Ints(), []int{1, 2, 3}) {
		t.Errorf("Concat of int64: %v %v", ints.DType(), ints.Ints())
	}
}

func TestGatherScatterGrads(t *testing.T) {
	idx := randomIndex(1, 5, 3, 4, 2)
	checkGrad2(t, "Gather", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Gather(1, idx) }), rnd(2, 3, 5, 2))
	checkGrad2(t, "Gather nonContig smaller index", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Gather(-1, randomIndex(3, 4, 2, 6)) }), nonContig(4, 3, 4))
	sidx := randomIndex(5, 3, 2, 4)
	checkGrad2(t, "ScatterAdd", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].ScatterAdd(0, sidx, x[1]) }), rnd(6, 3, 5), nonContig(7, 2, 4))
	checkGrad2(t, "ScatterAdd larger src", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].ScatterAdd(-2, sidx, x[1]) }), nonContig(8, 3, 4), rnd(9, 3, 5))
	vidx := bp.FromInts([]int{2, 0, 2, 1})
	checkGrad2(t, "IndexSelect", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].IndexSelect(0, vidx) }), rnd(10, 3, 2))
	checkGrad2(t, "IndexSelect nonContig last axis", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].IndexSelect(-1, vidx) }), nonContig(11, 2, 3))
	checkGrad2(t, "IndexAdd", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].IndexAdd(1, vidx, x[1]) }), nonContig(12, 2, 3), rnd(13, 2, 4))
	// The index itself may be a non-contiguous view.
	tidx := bp.FromInts([]int{0, 1, 2, 2, 1, 0}, 2, 3).T()
	checkGrad2(t, "Gather transposed index", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Gather(1, tidx) }), rnd(14, 3, 3))
}

func TestGatherScatterValues(t *testing.T) {
	// torch.gather's documented example.
	x := bp.Float64.Arange(1, 5, 1).Reshape(2, 2)
	g := x.Gather(1, bp.FromInts([]int{0, 0, 1, 0}, 2, 2))
	expectValues(t, "Gather", g, 1, 1, 4, 3)
	expectValues(t, "Gather axis 0", x.Gather(0, bp.FromInts([]int{1, 0}, 1, 2)), 3, 2)

	// As torch.zeros(3,5).scatter_add(0, index, torch.ones(2,5)) gives: src of ones, index [[0,1,2,0,0],[0,1,2,2,2]] on zeros(3,5), dim 0.
	src := bp.Float64.Ones(2, 5)
	idx := bp.FromInts([]int{0, 1, 2, 0, 0, 0, 1, 2, 2, 2}, 2, 5)
	expectValues(t, "ScatterAdd", bp.Float64.Zeros(3, 5).ScatterAdd(0, idx, src),
		2, 0, 0, 1, 1,
		0, 2, 0, 0, 0,
		0, 0, 2, 1, 1)

	w := bp.Float64.Arange(0, 6, 1).Reshape(3, 2)
	expectValues(t, "IndexSelect embedding", w.IndexSelect(0, bp.FromInts([]int{2, 2, 0})), 4, 5, 4, 5, 0, 1)
	expectValues(t, "IndexSelect axis 1", w.IndexSelect(1, bp.FromInts([]int{1})), 1, 3, 5)
	expectValues(t, "IndexAdd", w.IndexAdd(0, bp.FromInts([]int{1, 1}), bp.Float64.Ones(2, 2)), 0, 1, 4, 5, 4, 5)
	expectValues(t, "IndexAdd leaves input", w, 0, 1, 2, 3, 4, 5)

	// Embedding backward: repeated ids accumulate.
	e := bp.Float64.Zeros(3, 2).SetRequiresGrad(true)
	e.IndexSelect(0, bp.FromInts([]int{2, 0, 2})).Sum().Backward()
	expectValues(t, "IndexSelect grad", e.Grad(), 1, 1, 0, 0, 2, 2)
	f32 := bp.Arange(0, 6, 1).Reshape(3, 2).IndexSelect(0, bp.FromInts([]int{1}))
	if f32.DType() != bp.Float32 {
		t.Errorf("IndexSelect of float32 gave %v", f32.DType())
	}
	expectValues(t, "IndexSelect float32", f32, 2, 3)
	ig := bp.FromInts([]int{10, 20, 30, 40}, 2, 2).Gather(0, bp.FromInts([]int{1, 0}, 1, 2))
	if ig.DType() != bp.Int64 || !slices.Equal(ig.Ints(), []int{30, 20}) {
		t.Errorf("Gather of int64: %v %v, want int64 [30 20]", ig.DType(), ig.Ints())
	}
	expectValues(t, "ScatterAdd float32", bp.Zeros(2).ScatterAdd(0, bp.FromInts([]int{1, 1}), bp.Ones(2)), 0, 2)
}

func TestPadRepeatGrads(t *testing.T) {
	checkGrad2(t, "Pad", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Pad([]int{1, 2, 0, 1}, 3) }), rnd(1, 2, 3))
	checkGrad2(t, "Pad negative nonContig", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Pad([]int{-1, 2, 1, -2}, 0) }), nonContig(2, 4, 3))
	checkGrad2(t, "Pad 1-d", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Pad([]int{2, -1}, -1) }), nonContig(3, 4))
	checkGrad2(t, "Repeat", squaredOf(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Repeat(2, 1, 3) }), nonContig(4, 2, 3))
	checkGrad(t, "Repeat same rank", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Repeat(3, 2) }, rnd(5, 2, 1))
}

func TestPadRepeatValues(t *testing.T) {
	x := bp.Float64.Arange(0, 6, 1).Reshape(2, 3)
	// torch: F.pad(arange(6.).reshape(2,3), (1,-1,-1,2), value=9)
	p := x.Pad([]int{1, -1, -1, 2}, 9)
	expectShape(t, "Pad negative", p, 3, 3)
	expectValues(t, "Pad negative", p, 9, 3, 4, 9, 9, 9, 9, 9, 9)
	expectValues(t, "Pad last axis", x.Pad([]int{0, 1}, 0), 0, 1, 2, 0, 3, 4, 5, 0)
	expectShape(t, "Pad crop all", x.Pad([]int{-3, 0}, 0), 2, 0)
	expectValues(t, "Pad nothing", x.Pad(nil, 1), 0, 1, 2, 3, 4, 5)
	expectValues(t, "Pad int64", bp.FromInts([]int{1, 2}).Pad([]int{1, 1}, 7), 7, 1, 2, 7)

	r := x.Repeat(2, 1, 2)
	expectShape(t, "Repeat", r, 2, 2, 6)
	expectValues(t, "Repeat", r.Select(0, 1),
		0, 1, 2, 0, 1, 2,
		3, 4, 5, 3, 4, 5)
	expectValues(t, "Repeat transposed", x.T().Repeat(1, 2), 0, 3, 0, 3, 1, 4, 1, 4, 2, 5, 2, 5)
	expectShape(t, "Repeat zero", x.Repeat(0, 1), 0, 3)
}

func TestShapePanics(t *testing.T) {
	x := bp.Zeros(2, 3, 4)
	mustPanic(t, "backprop: T: tensor of shape [2 3 4] is not 2-d", func() { x.T() })
	mustPanic(t, "backprop: Permute: axes [0 0 1] name axis 0 twice", func() { x.Permute(0, 0, 1) })
	mustPanic(t, "backprop: Permute: 2 axes [0 1] for tensor of shape [2 3 4]", func() { x.Permute(0, 1) })
	mustPanic(t, "backprop: Transpose: axis 3 out of range for 3 dimensions", func() { x.Transpose(0, 3) })
	mustPanic(t, "backprop: Unsqueeze: axis 4 out of range for tensor of shape [2 3 4]", func() { x.Unsqueeze(4) })
	mustPanic(t, "backprop: Squeeze: axis -4 out of range", func() { x.Squeeze(-4) })
	mustPanic(t, "backprop: Flatten: start axis 2 comes after end axis 1", func() { x.Flatten(2, 1) })
	mustPanic(t, "backprop: SliceStep: step 0 must be positive", func() { x.SliceStep(0, 0, 1, 0) })
	mustPanic(t, "backprop: Slice: axis 5 out of range", func() { x.Slice(5, 0, 1) })
	mustPanic(t, "backprop: Narrow: start 1 length 2 out of range for axis 0 of length 2", func() { x.Narrow(0, 1, 2) })
	mustPanic(t, "backprop: Select: index 3 out of range for axis 1 of length 3", func() { x.Select(1, 3) })
	mustPanic(t, "backprop: Select: index -4 out of range", func() { x.Select(1, -4) })
	mustPanic(t, "backprop: Concat: no tensors", func() { bp.Concat(0) })
	mustPanic(t, "backprop: Concat: shapes [2 3 4] [2 5 4] [3 3 4] differ outside axis 1", func() {
		bp.Concat(1, x, bp.Zeros(2, 5, 4), bp.Zeros(3, 3, 4))
	})
	mustPanic(t, "backprop: Concat: shapes [2 3 4] [2 3] differ outside axis 0", func() { bp.Concat(0, x, bp.Zeros(2, 3)) })
	mustPanic(t, "backprop: Concat: dtypes float32 and float64 differ (shapes [2 3 4] [2 3 4])", func() { bp.Concat(0, x, bp.Float64.Zeros(2, 3, 4)) })
	mustPanic(t, "backprop: Concat: cannot join 0-d tensors", func() { bp.Concat(0, bp.Scalar(1), bp.Scalar(2)) })
	mustPanic(t, "backprop: Stack: no tensors", func() { bp.Stack(0) })
	mustPanic(t, "backprop: Stack: shapes [2 3 4] [2 3 4] [2 4 3] differ", func() { bp.Stack(0, x, x, bp.Zeros(2, 4, 3)) })
	mustPanic(t, "backprop: Stack: axis 4 out of range for shapes [2 3 4]", func() { bp.Stack(4, x) })
	mustPanic(t, "backprop: Split: sizes [1 1] do not add up to length 3 of axis 1", func() { x.Split(1, 1, 1) })
	mustPanic(t, "backprop: Split: sizes [4 -1] do not add up", func() { x.Split(1, 4, -1) })
	mustPanic(t, "backprop: Chunk: 0 chunks", func() { x.Chunk(0, 1) })

	y := bp.Zeros(3, 5)
	mustPanic(t, "backprop: Gather: index 7 out of range for axis 1 of length 5", func() { y.Gather(1, bp.FromInts([]int{0, 7}, 1, 2)) })
	mustPanic(t, "backprop: Gather: index -1 out of range for axis 1 of length 5", func() { y.Gather(-1, bp.FromInts([]int{-1}, 1, 1)) })
	mustPanic(t, "backprop: Gather: index must be int64, got float32", func() { y.Gather(1, bp.Zeros(3, 5)) })
	mustPanic(t, "backprop: Gather: index of shape [4 1] does not fit tensor of shape [3 5] along axis 1", func() { y.Gather(1, bp.FromInts([]int{0, 0, 0, 0}, 4, 1)) })
	mustPanic(t, "backprop: Gather: index of shape [3] does not fit", func() { y.Gather(1, bp.FromInts([]int{0, 0, 0})) })
	mustPanic(t, "backprop: IndexSelect: index 3 out of range for axis 0 of length 3", func() { y.IndexSelect(0, bp.FromInts([]int{3})) })
	mustPanic(t, "backprop: IndexSelect: index must be int64, got float64", func() { y.IndexSelect(0, bp.Float64.Zeros(1)) })
	mustPanic(t, "backprop: IndexSelect: index of shape [1 1] is not 1-d", func() { y.IndexSelect(0, bp.FromInts([]int{0}, 1, 1)) })
	mustPanic(t, "backprop: ScatterAdd: index 9 out of range for axis 0 of length 3", func() {
		y.ScatterAdd(0, bp.FromInts([]int{9}, 1, 1), bp.Zeros(1, 1))
	})
	mustPanic(t, "backprop: ScatterAdd: index of shape [2 2] does not fit tensor of shape [3 5] and src of shape [1 2]", func() {
		y.ScatterAdd(0, bp.FromInts([]int{0, 0, 0, 0}, 2, 2), bp.Zeros(1, 2))
	})
	mustPanic(t, "backprop: ScatterAdd: src is float64, tensor is float32", func() {
		y.ScatterAdd(0, bp.FromInts([]int{0}, 1, 1), bp.Float64.Zeros(1, 1))
	})
	mustPanic(t, "backprop: IndexAdd: index 5 out of range for axis 1 of length 5", func() {
		y.IndexAdd(1, bp.FromInts([]int{5}), bp.Zeros(3, 1))
	})
	mustPanic(t, "backprop: IndexAdd: src is float32 of shape [3 2], want float32 of shape [3 1]", func() {
		y.IndexAdd(1, bp.FromInts([]int{0}), bp.Zeros(3, 2))
	})
	mustPanic(t, "backprop: Pad: pads [1 1 1] must be (before, after) pairs", func() { y.Pad([]int{1, 1, 1}, 0) })
	mustPanic(t, "backprop: Pad: pads [0 0 0 0 1 1] must be (before, after) pairs for at most 2 axes", func() { y.Pad([]int{0, 0, 0, 0, 1, 1}, 0) })
	mustPanic(t, "backprop: Pad: pads [-3 -3] crop axis 1 of shape [3 5] below length 0", func() { y.Pad([]int{-3, -3}, 0) })
	mustPanic(t, "backprop: Repeat: repeats [2] for tensor of shape [3 5]", func() { y.Repeat(2) })
	mustPanic(t, "backprop: Repeat: repeats [1 -1]", func() { y.Repeat(1, -1) })
}
