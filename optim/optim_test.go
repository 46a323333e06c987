package optim_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/optim"
)

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one mentioning %q", want)
			return
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Errorf("panic %q does not mention %q", r, want)
		}
	}()
	f()
}

// every optimizer, in its fullest configuration, over ps.
func allOptimizers(ps []optim.Param) map[string]optim.Optimizer {
	return map[string]optim.Optimizer{
		"SGD":     optim.NewSGD(ps, 0.1, optim.Momentum(0.9), optim.Nesterov(), optim.WeightDecay(0.01)),
		"RMSprop": optim.NewRMSprop(ps, 0.01, optim.Momentum(0.9), optim.Centered(), optim.WeightDecay(0.01)),
		"Adam":    optim.NewAdam(ps, 1e-3, optim.AMSGrad(), optim.WeightDecay(0.01)),
		"AdamW":   optim.NewAdamW(ps, 1e-3),
	}
}

// A step in steady state allocates nothing: buffers come on the first
// step, and each later one only reads and writes them.
func TestStepDoesNotAllocate(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		ps := twoParams(dt)
		setGrads(ps, 0.5)
		for name, opt := range allOptimizers(ps) {
			opt.Step()
			if n := testing.AllocsPerRun(20, opt.Step); n != 0 {
				t.Errorf("%s %v: %v allocations per Step", name, dt, n)
			}
		}
		opt := optim.NewSGD(ps, 0.1)
		if n := testing.AllocsPerRun(20, opt.ZeroGrad); n != 0 {
			t.Errorf("%v: %v allocations per ZeroGrad", dt, n)
		}
		if n := testing.AllocsPerRun(20, func() { optim.ClipGradNorm(ps, 1e-3) }); n != 0 {
			t.Errorf("%v: %v allocations per ClipGradNorm", dt, n)
		}
	}
}

// Step writes into the parameter's own storage: views of it, and the
// slice F32 returned earlier, see the new values.
func TestStepUpdatesInPlace(t *testing.T) {
	w := bp.Float32.Full(1, 2, 2).SetRequiresGrad(true)
	data := w.F32()
	view := w.Detach()
	w.SetGrad(bp.Float32.Full(2, 2, 2))
	opt := optim.NewSGD(optim.Params(w), 0.25)
	opt.Step()
	if data[3] != 0.5 || view.At(1, 1) != 0.5 || w.At(0, 1) != 0.5 {
		t.Errorf("after step: storage %v, view %v", data, view.At(1, 1))
	}
	opt.ZeroGrad()
	if g := w.Grad(); g == nil || g.At(0, 0) != 0 {
		t.Errorf("ZeroGrad left %v", g)
	}
}

// A parameter without a gradient is left alone, state and all, while the
// others move.
func TestNoGradSkipsParam(t *testing.T) {
	ps := twoParams(bp.Float64)
	ps[1].T.SetGrad(bp.FullLike(ps[1].T, 1))
	for name, opt := range allOptimizers(ps) {
		before := ps[0].T.Float64s()
		bias := ps[1].T.At(0)
		opt.Step()
		if fmt.Sprint(ps[0].T.Float64s()) != fmt.Sprint(before) {
			t.Errorf("%s moved a parameter without a gradient", name)
		}
		if ps[1].T.At(0) == bias {
			t.Errorf("%s did not move a parameter with a gradient", name)
		}
		if _, ok := opt.State()["fc1.weight.step"]; ok {
			t.Errorf("%s made state for a parameter it did not update", name)
		}
	}
}

