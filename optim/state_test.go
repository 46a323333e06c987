package optim_test

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/optim"
)

// A run stopped after two steps, saved, and resumed in fresh tensors and a
// fresh optimizer must continue bit for bit like the run that went on.
func TestStateRoundTrip(t *testing.T) {
	for _, file := range []string{"torch_sgd.json", "torch_rmsprop.json", "torch_adam.json", "torch_float32.json"} {
		f := loadCases(t, file)
		for _, c := range f.Cases {
			t.Run(c.Name, func(t *testing.T) {
				const stop = 2
				dt := dtypeOf(c)
				a := newProblem(f.Params, dt)
				optA := newOptimizer(t, c, a.params)
				for step := range stop {
					a.backward(optA, c.Skip, step)
					optA.Step()
				}
				optA.SetLR(optA.LR() * 0.5) // a learning rate changed by hand is state too
				state := optA.State()

				// The checkpoint: parameter values and optimizer state.
				b := newProblem(f.Params, dt)
				for i, p := range b.params {
					p.T.CopyFrom(a.params[i].T)
				}
				// A goes on first, so that if State aliased A's buffers
				// instead of copying them, B would load A's later state.
				for step := stop; step < len(c.Steps); step++ {
					a.backward(optA, c.Skip, step)
					optA.Step()
				}
				optB := newOptimizer(t, c, b.params)
				if err := optB.LoadState(state); err != nil {
					t.Fatal(err)
				}
				for step := stop; step < len(c.Steps); step++ {
					b.backward(optB, c.Skip, step)
					optB.Step()
				}
				for i := range a.params {
					ga, gb := a.params[i].T.Float64s(), b.params[i].T.Float64s()
					for j := range ga {
						if math.Float64bits(ga[j]) != math.Float64bits(gb[j]) {
							t.Fatalf("%s[%d]: resumed %.17g, uninterrupted %.17g", a.params[i].Name, j, gb[j], ga[j])
						}
					}
				}
				if !statesEqual(optA.State(), optB.State()) {
					t.Error("states differ after resuming")
				}
			})
		}
	}
}

func statesEqual(a, b map[string]*bp.Tensor) bool {
	if !slices.Equal(slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))) {
		return false
	}
	for k, ta := range a {
		tb := b[k]
		if ta.DType() != tb.DType() || !slices.Equal(ta.Shape(), tb.Shape()) || !slices.Equal(ta.Float64s(), tb.Float64s()) {
			return false
		}
	}
	return true
}

func twoParams(dt bp.DType) []optim.Param {
	return []optim.Param{
		{Name: "fc1.weight", T: dt.Full(0.5, 2, 3).SetRequiresGrad(true)},
		{Name: "fc1.bias", T: dt.Full(-0.25, 3).SetRequiresGrad(true)},
	}
}

func setGrads(ps []optim.Param, v float64) {
	for _, p := range ps {
		p.T.SetGrad(bp.FullLike(p.T, v))
	}
}

func TestStateKeys(t *testing.T) {
	ps := twoParams(bp.Float32)
	opt := optim.NewAdam(ps, 0.1, optim.AMSGrad())
	if got := slices.Sorted(maps.Keys(opt.State())); !slices.Equal(got, []string{"lr", "step"}) {
		t.Errorf("fresh state keys %v", got)
	}
	ps[0].T.SetGrad(bp.FullLike(ps[0].T, 1)) // only the weight has a gradient
	opt.Step()
	st := opt.State()
	want := []string{"fc1.weight.exp_avg", "fc1.weight.exp_avg_sq", "fc1.weight.max_exp_avg_sq", "fc1.weight.step", "lr", "step"}
	if got := slices.Sorted(maps.Keys(st)); !slices.Equal(got, want) {
		t.Fatalf("state keys %v, want %v", got, want)
	}
	if st["step"].DType() != bp.Int64 || st["step"].Item() != 1 || st["fc1.weight.step"].Item() != 1 {
		t.Errorf("step counters %v %v", st["step"], st["fc1.weight.step"])
	}
	if st["lr"].Item() != 0.1 || st["lr"].Dim() != 0 {
		t.Errorf("lr %v", st["lr"])
	}
	if st["fc1.weight.exp_avg"].DType() != bp.Float32 || !slices.Equal(st["fc1.weight.exp_avg"].Shape(), []int{2, 3}) {
		t.Errorf("exp_avg is %v %v", st["fc1.weight.exp_avg"].DType(), st["fc1.weight.exp_avg"].Shape())
	}

	sgd := optim.NewSGD(ps, 0.1, optim.Momentum(0.9))
	setGrads(ps, 1)
	sgd.Step()
	want = []string{"fc1.bias.momentum_buffer", "fc1.bias.step", "fc1.weight.momentum_buffer", "fc1.weight.step", "lr", "step"}
	if got := slices.Sorted(maps.Keys(sgd.State())); !slices.Equal(got, want) {
		t.Errorf("SGD state keys %v, want %v", got, want)
	}
	rms := optim.NewRMSprop(ps, 0.1, optim.Centered(), optim.Momentum(0.5))
	rms.Step()
	want = []string{"fc1.bias.grad_avg", "fc1.bias.momentum_buffer", "fc1.bias.square_avg", "fc1.bias.step",
		"fc1.weight.grad_avg", "fc1.weight.momentum_buffer", "fc1.weight.square_avg", "fc1.weight.step", "lr", "step"}
	if got := slices.Sorted(maps.Keys(rms.State())); !slices.Equal(got, want) {
		t.Errorf("RMSprop state keys %v, want %v", got, want)
	}
}

