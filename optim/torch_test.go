package optim_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/optim"
)

// The torch_*.json files hold PyTorch's runs of each optimizer on a small
// loss (see testdata/gen_torch.py); these tests replay them.

type paramSpec struct {
	Name  string
	Shape []int
	Init  []float64
	C, D  []float64
}

type optCase struct {
	Name      string
	Optimizer string
	LR        float64
	Options   map[string]json.RawMessage
	DType     string
	Skip      map[string][]int
	Steps     []map[string][]float64
}

type optFile struct {
	Params []paramSpec
	Cases  []optCase
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadCases(t testing.TB, name string) optFile {
	var f optFile
	readJSON(t, name, &f)
	if len(f.Cases) == 0 || len(f.Params) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	return f
}

// options turns a case's PyTorch keyword arguments into Options.
func options(t testing.TB, c optCase) []optim.Option {
	var opts []optim.Option
	num := func(k string) float64 {
		var v float64
		if err := json.Unmarshal(c.Options[k], &v); err != nil {
			t.Fatalf("%s: option %s: %v", c.Name, k, err)
		}
		return v
	}
	flag := func(k string) bool {
		var v bool
		if err := json.Unmarshal(c.Options[k], &v); err != nil {
			t.Fatalf("%s: option %s: %v", c.Name, k, err)
		}
		return v
	}
	for k := range c.Options {
		switch k {
		case "momentum":
			opts = append(opts, optim.Momentum(num(k)))
		case "dampening":
			opts = append(opts, optim.Dampening(num(k)))
		case "weight_decay":
			opts = append(opts, optim.WeightDecay(num(k)))
		case "alpha":
			opts = append(opts, optim.Alpha(num(k)))
		case "eps":
			opts = append(opts, optim.Eps(num(k)))
		case "nesterov":
			if flag(k) {
				opts = append(opts, optim.Nesterov())
			}
		case "centered":
			if flag(k) {
				opts = append(opts, optim.Centered())
			}
		case "amsgrad":
			if flag(k) {
				opts = append(opts, optim.AMSGrad())
			}
		case "maximize":
			if flag(k) {
				opts = append(opts, optim.Maximize())
			}
		case "betas":
			var b [2]float64
			if err := json.Unmarshal(c.Options[k], &b); err != nil {
				t.Fatalf("%s: betas: %v", c.Name, err)
			}
			opts = append(opts, optim.Betas(b[0], b[1]))
		default:
			t.Fatalf("%s: unknown option %q", c.Name, k)
		}
	}
	return opts
}

// problem is the test loss sum(c*w*w + d*w*w*w) over named parameters.
type problem struct {
	params []optim.Param
	c, d   []*bp.Tensor
}

func newProblem(specs []paramSpec, dt bp.DType) *problem {
	pr := &problem{}
	for _, s := range specs {
		w := tensorOf(dt, s.Init, s.Shape).SetRequiresGrad(true)
		pr.params = append(pr.params, optim.Param{Name: s.Name, T: w})
		pr.c = append(pr.c, tensorOf(dt, s.C, s.Shape))
		pr.d = append(pr.d, tensorOf(dt, s.D, s.Shape))
	}
	return pr
}

func tensorOf(dt bp.DType, v []float64, shape []int) *bp.Tensor {
	t := dt.Zeros(shape...)
	t.CopyFrom(bp.FromFloat64s(append([]float64(nil), v...), shape...))
	return t
}

// backward zeroes the gradients (dropping those of the parameters skipped
// at this step, as PyTorch's zero_grad(set_to_none=True) does) and
// differentiates the loss over the others.
func (pr *problem) backward(opt optim.Optimizer, skip map[string][]int, step int) {
	opt.ZeroGrad()
	var loss *bp.Tensor
	for i, p := range pr.params {
		if contains(skip[p.Name], step) {
			p.T.ClearGrad()
			continue
		}
		w := p.T
		ww := w.Mul(w)
		term := ww.Mul(pr.c[i]).Add(ww.Mul(w).Mul(pr.d[i])).Sum()
		if loss == nil {
			loss = term
		} else {
			loss = loss.Add(term)
		}
	}
	loss.Backward()
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func newOptimizer(t testing.TB, c optCase, params []optim.Param) optim.Optimizer {
	opts := options(t, c)
	switch c.Optimizer {
	case "sgd":
		return optim.NewSGD(params, c.LR, opts...)
	case "rmsprop":
		return optim.NewRMSprop(params, c.LR, opts...)
	case "adam":
		return optim.NewAdam(params, c.LR, opts...)
	case "adamw":
		return optim.NewAdamW(params, c.LR, opts...)
	}
	t.Fatalf("%s: unknown optimizer %q", c.Name, c.Optimizer)
	return nil
}

func dtypeOf(c optCase) bp.DType {
	if c.DType == "float32" {
		return bp.Float32
	}
	return bp.Float64
}

// relErr is |got-want| relative to |want|, with an absolute floor for
// values near zero.
func relErr(got, want float64) float64 { return relErrFloor(got, want, 1e-3) }

func relErrFloor(got, want, floor float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), floor)
}

