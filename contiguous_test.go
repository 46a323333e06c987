package backprop

import (
	"slices"
	"testing"
)

// contiguousData, which copies whole strided runs, gives what the
// element-by-element gather gives: transposes, permutations, slices with an
// offset, in every dtype.
func TestContiguousMatchesElementGather(t *testing.T) {
	base := Float64.Arange(0, 2*3*4*6, 1).Reshape(2, 3, 4, 6)
	views := map[string]*Tensor{
		"transpose12": base.Transpose(1, 2),
		"transpose01": base.Transpose(0, 1),
		"narrow":      base.Transpose(1, 2).Select(0, 1),
		"split":       base.Split(3, 2, 4)[1].Transpose(1, 2),
	}
	for name, v := range views {
		for _, dt := range []DType{Float32, Float64, Int64} {
			w := v
			if dt != Float64 {
				w = base.To(dt)
				switch name {
				case "transpose12":
					w = w.Transpose(1, 2)
				case "transpose01":
					w = w.Transpose(0, 1)
				case "narrow":
					w = w.Transpose(1, 2).Select(0, 1)
				case "split":
					w = w.Split(3, 2, 4)[1].Transpose(1, 2)
				}
			}
			if w.IsContiguous() {
				t.Fatalf("%s: view is contiguous; the test needs a strided one", name)
			}
			var want []float64
			w.eachOffset(func(p int) {
				switch dt {
				case Float32:
					want = append(want, float64(w.f32[p]))
				case Float64:
					want = append(want, w.f64[p])
				default:
					want = append(want, float64(w.i64[p]))
				}
			})
			got := w.contiguousData().Float64s()
			if !slices.Equal(got, want) {
				t.Fatalf("%s %v: %v, want %v", name, dt, got, want)
			}
		}
	}
}