// A gradient set by hand may be a strided view; the update must read it in
// logical order.
func TestStridedGrad(t *testing.T) {
	w := bp.Float64.Zeros(2, 3).SetRequiresGrad(true)
	gT := bp.FromFloat64s([]float64{1, 2, 3, 4, 5, 6}, 3, 2)
	g := gT.AsStrided([]int{2, 3}, []int{1, 2}, 0) // gT transposed
	w.SetGrad(g)
	optim.NewSGD(optim.Params(w), 1).Step()
	want := []float64{-1, -3, -5, -2, -4, -6}
	if got := w.Float64s(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	total := optim.ClipGradNorm(optim.Params(w), 1)
	if math.Abs(total-math.Sqrt(91)) > 1e-12 {
		t.Errorf("norm %v", total)
	}
	if got := w.Grad().At(1, 0); math.Abs(got-2/math.Sqrt(91)) > 1e-6 {
		t.Errorf("clipped strided grad %v", got)
	}
}

func TestClipGradNormNonFinite(t *testing.T) {
	w := bp.Float64.Zeros(2).SetRequiresGrad(true)
	w.SetGrad(bp.FromFloat64s([]float64{math.Inf(1), 1}))
	if n := optim.ClipGradNorm(optim.Params(w), 1); !math.IsInf(n, 1) || w.Grad().At(1) != 1 {
		t.Errorf("norm %v, grad %v", n, w.Grad())
	}
	w.SetGrad(bp.FromFloat64s([]float64{math.NaN(), 1}))
	if n := optim.ClipGradNorm(optim.Params(w), 1); !math.IsNaN(n) || w.Grad().At(1) != 1 {
		t.Errorf("norm %v, grad %v", n, w.Grad())
	}
	if n := optim.ClipGradNorm(nil, 1); n != 0 {
		t.Errorf("norm of nothing %v", n)
	}
	mustPanic(t, "optim: ClipGradNorm: invalid max norm -1", func() { optim.ClipGradNorm(nil, -1) })
}

func TestSetLR(t *testing.T) {
	w := bp.Float64.Ones(1).SetRequiresGrad(true)
	w.SetGrad(bp.Float64.Ones(1))
	opt := optim.NewSGD(optim.Params(w), 0.1)
	opt.SetLR(0.5)
	opt.Step()
	if opt.LR() != 0.5 || w.At(0) != 0.5 {
		t.Errorf("lr %v, w %v", opt.LR(), w.At(0))
	}
	mustPanic(t, "optim: SGD.SetLR: invalid learning rate NaN", func() { opt.SetLR(math.NaN()) })
}

func TestConstructorPanics(t *testing.T) {
	w := bp.Float32.Zeros(3).SetRequiresGrad(true)
	ps := optim.Params(w)
	cases := []struct {
		want string
		f    func()
	}{
		{"optim: NewAdam: option Nesterov does not apply to Adam", func() { optim.NewAdam(ps, 0.1, optim.Nesterov()) }},
		{"option Momentum does not apply to AdamW", func() { optim.NewAdamW(ps, 0.1, optim.Momentum(0.9)) }},
		{"option Betas does not apply to SGD", func() { optim.NewSGD(ps, 0.1, optim.Betas(0.9, 0.99)) }},
		{"option AMSGrad does not apply to RMSprop", func() { optim.NewRMSprop(ps, 0.1, optim.AMSGrad()) }},
		{"zero Option", func() { optim.NewSGD(ps, 0.1, optim.Option{}) }},
		{"Nesterov momentum needs momentum > 0", func() { optim.NewSGD(ps, 0.1, optim.Nesterov()) }},
		{"zero dampening", func() { optim.NewSGD(ps, 0.1, optim.Momentum(0.9), optim.Dampening(0.1), optim.Nesterov()) }},
		{"invalid learning rate -0.1", func() { optim.NewSGD(ps, -0.1) }},
		{"invalid momentum -1", func() { optim.NewSGD(ps, 0.1, optim.Momentum(-1)) }},
		{"invalid weight decay -1", func() { optim.NewAdamW(ps, 0.1, optim.WeightDecay(-1)) }},
		{"invalid beta1 1", func() { optim.NewAdam(ps, 0.1, optim.Betas(1, 0.9)) }},
		{"invalid beta2 NaN", func() { optim.NewAdam(ps, 0.1, optim.Betas(0.9, math.NaN())) }},
		{"invalid eps -1", func() { optim.NewRMSprop(ps, 0.1, optim.Eps(-1)) }},
		{"invalid alpha -1", func() { optim.NewRMSprop(ps, 0.1, optim.Alpha(-1)) }},
		{"has no name", func() { optim.NewSGD([]optim.Param{{T: w}}, 0.1) }},
		{`two parameters are named "a"`, func() { optim.NewSGD([]optim.Param{{Name: "a", T: w}, {Name: "a", T: bp.Zeros(1)}}, 0.1) }},
		{`parameters "a" and "b" are the same tensor`, func() { optim.NewSGD([]optim.Param{{Name: "a", T: w}, {Name: "b", T: w}}, 0.1) }},
		{`parameter "a" is nil`, func() { optim.NewSGD([]optim.Param{{Name: "a", T: nil}}, 0.1) }},
		{`parameter "0" is int64`, func() { optim.NewSGD(optim.Params(bp.Int64.Zeros(2)), 0.1) }},
		{`is the result of Mul, not a leaf`, func() { optim.NewSGD(optim.Params(w.Mul(w)), 0.1) }},
		{"is not contiguous", func() { optim.NewSGD(optim.Params(bp.Zeros(4).AsStrided([]int{2}, []int{2}, 0)), 0.1) }},
	}
	for _, c := range cases {
		mustPanic(t, c.want, c.f)
	}
	w.SetGrad(bp.Float64.Zeros(3))
	mustPanic(t, `optim: Adam.Step: gradient of "0" is float64 but the parameter is float32`, optim.NewAdam(ps, 0.1).Step)
}

func TestSchedulePanics(t *testing.T) {
	mustPanic(t, "optim: StepLR: step size 0", func() { optim.StepLR{}.LR(1, 0) })
	mustPanic(t, "optim: CosineAnnealing: TMax 0", func() { optim.CosineAnnealing{}.LR(1, 0) })
	mustPanic(t, "optim: Warmup: 0 steps", func() { optim.Warmup{}.LR(1, 0) })
	mustPanic(t, "from factor 2", func() { optim.Warmup{Steps: 1, StartFactor: 2}.LR(1, 0) })
	opt := optim.NewSGD(optim.Params(bp.Zeros(1)), 0.1)
	mustPanic(t, "negative epoch", func() { optim.NewScheduler(opt, nil).SetEpoch(-1) })
}

func TestScheduleBasics(t *testing.T) {
	opt := optim.NewSGD(optim.Params(bp.Zeros(1)), 0.1)
	sc := optim.NewScheduler(opt, nil) // constant
	sc.Step()
	if opt.LR() != 0.1 || sc.BaseLR() != 0.1 {
		t.Errorf("constant schedule gave %v", opt.LR())
	}
	// Warm-up from zero, then constant.
	w := optim.Warmup{Steps: 4}
	want := []float64{0, 0.25, 0.5, 0.75, 1, 1}
	for e, v := range want {
		if got := w.LR(1, e); got != v {
			t.Errorf("warm-up epoch %d: %v, want %v", e, got, v)
		}
	}
	half := optim.ScheduleFunc(func(base float64, epoch int) float64 { return base / float64(epoch+1) })
	sc = optim.NewScheduler(opt, optim.Warmup{Steps: 1, StartFactor: 0.5, Then: half})
	if opt.LR() != 0.05 {
		t.Errorf("epoch 0: %v", opt.LR())
	}
	sc.Step()
	sc.Step()
	if opt.LR() != 0.05 || sc.Epoch() != 2 {
		t.Errorf("epoch 2: %v", opt.LR())
	}
}

// float32 and float64 runs of the same problem agree to float32 precision,
// which catches a constant rounded to the wrong type in one path.
func TestFloat32AgreesWithFloat64(t *testing.T) {
	for name := range allOptimizers(twoParams(bp.Float32)) {
		var vals [2][]float64
		for k, dt := range []bp.DType{bp.Float32, bp.Float64} {
			ps := twoParams(dt)
			opt := allOptimizers(ps)[name]
			for s := range 5 {
				for _, p := range ps {
					// A gradient that depends on the step and on p.
					g := p.T.Detach().MulScalar(0.5).AddScalar(float64(s) * 0.1)
					p.T.SetGrad(g)
				}
				opt.Step()
			}
			for _, p := range ps {
				vals[k] = append(vals[k], p.T.Float64s()...)
			}
		}
		for i := range vals[0] {
			if relErrFloor(vals[0][i], vals[1][i], 1) > 1e-6 {
				t.Errorf("%s: float32 %v, float64 %v", name, vals[0][i], vals[1][i])
			}
		}
	}
}

func BenchmarkStep(b *testing.B) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		w := dt.Full(0.5, 1<<20).SetRequiresGrad(true)
		w.SetGrad(dt.Full(0.01, 1<<20))
		for name, opt := range allOptimizers(optim.Params(w)) {
			b.Run(fmt.Sprint(name, "/", dt), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(w.Numel() * dt.Size()))
				for b.Loop() {
					opt.Step()
				}
			})
		}
	}
}
