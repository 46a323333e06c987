package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestGELUTanh(t *testing.T) {
	// Reference values from PyTorch 1.13, gelu(x, approximate="tanh") in
	// float64.
	x := bp.FromFloat64s([]float64{-3, -1, -0.5, 0, 0.5, 2, 6})
	want := []float64{-0.0036373920817729943, -0.15880800939172324, -0.15428599017485606, 0.0, 0.34571400982514394, 1.954597694087775, 5.9999999999156035}
	got := x.GELUTanh().Float64s()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15*(1+math.Abs(want[i])) {
			t.Errorf("GELUTanh(%v) = %v, PyTorch %v", x.At(i), got[i], want[i])
		}
	}
	x32 := rnd(3, 1000).MulScalar(3)
	a, b := x32.To(bp.Float32).GELUTanh().Float64s(), x32.GELUTanh().Float64s()
	for i := range a {
		if math.Abs(a[i]-b[i]) > 4e-7*(1+math.Abs(b[i])) {
			t.Fatalf("float32 GELUTanh(%v) = %v, float64 %v", x32.At(i), a[i], b[i])
		}
	}
	f := func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].GELUTanh() }
	checkGrad2(t, "GELUTanh", f, rnd(1, 3, 4).MulScalar(2))
	checkGrad2(t, "GELUTanh non-contiguous", f, nonContig(2, 4, 3))
}
