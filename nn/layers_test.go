package nn

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestConv2dGrad(t *testing.T) {
	cases := []struct {
		name       string
		in, out, k int
		opt        bp.Conv2dOptions
		x          []int
		noBias     bool
	}{
		{"plain", 2, 3, 3, bp.Conv2dOptions{}, []int{2, 2, 5, 5}, false},
		{"stride 2 padding 1", 2, 2, 3, bp.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, []int{1, 2, 5, 6}, false},
		{"dilation 2", 1, 2, 2, bp.Conv2dOptions{Dilation: [2]int{2, 2}, Padding: [2]int{1, 0}}, []int{2, 1, 5, 5}, false},
		{"groups 2", 4, 2, 3, bp.Conv2dOptions{Groups: 2, Padding: [2]int{1, 1}}, []int{1, 4, 4, 4}, false},
		{"no bias", 2, 2, 1, bp.Conv2dOptions{Stride: [2]int{1, 2}}, []int{2, 2, 3, 4}, true},
	}
	for i, c := range cases {
		m := To(NewConv2d(c.in, c.out, c.k, c.opt, bp.NewRNG(uint64(i))), bp.Float64)
		if c.noBias {
			m.Bias = nil
		}
		checkModule(t, "Conv2d "+c.name, m, rnd(uint64(10+i), c.x...), nil)
	}
}

func TestPoolGrad(t *testing.T) {
	checkModule(t, "MaxPool2d", NewMaxPool2d(2), rnd(1, 2, 2, 4, 5), nil)
	checkModule(t, "MaxPool2d stride 1 padding 1", &MaxPool2d{Opt: bp.Pool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}}, rnd(2, 1, 2, 4, 4), nil)
	checkModule(t, "AvgPool2d", NewAvgPool2d(2), rnd(3, 2, 2, 4, 4), nil)
	checkModule(t, "AvgPool2d padding 1", &AvgPool2d{Opt: bp.Pool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}}, rnd(4, 1, 2, 5, 5), nil)
	y := NewMaxPool2d(2).Forward(bp.Float64.Arange(0, 16, 1).Reshape(1, 1, 4, 4))
	near(t, "MaxPool2d values", y.Float64s(), []float64{5, 7, 13, 15}, 0)
}

func TestDropout(t *testing.T) {
	// With the mask fixed by re-seeding the generator on every evaluation,
	// dropout is linear in x and must check exactly.
	d := NewDropout(0.4, nil)
	checkModule(t, "Dropout", d, rnd(1, 6, 7), func() { d.RNG = bp.NewRNG(42) })

	// Inverted scaling: survivors are x/(1-p), and about 1-p of them survive.
	d = NewDropout(0.25, bp.NewRNG(3))
	x := bp.Ones(100, 100)
	y := d.Forward(x).Float64s()
	kept := 0
	for _, v := range y {
		switch {
		case v == 0:
		case math.Abs(v-1/0.75) < 1e-6:
			kept++
		default:
			t.Fatalf("dropout output %v is neither 0 nor 1/(1-p)", v)
		}
	}
	if f := float64(kept) / 1e4; math.Abs(f-0.75) > 0.02 {
		t.Errorf("kept fraction %v, want about 0.75", f)
	}
	// Identity in evaluation mode, and for p = 0; all zero for p = 1.
	Eval(d)
	if got := d.Forward(x); got != x {
		t.Errorf("eval-mode dropout is not the identity")
	}
	if got := NewDropout(0, nil).Forward(x); got != x {
		t.Errorf("p = 0 dropout is not the identity")
	}
	if s := NewDropout(1, nil).Forward(x).Sum().Item(); s != 0 {
		t.Errorf("p = 1 dropout sums to %v", s)
	}
	mustPanic(t, "nn: NewDropout: probability 1.5", func() { NewDropout(1.5, nil) })
	mustPanic(t, "nn: Dropout: nil", func() { NewDropout(0.5, nil).Forward(x) })
}