// replay runs each case of file and compares every parameter after every
// step with torch's, to tol relative to the value or to floor, whichever is
// larger.
func replay(t *testing.T, file string, tol, floor float64) {
	f := loadCases(t, file)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			pr := newProblem(f.Params, dtypeOf(c))
			opt := newOptimizer(t, c, pr.params)
			worst := 0.0
			for step, want := range c.Steps {
				pr.backward(opt, c.Skip, step)
				opt.Step()
				for _, p := range pr.params {
					got := p.T.Float64s()
					w := want[p.Name]
					if len(got) != len(w) {
						t.Fatalf("step %d %s: %d values, torch has %d", step, p.Name, len(got), len(w))
					}
					for j := range got {
						e := relErrFloor(got[j], w[j], floor)
						worst = math.Max(worst, e)
						if !(e <= tol) {
							t.Fatalf("step %d %s[%d] = %.17g, torch %.17g (rel err %.3g > %.0g)", step, p.Name, j, got[j], w[j], e, tol)
						}
					}
				}
			}
			if opt.(interface{ Steps() int }).Steps() != len(c.Steps) {
				t.Errorf("Steps() = %d after %d steps", opt.(interface{ Steps() int }).Steps(), len(c.Steps))
			}
			t.Logf("worst relative error %.3g", worst)
		})
	}
}

func TestSGDMatchesTorch(t *testing.T)     { replay(t, "torch_sgd.json", 1e-12, 1e-3) }
func TestRMSpropMatchesTorch(t *testing.T) { replay(t, "torch_rmsprop.json", 1e-12, 1e-3) }
func TestAdamMatchesTorch(t *testing.T)    { replay(t, "torch_adam.json", 1e-12, 1e-3) }

// Float32 runs round every operation to float32, as PyTorch does; the two
// differ by a few roundings (PyTorch's vectorized kernels fuse some
// multiply-adds), so allow a few float32 ulps of values of order 1.
func TestFloat32MatchesTorch(t *testing.T) { replay(t, "torch_float32.json", 1e-6, 1) }

// The skipped-gradient case only means something if the skipped parameter
// really was left alone at those steps: check that torch's data shows it.
func TestSkippedGradLeavesParam(t *testing.T) {
	f := loadCases(t, "torch_adam.json")
	for _, c := range f.Cases {
		for name, steps := range c.Skip {
			for _, s := range steps {
				if s == 0 {
					continue
				}
				a, b := c.Steps[s-1][name], c.Steps[s][name]
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("%s: %s moved at skipped step %d", c.Name, name, s)
				}
			}
		}
	}
}

