package nn

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestLossGrad(t *testing.T) {
	labels := bp.FromInts([]int{2, 0, 3, 3, 1})
	logits := rnd(1, 5, 4).MulScalar(2)
	checkFunc(t, "CrossEntropy", func(xs ...*bp.Tensor) *bp.Tensor { return CrossEntropy(xs[0], labels) }, logits)
	for _, r := range []Reduction{ReduceMean, ReduceSum, ReduceNone} {
		checkFunc(t, "CrossEntropy label smoothing", func(xs ...*bp.Tensor) *bp.Tensor {
			return CrossEntropyWith(xs[0], labels, CrossEntropyOptions{LabelSmoothing: 0.2, Reduction: r})
		}, logits)
	}
	checkFunc(t, "CrossEntropy non-contiguous", func(xs ...*bp.Tensor) *bp.Tensor { return CrossEntropy(xs[0].T(), labels) }, rnd(2, 4, 5))
	checkFunc(t, "SVMLoss", func(xs ...*bp.Tensor) *bp.Tensor { return SVMLoss(xs[0], labels) }, logits)
	checkFunc(t, "Hinge margin 0.5", func(xs ...*bp.Tensor) *bp.Tensor { return Hinge(xs[0], labels, 0.5) }, logits)
	checkFunc(t, "MSE", func(xs ...*bp.Tensor) *bp.Tensor { return MSE(xs[0], xs[1]) }, rnd(3, 3, 4), rnd(4, 3, 4))
	targets := rnd(5, 3, 4).Sigmoid()
	checkFunc(t, "BCEWithLogits", func(xs ...*bp.Tensor) *bp.Tensor { return BCEWithLogits(xs[0], xs[1]) }, rnd(6, 3, 4).MulScalar(3), targets)
	checkFunc(t, "Softplus", func(xs ...*bp.Tensor) *bp.Tensor { return Softplus(xs[0]) }, rnd(7, 10).MulScalar(5))
	checkFunc(t, "L2Penalty", func(xs ...*bp.Tensor) *bp.Tensor {
		return L2Penalty([]bp.Param{{Name: "a", T: xs[0]}, {Name: "b", T: xs[1]}}, 0.3)
	}, rnd(8, 3, 2), rnd(9, 4))
}

func TestBCEWithLogitsGradAtZero(t *testing.T) {
	// d/dx = sigmoid(x) - t everywhere, including x = 0, where a formula
	// built from |x| and max(x, 0) would lose the 1/2.
	x := bp.Float64.Zeros(1).SetRequiresGrad(true)
	BCEWithLogits(x, bp.Float64.Zeros(1)).Backward()
	if g := x.Grad().Item(); g != 0.5 {
		t.Errorf("gradient at 0 = %v, want 0.5", g)
	}
}

func TestHingeValues(t *testing.T) {
	scores := rnd(1, 6, 5)
	labels := bp.FromInts([]int{0, 4, 2, 2, 1, 3})
	s := scores.Float64s()
	for _, margin := range []float64{1, 0.3} {
		want := 0.0
		for i, y := range labels.Ints() {
			for j := range 5 {
				if j != y {
					want += math.Max(0, s[i*5+j]-s[i*5+y]+margin)
				}
			}
		}
		want /= 6
		if got := Hinge(scores, labels, margin).Item(); math.Abs(got-want) > 1e-12 {
			t.Errorf("Hinge(margin %v) = %v, want %v", margin, got, want)
		}
	}
}

func TestMSEValue(t *testing.T) {
	got := MSE(bp.FromFloat64s([]float64{1, 2, 3, 4}, 2, 2), bp.FromFloat64s([]float64{1, 0, 0, 5}, 2, 2)).Item()
	if got != (0+4+9+1)/4.0 {
		t.Errorf("MSE = %v, want 3.5", got)
	}
}

func TestL2Penalty(t *testing.T) {
	// 0.5·λ·Σw², whose gradient λ·w is SGD's weight_decay = λ.
	w := bp.FromFloat64s([]float64{1, -2, 3}).SetRequiresGrad(true)
	p := L2Penalty([]bp.Param{{Name: "w", T: w}}, 0.1)
	if v := p.Item(); math.Abs(v-0.7) > 1e-15 {
		t.Errorf("penalty = %v, want 0.7", v)
	}
	p.Backward()
	near(t, "penalty gradient", w.Grad().Float64s(), []float64{0.1, -0.2, 0.3}, 1e-15)
	if v := L2Penalty(nil, 1).Item(); v != 0 {
		t.Errorf("empty penalty = %v", v)
	}
}

