package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestTrilTriuValues(t *testing.T) {
	// Against the definition, over a batch of non-square matrices and
	// every diagonal offset that matters (and some beyond).
	x := rnd(1, 2, 3, 4, 5)
	for _, k := range []int{-5, -2, -1, 0, 1, 3, 6} {
		lo, up := x.Tril(k), x.Triu(k)
		for _, tc := range []struct {
			name string
			got  *bp.Tensor
			keep func(i, j int) bool
		}{{"Tril", lo, func(i, j int) bool { return j-i <= k }}, {"Triu", up, func(i, j int) bool { return j-i >= k }}} {
			for a := range 2 {
				for b := range 3 {
					for i := range 4 {
						for j := range 5 {
							want := 0.0
							if tc.keep(i, j) {
								want = x.At(a, b, i, j)
							}
							if got := tc.got.At(a, b, i, j); got != want {
								t.Fatalf("%s(%d)[%d %d %d %d] = %v, want %v", tc.name, k, a, b, i, j, got, want)
							}
						}
					}
				}
			}
		}
	}
	// Int64, as a causal mask is built.
	m := bp.Int64.Ones(3, 3).Triu(1)
	if got := m.Ints(); !equalInts(got, []int{0, 1, 1, 0, 0, 1, 0, 0, 0}) {
		t.Errorf("Int64 Triu(1) = %v", got)
	}
	// Non-contiguous input.
	nc := nonContig(3, 4, 3)
	if got, want := nc.Tril(0).Float64s(), nc.Contiguous().Tril(0).Float64s(); !equalF(got, want) {
		t.Errorf("non-contiguous Tril %v, want %v", got, want)
	}
	mustPanic(t, "Tril: tensor of shape [3] has fewer than 2 dimensions", func() { rnd(1, 3).Tril(0) })
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalF(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

func TestTrilTriuGrad(t *testing.T) {
	checkGrad2(t, "Tril", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Tril(-1).Square() }, rnd(1, 2, 4, 3))
	checkGrad2(t, "Triu", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Triu(1).Tanh() }, nonContig(2, 3, 4))
}

func TestMaskedFill(t *testing.T) {
	x := rnd(1, 2, 3, 4)
	// A broadcast mask of each dtype: nonzero is true.
	for _, mask := range []*bp.Tensor{
		bp.FromInts([]int{1, 0, 0, 2, 0, 0, 0, -1, 0, 1, 1, 0}, 3, 4),
		bp.FromFloat32s([]float32{0.5, 0, 0, 1, 0, 0, 0, -1, 0, 3, 2, 0}, 3, 4),
	} {
		got := x.MaskedFill(mask, -7)
		mv := mask.Float64s()
		for a := range 2 {
			for i := range 3 {
				for j := range 4 {
					want := x.At(a, i, j)
					if mv[i*4+j] != 0 {
						want = -7
					}
					if v := got.At(a, i, j); v != want {
						t.Fatalf("mask %v: [%d %d %d] = %v, want %v", mask.DType(), a, i, j, v, want)
					}
				}
			}
		}
	}
	if v := x.MaskedFill(bp.FromInts([]int{1}, 1), math.Inf(-1)).At(1, 2, 3); !math.IsInf(v, -1) {
		t.Errorf("fill with -Inf: %v", v)
	}
	mask := bp.FromInts([]int{1, 0, 0, 1}, 4)
	checkGrad2(t, "MaskedFill", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].MaskedFill(mask, 2).Square() }, rnd(2, 3, 4))
	mustPanic(t, "MaskedFill: mask of shape [2 4] does not broadcast to the tensor's shape [3 4]", func() {
		rnd(1, 3, 4).MaskedFill(bp.Int64.Ones(2, 4), 0)
	})
	mustPanic(t, "MaskedFill: mask of shape [2 3 4] does not broadcast", func() {
		rnd(1, 3, 4).MaskedFill(bp.Int64.Ones(2, 3, 4), 0)
	})
}
