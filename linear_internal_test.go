package backprop

import (
	"slices"
	"testing"
)

// fillRows and gemm2d write a view into a longer buffer from its offset,
// leaving the rows before and after it alone.
func TestLinearKernelsWriteFromOffset(t *testing.T) {
	for _, dt := range []DType{Float32, Float64} {
		base := FromFloat64s([]float64{9, 9, 9, 9, 9, 9, 9, 9}, 4, 2).To(dt)
		out := base.Narrow(0, 1, 2)
		if out.offset != 2 || !out.IsContiguous() {
			t.Fatalf("%v: want a contiguous view at offset 2, got offset %d", dt, out.offset)
		}
		fillRows(out, FromFloat64s([]float64{1, 2}, 2).To(dt))
		want := []float64{9, 9, 1, 2, 1, 2, 9, 9}
		if got := base.Float64s(); !slices.Equal(got, want) {
			t.Errorf("%v: fillRows: buffer %v, want %v", dt, got, want)
		}
		x := FromFloat64s([]float64{1, 0, 0, 1}, 2, 2).To(dt)
		w := FromFloat64s([]float64{10, 20, 30, 40}, 2, 2).To(dt)
		gemm2d(out, x, w.transposed(), 2, 2, 2, 1)
		want = []float64{9, 9, 11, 32, 21, 42, 9, 9}
		if got := base.Float64s(); !slices.Equal(got, want) {
			t.Errorf("%v: gemm2d: buffer %v, want %v", dt, got, want)
		}
	}
}
