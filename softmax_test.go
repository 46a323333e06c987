package backprop_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestSoftmaxGrads(t *testing.T) {
	cases := []struct {
		x    *bp.Tensor
		axis int
	}{
		{rnd(1, 5), 0},
		{rnd(2, 3, 4), 0},
		{rnd(3, 3, 4), 1},
		{nonContig(4, 3, 4), -1},
		{nonContig(5, 2, 3, 4), 1},
		{nonContig(6, 2, 3, 4), -3},
		{rnd(7, 2, 1, 3), 1}, // an axis of length 1: softmax is 1, gradient 0
		{rnd(8), 0},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%v axis %d", c.x.Shape(), c.axis)
		checkGrad2(t, "Softmax "+name, func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Softmax(c.axis) }, c.x)
		checkGrad2(t, "LogSoftmax "+name, func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].LogSoftmax(c.axis) }, c.x)
	}
	// Scaled inputs, where the softmax is far from uniform.
	big := rnd(9, 3, 5).MulScalar(4)
	checkGrad2(t, "Softmax peaked", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Softmax(1) }, big)
	checkGrad2(t, "LogSoftmax peaked", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].LogSoftmax(1) }, big)
	// Composed: the output and the input meet again.
	x := nonContig(10, 3, 4)
	checkGrad2(t, "x*Softmax", func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Mul(xs[0].Softmax(0)) }, x)
	checkGrad2(t, "Softmax*LogSoftmax", func(xs ...*bp.Tensor) *bp.Tensor {
		return xs[0].Softmax(1).Mul(xs[0].LogSoftmax(1)).Sum(1)
	}, x)
}

func TestSoftmaxValues(t *testing.T) {
	x := bp.NewRNG(3).Normal(0, 3, 4, 6) // float32
	for _, axis := range []int{0, 1, -1} {
		y := x.Softmax(axis)
		if y.DType() != bp.Float32 || !slices.Equal(y.Shape(), []int{4, 6}) {
			t.Fatalf("Softmax(%d): %v %v", axis, y.DType(), y.Shape())
		}
		for i, s := range y.Sum(axis).Float64s() {
			if math.Abs(s-1) > 1e-6 {
				t.Errorf("Softmax(%d): slice %d sums to %v", axis, i, s)
			}
		}
	}
	v := bp.FromFloat64s([]float64{1, 2, 3})
	z := math.Exp(1) + math.Exp(2) + math.Exp(3)
	got := v.Softmax(0).Float64s()
	for i, w := range []float64{math.Exp(1) / z, math.Exp(2) / z, math.Exp(3) / z} {
		if math.Abs(got[i]-w) > 1e-15 {
			t.Errorf("Softmax([1 2 3])[%d] = %v, want %v", i, got[i], w)
		}
	}
	// Large inputs do not overflow.
	h := bp.FromFloat32s([]float32{1000, 1000, 1000, 1000}).Softmax(0).Float64s()
	if !slices.Equal(h, []float64{0.25, 0.25, 0.25, 0.25}) {
		t.Errorf("Softmax of [1000 ×4] = %v", h)
	}
	if s := bp.Scalar(5).Softmax(0).Item(); s != 1 {
		t.Errorf("Softmax of a scalar = %v", s)
	}
	// A transposed view gives the same values as its contiguous copy.
	m := bp.NewRNG(4).Normal(0, 1, 5, 3)
	a, b := tr2(m).Softmax(1).Float32s(), tr2(m).Contiguous().Softmax(1).Float32s()
	if !slices.Equal(a, b) {
		t.Errorf("Softmax of transposed %v, contiguous %v", a, b)
	}
	if e := bp.Zeros(0, 3).Softmax(1); !slices.Equal(e.Shape(), []int{0, 3}) {
		t.Errorf("Softmax of empty has shape %v", e.Shape())
	}
}

func TestLogSoftmaxValues(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		got := bp.FromFloat64s([]float64{1000, 0}).To(dt).LogSoftmax(0)
		if v := got.Float64s(); v[0] != 0 || v[1] != -1000 {
			t.Errorf("%v LogSoftmax([1000 0]) = %v, want [0 -1000]", dt, v)
		}
	}
	x := bp.FromFloat64s([]float64{0.5, -1, 2, 3, 3, 3}, 2, 3)
	ls := x.LogSoftmax(1)
	sm := x.Softmax(1)
	for i := range 2 {
		for j := range 3 {
			if d := math.Exp(ls.At(i, j)) - sm.At(i, j); math.Abs(d) > 1e-15 {
				t.Errorf("exp(LogSoftmax) - Softmax at (%d,%d) = %v", i, j, d)
			}
		}
	}
	if v := ls.At(1, 0); math.Abs(v+math.Log(3)) > 1e-15 {
		t.Errorf("LogSoftmax of equal values = %v, want -log 3", v)
	}
}

func TestSoftmaxAxisErrors(t *testing.T) {
	x := bp.Zeros(2, 3)
	mustPanic(t, "backprop: Softmax: axis 2 out of range for 2 dimensions", func() { x.Softmax(2) })
	mustPanic(t, "backprop: LogSoftmax: axis -3 out of range", func() { x.LogSoftmax(-3) })
	mustPanic(t, "backprop: Softmax: needs a float tensor", func() { bp.FromInts([]int{1}).Softmax(0) })
}
