package nn

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/gradcheck"
)

// net is a model with named children, as a user would write one.
type net struct {
	Base
	FC1, FC2 *Linear
	Norm     *BatchNorm
	Drop     *Dropout
}

func newNet(rng *bp.RNG) *net {
	n := &net{FC1: NewLinear(4, 6, rng), Norm: NewBatchNorm1d(6), Drop: NewDropout(0.5, rng), FC2: NewLinear(6, 3, rng)}
	n.AddChild("fc1", n.FC1)
	n.AddChild("bn", n.Norm)
	n.AddChild("drop", n.Drop)
	n.AddChild("fc2", n.FC2)
	return n
}

func (n *net) Forward(x *bp.Tensor) *bp.Tensor {
	return n.FC2.Forward(n.Drop.Forward(n.Norm.Forward(n.FC1.Forward(x)).ReLU()))
}

func TestNames(t *testing.T) {
	n := newNet(bp.NewRNG(1))
	want := []string{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked", "fc2.weight", "fc2.bias"}
	if got := StateKeys(n); !slices.Equal(got, want) {
		t.Errorf("StateKeys = %v, want %v", got, want)
	}
	var pn []string
	for _, p := range Parameters(n) {
		pn = append(pn, p.Name)
		if !p.T.RequiresGrad() || !p.T.IsLeaf() {
			t.Errorf("parameter %s is not a leaf requiring a gradient", p.Name)
		}
	}
	if want := []string{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"}; !slices.Equal(pn, want) {
		t.Errorf("Parameters = %v, want %v", pn, want)
	}
	var bn []string
	for _, b := range Buffers(n) {
		bn = append(bn, b.Name)
		if b.T.RequiresGrad() {
			t.Errorf("buffer %s requires a gradient", b.Name)
		}
	}
	if want := []string{"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}; !slices.Equal(bn, want) {
		t.Errorf("Buffers = %v, want %v", bn, want)
	}
	if got := NumParams(n); got != 4*6+6+6+6+6*3+3 {
		t.Errorf("NumParams = %d", got)
	}
	var mods []string
	for _, m := range Modules(n) {
		mods = append(mods, m.Name)
	}
	if want := []string{"", "fc1", "bn", "drop", "fc2"}; !slices.Equal(mods, want) {
		t.Errorf("Modules = %v, want %v", mods, want)
	}

	// torch: nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).state_dict().keys()
	// (testdata/torch_ref.py).
	s := NewSequential(NewLinear(4, 3, bp.NewRNG(1)), NewBatchNorm1d(3))
	if got, want := StateKeys(s), []string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"}; !slices.Equal(got, want) {
		t.Errorf("Sequential keys = %v, want %v", got, want)
	}
	// A dropped bias disappears, as with torch's bias=False.
	l := NewLinear(2, 2, bp.NewRNG(1))
	l.Bias = nil
	if got := StateKeys(l); !slices.Equal(got, []string{"weight"}) {
		t.Errorf("keys without bias = %v", got)
	}
	if y := l.Forward(bp.Ones(1, 2)); !slices.Equal(y.Shape(), []int{1, 2}) {
		t.Errorf("shape %v", y.Shape())
	}
}

func TestRegistrationErrors(t *testing.T) {
	var b Base
	w := bp.Zeros(2)
	b.AddParam("w", &w)
	mustPanic(t, `nn: AddBuffer: name "w" is already a parameter`, func() { b.AddBuffer("w", &w) })
	mustPanic(t, `nn: AddChild: invalid name "a.b"`, func() { b.AddChild("a.b", NewReLU()) })
	mustPanic(t, `nn: AddChild: child "r" is nil`, func() { b.AddChild("r", nil) })
	i := bp.FromInts([]int{1})
	mustPanic(t, `nn: AddParam: parameter "i" is int64`, func() { b.AddParam("i", &i) })
}

func TestTiedParameters(t *testing.T) {
	a := NewLinear(3, 3, bp.NewRNG(1))
	b := NewLinear(3, 3, bp.NewRNG(2))
	b.Weight = a.Weight
	s := NewSequential(a, b)
	if n := len(Parameters(s)); n != 3 {
		t.Errorf("%d parameters, want 3 (the tied weight once)", n)
	}
	if n := len(StateDict(s)); n != 4 {
		t.Errorf("%d state dict entries, want 4", n)
	}
}