// schedSpec is a schedule as gen_torch.py describes it.
type schedSpec struct {
	Kind        string
	StepSize    int     `json:"step_size"`
	Gamma       float64 `json:"gamma"`
	TMax        int     `json:"t_max"`
	EtaMin      float64 `json:"eta_min"`
	Steps       int     `json:"steps"`
	StartFactor float64 `json:"start_factor"`
	Then        *schedSpec
}

func (s *schedSpec) build(t *testing.T) optim.Schedule {
	switch s.Kind {
	case "step":
		return optim.StepLR{StepSize: s.StepSize, Gamma: s.Gamma}
	case "cosine":
		return optim.CosineAnnealing{TMax: s.TMax, EtaMin: s.EtaMin}
	case "warmup":
		w := optim.Warmup{Steps: s.Steps, StartFactor: s.StartFactor}
		if s.Then != nil {
			w.Then = s.Then.build(t)
		}
		return w
	}
	t.Fatalf("unknown schedule %q", s.Kind)
	return nil
}

func TestSchedulesMatchTorch(t *testing.T) {
	var f struct {
		Cases []struct {
			Name     string
			Schedule schedSpec
			BaseLR   float64 `json:"base_lr"`
			LRs      []float64
		}
	}
	readJSON(t, "torch_sched.json", &f)
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			w := bp.Float64.Zeros(2).SetRequiresGrad(true)
			opt := optim.NewSGD(optim.Params(w), c.BaseLR)
			sc := optim.NewScheduler(opt, c.Schedule.build(t))
			for e, want := range c.LRs {
				if e > 0 {
					opt.Step()
					sc.Step()
				}
				got := opt.LR()
				if math.Abs(got-want) > 1e-12*math.Abs(want)+1e-15 {
					t.Fatalf("epoch %d: lr %.17g, torch %.17g", e, got, want)
				}
				if sc.Epoch() != e || sc.LR() != got {
					t.Fatalf("epoch %d: scheduler says epoch %d lr %v", e, sc.Epoch(), sc.LR())
				}
			}
		})
	}
}

func TestClipGradNormMatchesTorch(t *testing.T) {
	var f struct {
		Params []paramSpec
		Cases  []struct {
			Name      string
			MaxNorm   float64 `json:"max_norm"`
			Grads     map[string][]float64
			TotalNorm float64 `json:"total_norm"`
			Clipped   map[string][]float64
		}
	}
	readJSON(t, "torch_clip.json", &f)
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range f.Cases {
		for _, dt := range []bp.DType{bp.Float64, bp.Float32} {
			t.Run(fmt.Sprint(c.Name, "/", dt), func(t *testing.T) {
				tol := 1e-12
				if dt == bp.Float32 {
					tol = 1e-6
				}
				var params []optim.Param
				for _, s := range f.Params {
					w := dt.Zeros(s.Shape...).SetRequiresGrad(true)
					w.SetGrad(tensorOf(dt, c.Grads[s.Name], s.Shape))
					params = append(params, optim.Param{Name: s.Name, T: w})
				}
				// A parameter without a gradient is skipped.
				params = append(params, optim.Param{Name: "unused", T: dt.Zeros(4).SetRequiresGrad(true)})
				total := optim.ClipGradNorm(params, c.MaxNorm)
				if relErr(total, c.TotalNorm) > tol {
					t.Errorf("total norm %.17g, torch %.17g", total, c.TotalNorm)
				}
				for _, p := range params[:len(f.Params)] {
					got, want := p.T.Grad().Float64s(), c.Clipped[p.Name]
					for j := range want {
						if relErr(got[j], want[j]) > tol {
							t.Fatalf("%s[%d] = %.17g, torch %.17g", p.Name, j, got[j], want[j])
						}
					}
				}
				if params[len(params)-1].T.Grad() != nil {
					t.Error("ClipGradNorm gave a gradient to a parameter without one")
				}
			})
		}
	}
}
