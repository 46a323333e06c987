package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// ceReference is the cross-entropy written with the unfused ops.
func ceReference(logits, labels *bp.Tensor) *bp.Tensor {
	n := labels.Size(0)
	return logits.LogSoftmax(1).Gather(1, labels.Reshape(n, 1)).Neg().Mean()
}

func TestCrossEntropyFromLogitsValues(t *testing.T) {
	for _, shape := range [][2]int{{1, 1}, {5, 3}, {7, 10}, {3, 1500}} {
		n, c := shape[0], shape[1]
		logits := rnd(uint64(n*c), n, c).MulScalar(3)
		lab := make([]int, n)
		for i := range lab {
			lab[i] = (i * 7) % c
		}
		labels := bp.FromInts(lab, n)
		got, want := bp.CrossEntropyFromLogits(logits, labels).Item(), ceReference(logits, labels).Item()
		if math.Abs(got-want) > 1e-13*math.Max(1, math.Abs(want)) {
			t.Errorf("%v: %v, unfused %v", shape, got, want)
		}
	}
	// Against torch.nn.functional.cross_entropy on fixed numbers.
	logits := bp.FromFloat64s([]float64{1, 2, 3, -1, 0, 5}, 2, 3)
	labels := bp.FromInts([]int{2, 0}, 2)
	// (-(3 - lse(1,2,3)) - (-1 - lse(-1,0,5))) / 2
	lse := func(v ...float64) float64 {
		s := 0.0
		for _, x := range v {
			s += math.Exp(x)
		}
		return math.Log(s)
	}
	want := ((lse(1, 2, 3) - 3) + (lse(-1, 0, 5) + 1)) / 2
	if got := bp.CrossEntropyFromLogits(logits, labels).Item(); math.Abs(got-want) > 1e-15 {
		t.Errorf("fixed: %v, want %v", got, want)
	}
	// Huge logits neither overflow nor lose the small terms.
	big := bp.FromFloat64s([]float64{1000, 0, -1000, 1000}, 2, 2)
	if got := bp.CrossEntropyFromLogits(big, bp.FromInts([]int{1, 0}, 2)).Item(); math.Abs(got-(1000+math.Log1p(math.Exp(-1000))+2000)/2) > 1e-9 {
		t.Errorf("large logits: %v", got)
	}
	if v := bp.CrossEntropyFromLogits(bp.Float64.Zeros(0, 3), bp.FromInts(nil, 0)).Item(); !math.IsNaN(v) {
		t.Errorf("empty batch: %v, want NaN", v)
	}
	// float32 matches float64 to float32 precision.
	x := rnd(5, 16, 10)
	y := bp.FromInts([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5}, 16)
	a, b := bp.CrossEntropyFromLogits(x.To(bp.Float32), y).Item(), bp.CrossEntropyFromLogits(x, y).Item()
	if math.Abs(a-b) > 1e-6 {
		t.Errorf("float32 %v, float64 %v", a, b)
	}
}

func TestCrossEntropyFromLogitsGrad(t *testing.T) {
	labels := bp.FromInts([]int{2, 0, 3, 3, 1}, 5)
	f := func(xs ...*bp.Tensor) *bp.Tensor { return bp.CrossEntropyFromLogits(xs[0], labels) }
	checkGrad2(t, "CrossEntropyFromLogits", f, rnd(1, 5, 4))
	checkGrad2(t, "CrossEntropyFromLogits non-contiguous", f, nonContig(2, 5, 4))
	// Scaled inside a larger graph, so the upstream gradient is not 1.
	checkGrad2(t, "CrossEntropyFromLogits scaled", func(xs ...*bp.Tensor) *bp.Tensor {
		return bp.CrossEntropyFromLogits(xs[0].Tanh(), labels).Mul(xs[1].Sum())
	}, rnd(3, 5, 4), rnd(4, 3))

	// The fused backward equals the unfused one, in float32 too.
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		x1 := rnd(6, 5, 4).To(dt).SetRequiresGrad(true)
		x2 := rnd(6, 5, 4).To(dt).SetRequiresGrad(true)
		bp.CrossEntropyFromLogits(x1, labels).MulScalar(3).Backward()
		ceReference(x2, labels).MulScalar(3).Backward()
		g1, g2 := x1.Grad().Float64s(), x2.Grad().Float64s()
		for i := range g1 {
			if math.Abs(g1[i]-g2[i]) > 1e-6 {
				t.Fatalf("%v: gradient %d is %v, unfused %v", dt, i, g1[i], g2[i])
			}
		}
	}
}

func TestCrossEntropyFromLogitsPanics(t *testing.T) {
	x := rnd(1, 3, 4)
	mustPanic(t, "CrossEntropyFromLogits: logits of shape [12]", func() { bp.CrossEntropyFromLogits(x.Reshape(12), bp.FromInts([]int{0}, 1)) })
	mustPanic(t, "CrossEntropyFromLogits: labels are float64", func() { bp.CrossEntropyFromLogits(x, rnd(2, 3)) })
	mustPanic(t, "want int64 [3]", func() { bp.CrossEntropyFromLogits(x, bp.FromInts([]int{0, 1}, 2)) })
	mustPanic(t, "label 4 out of range for 4 classes", func() { bp.CrossEntropyFromLogits(x, bp.FromInts([]int{0, 4, 1}, 3)) })
	mustPanic(t, "label -1 out of range", func() { bp.CrossEntropyFromLogits(x, bp.FromInts([]int{0, -1, 1}, 3)) })
	mustPanic(t, "CrossEntropyFromLogits: needs a float tensor", func() {
		bp.CrossEntropyFromLogits(bp.FromInts([]int{1, 2}, 1, 2), bp.FromInts([]int{0}, 1))
	})
}
