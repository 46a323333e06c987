package backprop_test

import (
	"math"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestLinearMatchesMatMulAdd(t *testing.T) {
	for _, tc := range []struct {
		x    []int
		in   int
		out  int
		bias bool
	}{
		{[]int{5, 7}, 7, 3, true},
		{[]int{7}, 7, 4, true},
		{[]int{2, 3, 6}, 6, 5, true},
		{[]int{4, 6}, 6, 2, false},
		{[]int{0, 6}, 6, 2, true},
		{[]int{300, 300}, 300, 40, true}, // k beyond one GEMM slice: the bias is summed first
	} {
		x := rnd(1, tc.x...)
		w := rnd(2, tc.out, tc.in)
		var b *bp.Tensor
		want := x.MatMul(w.T())
		if tc.bias {
			b = rnd(3, tc.out)
			want = want.Add(b)
		}
		got := bp.Linear(x, w, b)
		if !slices.Equal(got.Shape(), want.Shape()) {
			t.Fatalf("x %v: Linear shape %v, want %v", tc.x, got.Shape(), want.Shape())
		}
		g, wv := got.Float64s(), want.Float64s()
		for i := range g {
			if math.Abs(g[i]-wv[i]) > 1e-12*(1+math.Abs(wv[i])) {
				t.Fatalf("x %v: element %d is %v, want %v", tc.x, i, g[i], wv[i])
			}
		}
	}
}

func TestLinearFloat32(t *testing.T) {
	x := rnd(1, 9, 33).To(bp.Float32)
	w := rnd(2, 17, 33).To(bp.Float32)
	b := rnd(3, 17).To(bp.Float32)
	got, want := bp.Linear(x, w, b).Float64s(), x.MatMul(w.T()).Add(b).Float64s()
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
			t.Fatalf("element %d is %v, want %v", i, got[i], want[i])
		}
	}
}

func TestLinearGrad(t *testing.T) {
	f := func(in ...*bp.Tensor) *bp.Tensor { return bp.Linear(in[0], in[1], in[2]) }
	checkGrad2(t, "Linear 2-d", f, rnd(1, 4, 5), rnd(2, 3, 5), rnd(3, 3))
	checkGrad2(t, "Linear 3-d", f, rnd(4, 2, 3, 5), rnd(5, 4, 5), rnd(6, 4))
	checkGrad(t, "Linear 1-d", f, rnd(7, 5), rnd(8, 3, 5), rnd(9, 3))
	checkGrad(t, "Linear non-contiguous", f, nonContig(10, 6, 5), nonContig(11, 4, 5), rnd(12, 4, 2).Slice(1, 0, 1).Squeeze(1))
	noBias := func(in ...*bp.Tensor) *bp.Tensor { return bp.Linear(in[0], in[1], nil) }
	checkGrad(t, "Linear without bias", noBias, rnd(13, 4, 5), rnd(14, 3, 5))
}

func TestLinearBadShapes(t *testing.T) {
	mustPanic(t, "Linear", func() { bp.Linear(rnd(1, 4, 5), rnd(2, 3, 4), nil) })
	mustPanic(t, "bias of shape", func() { bp.Linear(rnd(1, 4, 5), rnd(2, 3, 5), rnd(3, 4)) })
	mustPanic(t, "Linear", func() { bp.Linear(rnd(1, 4, 5), rnd(2, 3, 5).To(bp.Float32), nil) })
	mustPanic(t, "Linear", func() { bp.Linear(rnd(1), rnd(2, 3, 5), nil) })
}

// The weight gradient of Linear goes straight into the buffer ZeroGrad
// freed when nothing else needs it separately. Every case must give what
// MatMul + Add give.
func TestLinearWeightGradInPlace(t *testing.T) {
	type setup struct {
		name string
		run  func(x, w, b *bp.Tensor, lin func(x, w, b *bp.Tensor) *bp.Tensor)
	}
	fused := bp.Linear
	plain := func(x, w, b *bp.Tensor) *bp.Tensor { return x.MatMul(w.T()).Add(b) }
	loss := func(y *bp.Tensor) *bp.Tensor { return y.Tanh().Sum() }
	cases := []setup{
		{"steps with ZeroGrad", func(x, w, b *bp.Tensor, lin func(x, w, b *bp.Tensor) *bp.Tensor) {
			for range 3 {
				w.ZeroGrad()
				b.ZeroGrad()
				loss(lin(x, w, b)).Backward()
			}
		}},
		{"accumulating without ZeroGrad", func(x, w, b *bp.Tensor, lin func(x, w, b *bp.Tensor) *bp.Tensor) {
			loss(lin(x, w, b)).Backward()
			w.ZeroGrad()
			loss(lin(x, w, b)).Backward()
			loss(lin(x.MulScalar(2), w, b)).Backward()
		}},
		{"weight used twice", func(x, w, b *bp.Tensor, lin func(x, w, b *bp.Tensor) *bp.Tensor) {
			loss(lin(x, w, b)).Backward()
			w.ZeroGrad()
			loss(lin(x, w, b).Add(lin(x.Neg(), w, b).Square())).Backward()
		}},
		{"weight also used elsewhere first", func(x, w, b *bp.Tensor, lin func(x, w, b *bp.Tensor) *bp.Tensor) {
			loss(lin(x, w, b)).Backward()
			w.ZeroGrad()
			y := lin(x, w, b)
			loss(y.Add(y.Mean().Mul(w.Sum()))).Backward()
		}},
		{"hook reading Grad mid-walk", func(x, w, b *bp.Tensor, lin func(x, w, b *bp.Tensor) *bp.Tensor) {
			loss(lin(x, w, b)).Backward()
			w.ZeroGrad()
			h := x.MulScalar(1)
			h.RegisterHook(func(g *bp.Tensor) *bp.Tensor { _ = w.Grad(); return nil })
			loss(lin(h, w, b).Add(lin(h, w, b))).Backward()
		}},
		{"empty batch", func(x, w, b *bp.Tensor, lin func(x, w, b *bp.Tensor) *bp.Tensor) {
			loss(lin(x, w, b)).Backward()
			w.ZeroGrad()
			loss(lin(x.Slice(0, 0, 0), w, b)).Backward()
		}},
	}
	for _, c := range cases {
		var grads [2][]float64
		for i, lin := range []func(x, w, b *bp.Tensor) *bp.Tensor{fused, plain} {
			x := rnd(1, 6, 5).SetRequiresGrad(true)
			w := rnd(2, 4, 5).SetRequiresGrad(true)
			b := rnd(3, 4).SetRequiresGrad(true)
			c.run(x, w, b, lin)
			grads[i] = append(w.Grad().Float64s(), b.Grad().Float64s()...)
		}
		for j := range grads[0] {
			if math.Abs(grads[0][j]-grads[1][j]) > 1e-12*(1+math.Abs(grads[1][j])) {
				t.Fatalf("%s: gradient element %d is %v, MatMul+Add gives %v", c.name, j, grads[0][j], grads[1][j])
			}
		}
	}
}