func TestLoadStateErrors(t *testing.T) {
	ps := twoParams(bp.Float64)
	src := optim.NewAdam(ps, 0.1)
	setGrads(ps, 1)
	src.Step()
	good := src.State()

	edit := func(f func(m map[string]*bp.Tensor)) map[string]*bp.Tensor {
		m := maps.Clone(good)
		f(m)
		return m
	}
	cases := []struct {
		name, want string
		state      map[string]*bp.Tensor
	}{
		{"missing lr", `no "lr"`, edit(func(m map[string]*bp.Tensor) { delete(m, "lr") })},
		{"missing step", `no "step"`, edit(func(m map[string]*bp.Tensor) { delete(m, "step") })},
		{"missing buffer", `no "fc1.bias.exp_avg_sq"`, edit(func(m map[string]*bp.Tensor) { delete(m, "fc1.bias.exp_avg_sq") })},
		{"buffer without step", `"fc1.bias.exp_avg" without "fc1.bias.step"`, edit(func(m map[string]*bp.Tensor) { delete(m, "fc1.bias.step") })},
		{"unknown key", `unknown keys fc2.weight.exp_avg`, edit(func(m map[string]*bp.Tensor) { m["fc2.weight.exp_avg"] = bp.Float64.Zeros(3) })},
		{"shape", `has shape [2 2]`, edit(func(m map[string]*bp.Tensor) { m["fc1.weight.exp_avg"] = bp.Float64.Zeros(2, 2) })},
		{"int buffer", `is int64`, edit(func(m map[string]*bp.Tensor) { m["fc1.bias.exp_avg"] = bp.Int64.Zeros(3) })},
		{"fractional step", `want a count`, edit(func(m map[string]*bp.Tensor) { m["step"] = bp.Float64.Scalar(1.5) })},
		{"zero step", `is 0`, edit(func(m map[string]*bp.Tensor) { m["fc1.bias.step"] = bp.Int64.Scalar(0) })},
		{"vector lr", `want a scalar`, edit(func(m map[string]*bp.Tensor) { m["lr"] = bp.Float64.Zeros(2) })},
		{"negative lr", `invalid learning rate`, edit(func(m map[string]*bp.Tensor) { m["lr"] = bp.Float64.Scalar(-1) })},
	}
	for _, c := range cases {
		dst := optim.NewAdam(twoParams(bp.Float64), 0.5)
		err := dst.LoadState(c.state)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %s", c.name, err, c.want)
		}
		if dst.LR() != 0.5 || len(dst.State()) != 2 {
			t.Errorf("%s: a failed LoadState changed the optimizer", c.name)
		}
	}

	// Options that keep other buffers show up as unknown or missing keys.
	if err := optim.NewAdam(twoParams(bp.Float64), 0.1, optim.AMSGrad()).LoadState(good); err == nil {
		t.Error("AMSGrad loaded a state without max_exp_avg_sq")
	}
	if err := optim.NewSGD(twoParams(bp.Float64), 0.1).LoadState(good); err == nil {
		t.Error("SGD loaded Adam's state")
	}
	// A fresh state loads anywhere with the same dtype-free keys.
	if err := optim.NewSGD(twoParams(bp.Float32), 0.1).LoadState(optim.NewAdam(twoParams(bp.Float64), 0.2).State()); err != nil {
		t.Error(err)
	}
	// Buffers of the other float dtype are converted.
	f32 := optim.NewAdam(twoParams(bp.Float32), 0.1)
	if err := f32.LoadState(good); err != nil {
		t.Fatal(err)
	}
	if got := f32.State()["fc1.weight.exp_avg"]; got.DType() != bp.Float32 || got.At(0, 0) != float64(float32(good["fc1.weight.exp_avg"].At(0, 0))) {
		t.Errorf("converted exp_avg %v", got)
	}
}

func TestSchedulerState(t *testing.T) {
	opt := optim.NewSGD(twoParams(bp.Float32), 0.1)
	sc := optim.NewScheduler(opt, optim.StepLR{StepSize: 2, Gamma: 0.5})
	for range 5 {
		sc.Step()
	}
	st := sc.State()
	if st["epoch"].Item() != 5 || st["base_lr"].Item() != 0.1 {
		t.Fatalf("state %v %v", st["epoch"], st["base_lr"])
	}

	// Resume: the optimizer comes back with the scheduled rate; building
	// the scheduler then takes that rate as its base, which LoadState fixes.
	opt2 := optim.NewSGD(twoParams(bp.Float32), 0.1)
	if err := opt2.LoadState(opt.State()); err != nil {
		t.Fatal(err)
	}
	sc2 := optim.NewScheduler(opt2, optim.StepLR{StepSize: 2, Gamma: 0.5})
	if err := sc2.LoadState(st); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sc.Step()
		sc2.Step()
		if opt.LR() != opt2.LR() || sc.Epoch() != sc2.Epoch() {
			t.Fatalf("epoch %d: lr %v, resumed %v", sc.Epoch(), opt.LR(), opt2.LR())
		}
	}

	if err := sc2.LoadState(map[string]*bp.Tensor{"epoch": bp.Int64.Scalar(1)}); err == nil {
		t.Error("loaded a state without base_lr")
	}
	bad := maps.Clone(st)
	bad["lr"] = bp.Float64.Scalar(1)
	if err := sc2.LoadState(bad); err == nil {
		t.Error("loaded a state with an unknown key")
	}
	sc2.SetEpoch(0)
	if opt2.LR() != 0.1 {
		t.Errorf("SetEpoch(0) gave lr %v", opt2.LR())
	}
}