func TestLoadStateDict(t *testing.T) {
	src := newNet(bp.NewRNG(1))
	src.Forward(bp.NewRNG(9).Normal(0, 1, 5, 4)) // move the running statistics
	dst := newNet(bp.NewRNG(2))
	w := dst.FC1.Weight
	if err := LoadStateDict(dst, StateDict(src)); err != nil {
		t.Fatal(err)
	}
	if dst.FC1.Weight != w {
		t.Errorf("LoadStateDict replaced a tensor instead of copying into it")
	}
	for k, v := range StateDict(src) {
		if got := StateDict(dst)[k]; !slices.Equal(got.Float64s(), v.Float64s()) {
			t.Errorf("%s differs after loading", k)
		}
	}
	x := bp.NewRNG(3).Normal(0, 1, 5, 4)
	Eval(src)
	Eval(dst)
	if a, b := src.Forward(x).Float64s(), dst.Forward(x).Float64s(); !slices.Equal(a, b) {
		t.Errorf("outputs differ after loading: %v vs %v", a, b)
	}

	// Errors name every problem and change nothing.
	fresh := newNet(bp.NewRNG(4))
	before := fresh.FC1.Weight.Float64s()
	sd := StateDict(src)
	delete(sd, "fc2.bias")
	sd["fc3.weight"] = bp.Zeros(1)
	sd["fc1.weight"] = bp.Zeros(4, 6)
	sd["bn.running_mean"] = bp.Float64.Zeros(6)
	err := LoadStateDict(fresh, sd)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`missing key "fc2.bias"`,
		`unexpected key "fc3.weight"`,
		`key "fc1.weight": shape [4 6] in the state dict, [6 4] in the model`,
		`key "bn.running_mean": dtype float64 in the state dict, float32 in the model`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !strings.HasPrefix(err.Error(), "nn: LoadStateDict: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
	if !slices.Equal(fresh.FC1.Weight.Float64s(), before) {
		t.Errorf("a failed LoadStateDict changed the model")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 4 {
		t.Errorf("want 4 wrapped errors, got %v", err)
	}
}

func TestModes(t *testing.T) {
	n := newNet(bp.NewRNG(1))
	for _, m := range Modules(n) {
		if !m.M.base().Training() {
			t.Fatalf("%q is not in training mode at first", m.Name)
		}
	}
	Eval(n)
	for _, m := range Modules(n) {
		if m.M.base().Training() {
			t.Errorf("%q still training after Eval", m.Name)
		}
	}
	Train(n)
	if !n.Drop.Training() || !n.Norm.Training() {
		t.Errorf("Train did not reach the children")
	}
}

func TestEvalDeterminism(t *testing.T) {
	n := newNet(bp.NewRNG(1))
	x := bp.NewRNG(2).Normal(0, 1, 8, 4)
	a, b := n.Forward(x).Float64s(), n.Forward(x).Float64s()
	if slices.Equal(a, b) {
		t.Errorf("two training passes gave the same output: dropout masks do not change")
	}
	Eval(n)
	stats := n.Norm.RunningMean.Float64s()
	a, b = n.Forward(x).Float64s(), n.Forward(x).Float64s()
	if !slices.Equal(a, b) {
		t.Errorf("two evaluation passes differ")
	}
	if !slices.Equal(stats, n.Norm.RunningMean.Float64s()) {
		t.Errorf("evaluation changed the running mean")
	}
}

func TestNoGradInference(t *testing.T) {
	n := Eval(newNet(bp.NewRNG(1)))
	x := bp.NewRNG(2).Normal(0, 1, 3, 4)
	y := n.Forward(x)
	if !y.RequiresGrad() || y.GradFn() == nil {
		t.Fatalf("a plain forward pass recorded no graph")
	}
	z := n.Forward(x.NoGrad())
	if z.RequiresGrad() || z.GradFn() != nil || !z.IsNoGrad() {
		t.Errorf("a NoGrad forward pass recorded a graph")
	}
	if !slices.Equal(y.Float64s(), z.Float64s()) {
		t.Errorf("NoGrad changed the values")
	}
	e := NewEmbedding(4, 2, bp.NewRNG(3))
	if out := e.Forward(bp.FromInts([]int{1, 3}).NoGrad()); out.RequiresGrad() || out.GradFn() != nil {
		t.Errorf("Embedding recorded a graph for NoGrad ids")
	}
	cnn, _ := NewModel("cnn", []int{1, 8, 8}, 3, bp.NewRNG(4))
	if out := cnn.Forward(bp.Zeros(1, 1, 8, 8).NoGrad()); out.RequiresGrad() {
		t.Errorf("CNN recorded a graph for a NoGrad input")
	}

	// Several goroutines may run inference on one model in evaluation mode.
	want := n.Forward(x.NoGrad()).Float64s()
	var wg sync.WaitGroup
	errs := make([]bool, 4)
	for g := range errs {
		wg.Go(func() {
			for range 20 {
				if !slices.Equal(n.Forward(x.NoGrad()).Float64s(), want) {
					errs[g] = true
				}
			}
		})
	}
	wg.Wait()
	if slices.Contains(errs, true) {
		t.Errorf("concurrent inference gave different results")
	}
}

func TestZeroGradAndTo(t *testing.T) {
	n := newNet(bp.NewRNG(1))
	CrossEntropy(n.Forward(bp.Ones(2, 4)), bp.FromInts([]int{0, 2})).Backward()
	if n.FC1.Weight.Grad() == nil {
		t.Fatal("no gradient after Backward")
	}
	ZeroGrad(n)
	for _, p := range Parameters(n) {
		if g := p.T.Grad(); g != nil && g.Abs().Sum().Item() != 0 {
			t.Errorf("%s: gradient not zeroed", p.Name)
		}
	}

	old := n.FC1.Weight.Float64s()
	To(n, bp.Float64)
	for _, p := range Parameters(n) {
		if p.T.DType() != bp.Float64 || !p.T.RequiresGrad() || !p.T.IsLeaf() {
			t.Errorf("%s after To: %v, requires grad %v, leaf %v", p.Name, p.T.DType(), p.T.RequiresGrad(), p.T.IsLeaf())
		}
	}
	if !slices.Equal(n.FC1.Weight.Float64s(), old) {
		t.Errorf("To changed the values")
	}
	if n.Norm.RunningVar.DType() != bp.Float64 || n.Norm.NumBatchesTracked.DType() != bp.Int64 {
		t.Errorf("buffers after To: %v, %v", n.Norm.RunningVar.DType(), n.Norm.NumBatchesTracked.DType())
	}
	if y := n.Forward(bp.Float64.Ones(2, 4)); y.DType() != bp.Float64 {
		t.Errorf("forward after To gives %v", y.DType())
	}
}

func TestLinearGrad(t *testing.T) {
	l := To(NewLinear(4, 3, bp.NewRNG(1)), bp.Float64)
	checkModule(t, "Linear", l, rnd(2, 5, 4), nil)
	checkModule(t, "Linear batched", l, rnd(3, 2, 3, 4), nil)
	checkModule(t, "Linear non-contiguous", l, rnd(4, 4, 5).T(), nil)
	l.Bias = nil
	checkModule(t, "Linear no bias", l, rnd(5, 5, 4), nil)
	mustPanic(t, "nn: Linear: input of shape [5 3], want [..., 4]", func() { l.Forward(rnd(6, 5, 3)) })

	// y = x·Wᵀ + b, with W [out, in] as in torch.
	l = To(NewLinear(2, 3, bp.NewRNG(1)), bp.Float64)
	l.Weight.CopyFrom(bp.FromFloat64s([]float64{1, 2, 3, 4, 5, 6}, 3, 2))
	l.Bias.CopyFrom(bp.FromFloat64s([]float64{0.5, 0, -1}))
	near(t, "Linear values", l.Forward(bp.FromFloat64s([]float64{1, -1}, 1, 2)).Float64s(), []float64{-0.5, -1, -2}, 0)
}

func TestModelGrad(t *testing.T) {
	mlp := To(NewMLP(6, []int{5, 4}, 3, bp.NewRNG(1)), bp.Float64)
	checkModule(t, "MLP", mlp, rnd(2, 3, 6), nil)
	n := To(newNet(bp.NewRNG(3)), bp.Float64)
	checkModule(t, "net with BatchNorm and Dropout", n, rnd(4, 5, 4), func() { n.Drop.RNG = bp.NewRNG(5) })
	// The CNN with respect to its input (its parameters are many). With
	// its many ReLU and max-pool kinks the default step of 1e-3 crosses
	// one; a smaller step stays on one side.
	cnn := To(NewCNN(1, 8, 8, 3, bp.NewRNG(6)), bp.Float64)
	r := gradcheck.CheckWith(gradcheck.Options{Step: 1e-5}, func(xs ...*bp.Tensor) *bp.Tensor { return cnn.Forward(xs[0]) }, rnd(7, 1, 1, 8, 8))
	if r.MaxRelErr > gradTol || r.MaxRelErr != r.MaxRelErr {
		t.Errorf("CNN input: %v", r)
	}
}

func TestInitRanges(t *testing.T) {
	// Bounds 1/sqrt(fan_in) and torch's own draws, from testdata/torch_ref.py
	// (torch.manual_seed(0)): max |w|, std(w) and max |b| of its layers.
	cases := []struct {
		name                string
		w, b                *bp.Tensor
		bound               float64
		torchStd, torchBMax float64
	}{
		{"Linear(784, 512)", nil, nil, 0.03571428571, 0.0206156, 0.0356955},
		{"Conv2d(32, 64, 3)", nil, nil, 0.0589255651, 0.0340261, 0.058339},
		{"Conv2d(8, 4, 3, groups=2)", nil, nil, 0.1666666667, 0.0980852, 0.135786},
	}
	lin := NewLinear(784, 512, bp.NewRNG(1))
	cases[0].w, cases[0].b = lin.Weight, lin.Bias
	c1 := NewConv2d(32, 64, 3, bp.Conv2dOptions{}, bp.NewRNG(2))
	cases[1].w, cases[1].b = c1.Weight, c1.Bias
	c2 := NewConv2d(8, 4, 3, bp.Conv2dOptions{Groups: 2}, bp.NewRNG(3))
	cases[2].w, cases[2].b = c2.Weight, c2.Bias
	for _, c := range cases {
		wmax := c.w.Abs().Max().Item()
		bmax := c.b.Abs().Max().Item()
		std := math.Sqrt(c.w.Var().Item())
		if wmax > c.bound || wmax < 0.97*c.bound {
			t.Errorf("%s: max |w| = %v, want just under %v", c.name, wmax, c.bound)
		}
		if bmax > c.bound {
			t.Errorf("%s: max |b| = %v, over %v", c.name, bmax, c.bound)
		}
		if bmax < 0.5*c.torchBMax {
			t.Errorf("%s: max |b| = %v, torch's reaches %v", c.name, bmax, c.torchBMax)
		}
		tol := 0.03
		if c.w.Numel() < 1000 {
			tol = 0.15
		}
		if math.Abs(std-c.torchStd) > tol*c.torchStd {
			t.Errorf("%s: std(w) = %v, torch's is %v", c.name, std, c.torchStd)
		}
	}
	if d := lin.Weight.DType(); d != bp.Float32 {
		t.Errorf("default dtype %v", d)
	}
}

func TestInitializers(t *testing.T) {
	if in, out := Fans([]int{64, 32, 3, 3}); in != 288 || out != 576 {
		t.Errorf("Fans = %d, %d", in, out)
	}
	mustPanic(t, "nn: Fans: fan in and fan out need at least 2 dimensions", func() { Fans([]int{5}) })
	rng := bp.NewRNG(1)
	w := bp.Float64.Zeros(400, 300, 3) // fan_in 900, fan_out 1200
	stats := func() (maxAbs, std float64) {
		return w.Abs().Max().Item(), math.Sqrt(w.Var().Item())
	}
	KaimingUniform(rng, w, 0, FanIn) // bound sqrt(2)·sqrt(3/900) = 0.08165
	if m, s := stats(); m > 0.0816497 || m < 0.0816 || math.Abs(s-0.0816497/math.Sqrt(3)) > 0.001 {
		t.Errorf("KaimingUniform: max %v std %v", m, s)
	}
	KaimingNormal(rng, w, 0, FanOut) // std sqrt(2)/sqrt(1200) = 0.040825
	if _, s := stats(); math.Abs(s-0.0408248) > 0.0005 {
		t.Errorf("KaimingNormal: std %v", s)
	}
	XavierUniform(rng, w, 1) // bound sqrt(6/2100) = 0.053452
	if m, s := stats(); m > 0.0534523 || m < 0.0534 || math.Abs(s-0.0534523/math.Sqrt(3)) > 0.001 {
		t.Errorf("XavierUniform: max %v std %v", m, s)
	}
	XavierNormal(rng, w, 2) // std 2·sqrt(2/2100) = 0.061721
	if _, s := stats(); math.Abs(s-0.0617213) > 0.0007 {
		t.Errorf("XavierNormal: std %v", s)
	}
	Constant(w, 3)
	if m := w.Min().Item(); m != 3 {
		t.Errorf("Constant: min %v", m)
	}
	mustPanic(t, "nn: Uniform: nil *backprop.RNG", func() { Uniform(nil, w, 0, 1) })
}

func TestModels(t *testing.T) {
	// Keys and size of the train command's CNN match torch's nn.Sequential
	// of the same layout (testdata/torch_ref.py).
	cnn, err := NewModel("cnn", []int{1, 28, 28}, 10, bp.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias"}
	if got := StateKeys(cnn); !slices.Equal(got, want) {
		t.Errorf("CNN keys = %v, want %v", got, want)
	}
	if n := NumParams(cnn); n != 421642 {
		t.Errorf("CNN parameters = %d, want 421642", n)
	}
	mlp, _ := NewModel("mlp", []int{1, 28, 28}, 10, bp.NewRNG(1))
	if n := NumParams(mlp); n != 669706 {
		t.Errorf("MLP parameters = %d, want 669706", n)
	}
	if got := StateKeys(mlp); !slices.Equal(got, []string{"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"}) {
		t.Errorf("MLP keys = %v", got)
	}
	for _, name := range []string{"softmax", "svm"} {
		m, _ := NewModel(name, []int{1, 28, 28}, 10, bp.NewRNG(1))
		if n := NumParams(m); n != 7850 {
			t.Errorf("%s parameters = %d, want 7850", name, n)
		}
	}
	cifar, err := NewModel("cnn", []int{3, 32, 32}, 10, bp.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if s := StateDict(cifar)["7.weight"].Shape(); !slices.Equal(s, []int{128, 64 * 8 * 8}) {
		t.Errorf("CIFAR CNN linear weight %v", s)
	}
	if y := cifar.Forward(bp.Zeros(2, 3, 32, 32).NoGrad()); !slices.Equal(y.Shape(), []int{2, 10}) {
		t.Errorf("CIFAR CNN output %v", y.Shape())
	}
	for _, name := range ModelNames() {
		m, _ := NewModel(name, []int{1, 28, 28}, 10, bp.NewRNG(1))
		if y := m.Forward(bp.Zeros(3, 1, 28, 28).NoGrad()); !slices.Equal(y.Shape(), []int{3, 10}) {
			t.Errorf("%s output %v", name, y.Shape())
		}
		if _, err := LossFor(name); err != nil {
			t.Errorf("LossFor(%s): %v", name, err)
		}
	}
	// The same seed builds the same model.
	again, _ := NewModel("cnn", []int{1, 28, 28}, 10, bp.NewRNG(1))
	if !slices.Equal(StateDict(again)["3.weight"].Float64s(), StateDict(cnn)["3.weight"].Float64s()) {
		t.Errorf("same seed, different weights")
	}

	for _, c := range []struct {
		name  string
		shape []int
		want  string
	}{
		{"resnet", []int{1, 28, 28}, `nn: NewModel: unknown model "resnet" (have softmax, svm, mlp, cnn)`},
		{"cnn", []int{784}, "the cnn needs images [C, H, W]"},
		{"mlp", []int{1, 0, 28}, "bad input shape [1 0 28]"},
		{"mlp", nil, "empty input shape"},
	} {
		_, err := NewModel(c.name, c.shape, 10, bp.NewRNG(1))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewModel(%q, %v): error %v, want %q", c.name, c.shape, err, c.want)
		}
	}
	if _, err := LossFor("resnet"); err == nil {
		t.Errorf("LossFor(resnet): no error")
	}
}

func TestDTypeMismatch(t *testing.T) {
	x := bp.Float64.Zeros(2, 4)
	mustPanic(t, "nn: Linear: input is float64 of shape [2 4] but the layer is float32", func() { NewLinear(4, 2, bp.NewRNG(1)).Forward(x) })
	mustPanic(t, "nn: BatchNorm1d: input is float64", func() { NewBatchNorm1d(4).Forward(x) })
	mustPanic(t, "nn: LayerNorm: input is float64", func() { NewLayerNorm(4).Forward(x) })
	mustPanic(t, "nn: Conv2d: input is float64", func() {
		NewConv2d(1, 1, 1, bp.Conv2dOptions{}, bp.NewRNG(1)).Forward(bp.Float64.Zeros(1, 1, 2, 2))
	})
}