// Expected values from testdata/torch_ref.py (PyTorch 1.13, float64):
// F.cross_entropy on logits 3·seq(0.8, 0.5) of shape [4, 5] and labels
// [0, 3, 4, 1], and F.binary_cross_entropy_with_logits on the x and t below.
func TestLossesMatchTorch(t *testing.T) {
	logits := seq(0.8, 0.5, 4, 5).MulScalar(3)
	labels := bp.FromInts([]int{0, 3, 4, 1})
	near(t, "cross_entropy", []float64{CrossEntropy(logits, labels).Item()}, []float64{4.3930301954487962}, 1e-13)
	near(t, "cross_entropy label_smoothing=0.1", []float64{CrossEntropyWith(logits, labels, CrossEntropyOptions{LabelSmoothing: 0.1}).Item()}, []float64{4.4639247061397915}, 1e-13)
	near(t, "cross_entropy label_smoothing=0.25 none",
		CrossEntropyWith(logits, labels, CrossEntropyOptions{LabelSmoothing: 0.25, Reduction: ReduceNone}).Float64s(),
		[]float64{3.4989048801755582, 3.536590149661607, 8.675382495261017, 2.570188363606956}, 1e-13)
	near(t, "cross_entropy label_smoothing=0.25 sum",
		[]float64{CrossEntropyWith(logits, labels, CrossEntropyOptions{LabelSmoothing: 0.25, Reduction: ReduceSum}).Item()},
		[]float64{18.28106588870514}, 1e-13)

	x := bp.FromFloat64s([]float64{-100, -30, -2.5, -0.1, 0, 0.3, 4, 40, 120})
	tg := bp.FromFloat64s([]float64{0, 1, 0.2, 1, 0.5, 0, 1, 0, 1})
	near(t, "binary_cross_entropy_with_logits", []float64{BCEWithLogits(x, tg).Item()}, []float64{8.0987709719236101}, 1e-13)
	// float32 stays finite at the extremes too.
	if v := BCEWithLogits(x.To(bp.Float32), tg.To(bp.Float32)).Item(); math.Abs(v-8.0987709719236101) > 1e-5 {
		t.Errorf("float32 BCEWithLogits = %v", v)
	}
	// Cross-entropy from huge logits stays finite.
	huge := bp.FromFloat32s([]float32{1000, 0, -1000, 0, 2000, 0}, 2, 3)
	if v := CrossEntropy(huge, bp.FromInts([]int{2, 1})).Item(); math.Abs(v-1000) > 1e-3 { // (2000 + 0) / 2
		t.Errorf("cross-entropy of huge logits = %v, want 1000", v)
	}
}

func TestAccuracy(t *testing.T) {
	logits := bp.FromFloat32s([]float32{
		0, 1, 0,
		2, 1, 0,
		0, 0, 5,
		1, 1, 0, // tie: the first maximum wins
	}, 4, 3)
	labels := bp.FromInts([]int{1, 1, 2, 0})
	if c := Correct(logits, labels); c != 3 {
		t.Errorf("Correct = %d, want 3", c)
	}
	if a := Accuracy(logits, labels); a != 0.75 {
		t.Errorf("Accuracy = %v, want 0.75", a)
	}
}

func TestLossErrors(t *testing.T) {
	logits := bp.Zeros(3, 4)
	mustPanic(t, "nn: CrossEntropy: label 4 of example 1 is out of range for 4 classes", func() { CrossEntropy(logits, bp.FromInts([]int{0, 4, 1})) })
	mustPanic(t, "nn: CrossEntropy: labels are float32", func() { CrossEntropy(logits, bp.Zeros(3)) })
	mustPanic(t, "want int64 [3]", func() { CrossEntropy(logits, bp.FromInts([]int{0, 1})) })
	mustPanic(t, "nn: Hinge: scores are float32 of shape [12]", func() { SVMLoss(logits.Reshape(12), bp.FromInts([]int{0})) })
	mustPanic(t, "label smoothing 2", func() {
		CrossEntropyWith(logits, bp.FromInts([]int{0, 1, 2}), CrossEntropyOptions{LabelSmoothing: 2})
	})
	mustPanic(t, "nn: MSE: prediction of shape [3 4], target of shape [4 3]", func() { MSE(logits, bp.Zeros(4, 3)) })
	mustPanic(t, "nn: BCEWithLogits: logits of shape [3 4]", func() { BCEWithLogits(logits, bp.Zeros(3)) })
}
