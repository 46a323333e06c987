package backprop_test

import (
	"math"
	"sort"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestTopKValues(t *testing.T) {
	x := rnd(7, 3, 6, 4)
	for _, axis := range []int{0, 1, 2, -1} {
		for _, largest := range []bool{true, false} {
			ax := (axis + 3) % 3
			n := x.Size(ax)
			for _, k := range []int{0, 1, 2, n} {
				v, idx := x.TopK(k, axis, largest, true)
				if idx.DType() != bp.Int64 {
					t.Fatalf("indices are %v", idx.DType())
				}
				// Each slice against a sort of it.
				shape := x.Shape()
				shape[ax] = 1
				count := shape[0] * shape[1] * shape[2]
				for s := range count {
					pos := []int{s / (shape[1] * shape[2]), s / shape[2] % shape[1], s % shape[2]}
					vals := make([]float64, n)
					for j := range n {
						p := append([]int(nil), pos...)
						p[ax] = j
						vals[j] = x.At(p...)
					}
					sorted := append([]float64(nil), vals...)
					sort.Float64s(sorted)
					if largest {
						for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
							sorted[i], sorted[j] = sorted[j], sorted[i]
						}
					}
					for j := range k {
						p := append([]int(nil), pos...)
						p[ax] = j
						if got := v.At(p...); got != sorted[j] {
							t.Fatalf("axis %d largest %v k %d slice %v: value %d = %v, want %v", axis, largest, k, pos, j, got, sorted[j])
						}
						if i := int(idx.At(p...)); vals[i] != sorted[j] {
							t.Fatalf("axis %d k %d: index %d points at %v, want %v", axis, k, i, vals[i], sorted[j])
						}
					}
				}
			}
		}
	}
	// Ties keep their order; NaN is the largest; int64 works.
	v, i := bp.FromFloat64s([]float64{1, 3, math.NaN(), 3, 0}).TopK(3, 0, true, true)
	if got := i.Ints(); !equalInts(got, []int{2, 1, 3}) || !math.IsNaN(v.At(0)) {
		t.Errorf("ties and NaN: values %v indices %v", v.Float64s(), got)
	}
	_, i = bp.FromInts([]int{5, -2, 9, 5}).TopK(2, 0, false, true)
	if got := i.Ints(); !equalInts(got, []int{1, 0}) {
		t.Errorf("int64 smallest: %v", got)
	}
	mustPanic(t, "TopK: k = 4 out of range for axis 0 of shape [3]", func() { rnd(1, 3).TopK(4, 0, true, true) })
	mustPanic(t, "TopK: k = -1", func() { rnd(1, 3).TopK(-1, 0, true, true) })
}

func TestTopKGrad(t *testing.T) {
	checkGrad2(t, "TopK", func(xs ...*bp.Tensor) *bp.Tensor {
		v, _ := xs[0].TopK(2, 1, true, true)
		return v.Square()
	}, rnd(3, 3, 5))
	checkGrad2(t, "TopK smallest non-contiguous", func(xs ...*bp.Tensor) *bp.Tensor {
		v, _ := xs[0].TopK(3, 0, false, false)
		return v.Tanh()
	}, nonContig(4, 4, 3))
}