func TestEmbedding(t *testing.T) {
	m := To(NewEmbedding(5, 3, bp.NewRNG(1)), bp.Float64)
	ids := bp.FromInts([]int{4, 0, 4, 2, 1, 4}, 2, 3)
	y := m.Forward(ids)
	if !sameInts(y.Shape(), []int{2, 3, 3}) {
		t.Fatalf("shape %v, want [2 3 3]", y.Shape())
	}
	w := m.Weight.Float64s()
	for i, id := range ids.Ints() {
		for j := range 3 {
			if got := y.Float64s()[i*3+j]; got != w[id*3+j] {
				t.Fatalf("row %d: got %v, want weight[%d][%d] = %v", i, got, id, j, w[id*3+j])
			}
		}
	}
	checkFunc(t, "Embedding", func(xs ...*bp.Tensor) *bp.Tensor {
		m.Weight = xs[0]
		return m.Forward(ids)
	}, m.Weight)

	// Only looked-up rows get a gradient (repeated ids add up).
	m = NewEmbedding(5, 2, bp.NewRNG(2))
	m.Forward(ids).Sum().Backward()
	near(t, "Embedding grad", m.Weight.Grad().Float64s(), []float64{1, 1, 1, 1, 1, 1, 0, 0, 3, 3}, 0)

	// torch's N(0, 1) init.
	big := NewEmbedding(1000, 100, bp.NewRNG(3)).Weight
	mean := big.Mean().Item()
	std := math.Sqrt(big.Var().Item())
	if math.Abs(mean) > 0.01 || math.Abs(std-1) > 0.01 {
		t.Errorf("embedding init mean %v std %v, want N(0, 1)", mean, std)
	}
	mustPanic(t, "nn: Embedding: ids are float32", func() { m.Forward(bp.Zeros(2)) })
}

func TestActivationGrad(t *testing.T) {
	kinky := rnd(1, 3, 4) // ReLU's kink at 0 is met with probability 0
	mods := []struct {
		name string
		m    Module
	}{
		{"ReLU", NewReLU()},
		{"LeakyReLU", NewLeakyReLU(0.1)},
		{"GELU", NewGELU()},
		{"Tanh", NewTanh()},
		{"Sigmoid", NewSigmoid()},
		{"Softmax", NewSoftmax(1)},
		{"LogSoftmax", NewLogSoftmax(-1)},
		{"Softmax axis 0", NewSoftmax(0)},
		{"Flatten", NewFlatten()},
		{"Sequential", NewSequential(NewTanh(), NewLogSoftmax(1), NewSigmoid())},
	}
	for _, c := range mods {
		checkModule(t, c.name, c.m, kinky, nil)
	}
	y := NewFlatten().Forward(bp.Zeros(2, 3, 4, 5))
	if !sameInts(y.Shape(), []int{2, 60}) {
		t.Errorf("Flatten shape %v, want [2 60]", y.Shape())
	}
	s := NewSoftmax(1).Forward(rnd(2, 3, 4)).Sum(1).Float64s()
	near(t, "softmax row sums", s, []float64{1, 1, 1}, 1e-12)
}

// nn.GELU follows torch.nn.GELU's approximate argument: exact by default,
// the tanh form when asked, and a clear panic for anything else.
func TestGELUApproximate(t *testing.T) {
	x := bp.FromFloat64s([]float64{-2, -0.5, 0, 0.7, 3})
	exact := NewGELU().Forward(x).Float64s()
	tanh := NewGELUTanh().Forward(x).Float64s()
	for i, v := range x.Float64s() {
		want := 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		if math.Abs(exact[i]-want) > 1e-15 {
			t.Errorf("exact GELU(%v) = %v, want %v", v, exact[i], want)
		}
		wantT := 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		if math.Abs(tanh[i]-wantT) > 1e-15 {
			t.Errorf("tanh GELU(%v) = %v, want %v", v, tanh[i], wantT)
		}
	}
	if tanh[1] == exact[1] {
		t.Errorf("the tanh form equals the exact one at -0.5: %v", tanh[1])
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("approximate \"sigmoid\" was accepted")
		}
	}()
	(&GELU{Approximate: "sigmoid"}).Forward(x)
}
