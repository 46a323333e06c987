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
	// The float32 backward against float64's.
	xa := x32.To(bp.Float32).Detach().SetRequiresGrad(true)
	xb := xa.To(bp.Float64).Detach().SetRequiresGrad(true)
	xa.GELUTanh().Sum().Backward()
	xb.GELUTanh().Sum().Backward()
	ga, gb := xa.Grad().Float64s(), xb.Grad().Float64s()
	for i := range ga {
		if math.Abs(ga[i]-gb[i]) > 1e-6 {
			t.Fatalf("float32 GELUTanh'(%v) = %v, float64 %v", xb.At(i), ga[i], gb[i])
		}
	}
	f := func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].GELUTanh() }
	checkGrad2(t, "GELUTanh", f, rnd(1, 3, 4).MulScalar(2))
	checkGrad2(t, "GELUTanh non-contiguous", f, nonContig(2, 4, 3))
}

// float32 GELU (the vectorized kernels) against float64, forward and the
// fused backward, over the range where the values matter and the tails.
func TestGELUFloat32(t *testing.T) {
	x64 := rnd(5, 4099).MulScalar(4)
	x32 := x64.To(bp.Float32).Detach().SetRequiresGrad(true)
	xr := x32.To(bp.Float64).Detach().SetRequiresGrad(true) // the same values
	g64 := rnd(6, 4099)
	y32, y64 := x32.GELU(), xr.GELU()
	y32.BackwardWith(g64.To(bp.Float32), bp.BackwardOptions{})
	y64.BackwardWith(g64.To(bp.Float32).To(bp.Float64), bp.BackwardOptions{})
	a, b := y32.Float64s(), y64.Float64s()
	ga, gb := x32.Grad().Float64s(), xr.Grad().Float64s()
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-6*math.Abs(b[i])+1e-30 {
			t.Fatalf("GELU(%v): float32 %v, float64 %v", xr.At(i), a[i], b[i])
		}
		if math.Abs(ga[i]-gb[i]) > 2e-6*math.Abs(g64.At(i))+1e-30 {
			t.Fatalf("GELU backward at %v: float32 %v, float64 %v", xr.At(i), ga[i], gb[i])
		}
	}
	// The second derivative through CreateGraph, in float32 too.
	x := bp.FromFloat32s([]float32{-2, -0.5, 0.3, 1.7}).SetRequiresGrad(true)
	gs := bp.Gradients([]*bp.Tensor{x.GELU().Sum()}, nil, []*bp.Tensor{x}, bp.BackwardOptions{CreateGraph: true})
	h := bp.Gradients([]*bp.Tensor{gs[0].Sum()}, nil, []*bp.Tensor{x}, bp.BackwardOptions{})[0].Float64s()
	for i, v := range []float64{-2, -0.5, 0.3, 1.7} {
		want := math.Exp(-v*v/2) / math.Sqrt(2*math.Pi) * (2 - v*v)
		if math.Abs(h[i]-want) > 1e-6 {
			t.Errorf("GELU''(%v) = %v, want %v", v, h[i], want)
		}
	}
	checkGrad2(t, "GELU", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].GELU() }, rnd(7, 3, 5).MulScalar(2))
}
