package optim_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/optim"
)

// groupCase is a run of testdata/gen_groups.py: the weight in group 0, the
// bias in group 1, the learning rate set before each step.
type groupCase struct {
	Name      string
	Optimizer string
	Options   map[string]json.RawMessage
	LRs       []float64
	DType     string
	Groups    []struct {
		Options map[string]json.RawMessage
		LRScale float64 `json:"lr_scale"`
	}
	Steps []map[string][]float64
}

func loadGroupCases(t *testing.T) ([]paramSpec, []groupCase) {
	var f struct {
		Params []paramSpec
		Cases  []groupCase
	}
	readJSON(t, "torch_groups.json", &f)
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	return f.Params, f.Cases
}

func newGrouped(t *testing.T, c groupCase, params []optim.Param) optim.Optimizer {
	t.Helper()
	opts := options(t, optCase{Name: c.Name, Options: c.Options})
	groups := make([]optim.Group, len(c.Groups))
	for g, gc := range c.Groups {
		groups[g] = optim.Group{
			Params:  params[g : g+1],
			Options: append(options(t, optCase{Name: c.Name, Options: gc.Options}), optim.LRScale(gc.LRScale)),
		}
	}
	switch c.Optimizer {
	case "sgd":
		return optim.NewSGDGroups(groups, c.LRs[0], opts...)
	case "adam":
		return optim.NewAdamGroups(groups, c.LRs[0], opts...)
	case "adamw":
		return optim.NewAdamWGroups(groups, c.LRs[0], opts...)
	case "rmsprop":
		return optim.NewRMSpropGroups(groups, c.LRs[0], opts...)
	}
	t.Fatalf("%s: unknown optimizer %q", c.Name, c.Optimizer)
	return nil
}

func TestGroupsMatchTorch(t *testing.T) {
	specs, cases := loadGroupCases(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			tol, floor := 1e-12, 1e-3
			dt := bp.Float64
			if c.DType == "float32" {
				tol, floor, dt = 1e-6, 1, bp.Float32
			}
			pr := newProblem(specs, dt)
			opt := newGrouped(t, c, pr.params)
			worst := 0.0
			for step, want := range c.Steps {
				opt.SetLR(c.LRs[step])
				pr.backward(opt, nil, step)
				opt.Step()
				for _, p := range pr.params {
					got, w := p.T.Float64s(), want[p.Name]
					for j := range got {
						e := relErrFloor(got[j], w[j], floor)
						worst = math.Max(worst, e)
						if !(e <= tol) {
							t.Fatalf("step %d %s[%d] = %.17g, torch %.17g", step, p.Name, j, got[j], w[j])
						}
					}
				}
			}
			t.Logf("worst relative error %.3g", worst)
		})
	}
}

// Stopping after two steps, saving the optimizer's state in a checkpoint
// file, and resuming in a fresh optimizer continues bit for bit; the
// groups' hyperparameters come back from the file.
func TestGroupsStateRoundTrip(t *testing.T) {
	specs, cases := loadGroupCases(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			dt := bp.Float64
			if c.DType == "float32" {
				dt = bp.Float32
			}
			const stop = 2
			a := newProblem(specs, dt)
			optA := newGrouped(t, c, a.params)
			for step := range stop {
				optA.SetLR(c.LRs[step])
				a.backward(optA, nil, step)
				optA.Step()
			}
			path := filepath.Join(t.TempDir(), "state.safetensors")
			model := map[string]*bp.Tensor{}
			for _, p := range a.params {
				model[p.Name] = p.T.Detach()
			}
			if err := checkpoint.SaveState(path, checkpoint.State{Step: stop, Model: model, Optim: optA.State()}); err != nil {
				t.Fatal(err)
			}
			for step := stop; step < len(c.Steps); step++ {
				optA.SetLR(c.LRs[step])
				a.backward(optA, nil, step)
				optA.Step()
			}

			st, err := checkpoint.LoadState(path)
			if err != nil {
				t.Fatal(err)
			}
			b := newProblem(specs, dt)
			for _, p := range b.params {
				p.T.CopyFrom(st.Model[p.Name])
			}
			// Built with other group hyperparameters: the state's win, as
			// with PyTorch's load_state_dict.
			groups := []optim.Group{{Params: b.params[:1], Options: []optim.Option{optim.LRScale(7)}}, {Params: b.params[1:]}}
			var optB optim.Optimizer
			switch c.Optimizer {
			case "sgd":
				optB = optim.NewSGDGroups(groups, 1, options(t, optCase{Name: c.Name, Options: c.Options})...)
			case "adam":
				optB = optim.NewAdamGroups(groups, 1, options(t, optCase{Name: c.Name, Options: c.Options})...)
			case "adamw":
				optB = optim.NewAdamWGroups(groups, 1, options(t, optCase{Name: c.Name, Options: c.Options})...)
			case "rmsprop":
				optB = optim.NewRMSpropGroups(groups, 1, options(t, optCase{Name: c.Name, Options: c.Options})...)
			}
			if err := optB.LoadState(st.Optim); err != nil {
				t.Fatal(err)
			}
			for step := stop; step < len(c.Steps); step++ {
				optB.SetLR(c.LRs[step])
				b.backward(optB, nil, step)
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

func TestGroupsAPI(t *testing.T) {
	w := bp.Float64.Zeros(2, 3).SetRequiresGrad(true)
	emb := bp.Float64.Zeros(4, 2).SetRequiresGrad(true)
	b := bp.Float64.Zeros(3).SetRequiresGrad(true)
	ln := bp.Float64.Zeros(3).SetRequiresGrad(true)
	params := []optim.Param{{Name: "fc.weight", T: w}, {Name: "fc.bias", T: b}, {Name: "emb.weight", T: emb}, {Name: "ln.weight", T: ln}}
	groups := optim.DecayGroups(params, 0.1)
	names := func(ps []optim.Param) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name)
		}
		return strings.Join(s, " ")
	}
	if len(groups) != 2 || names(groups[0].Params) != "fc.weight emb.weight" || names(groups[1].Params) != "fc.bias ln.weight" {
		t.Fatalf("DecayGroups gave %d groups: %q and %q", len(groups), names(groups[0].Params), names(groups[1].Params))
	}
	groups[1].Options = append(groups[1].Options, optim.LRScale(0.5))
	opt := optim.NewAdamWGroups(groups, 0.2)
	if opt.NumGroups() != 2 || opt.GroupLR(0) != 0.2 || opt.GroupLR(1) != 0.1 {
		t.Errorf("groups %d, lrs %v %v", opt.NumGroups(), opt.GroupLR(0), opt.GroupLR(1))
	}
	// Parameters are listed group by group.
	if got := names(opt.Params()); got != "fc.weight emb.weight fc.bias ln.weight" {
		t.Errorf("Params %q", got)
	}
	// Decay acts on group 0 only: with a zero gradient, AdamW shrinks the
	// weights by lr·wd and leaves the others alone.
	for _, p := range params {
		p.T.CopyFrom(bp.FullLike(p.T, 1))
		p.T.SetGrad(bp.ZerosLike(p.T))
	}
	opt.Step()
	if w.At(0, 0) != 1-0.2*0.1 || emb.At(3, 1) != 1-0.2*0.1 || b.At(0) != 1 || ln.At(2) != 1 {
		t.Errorf("after a step with zero gradients: w %v emb %v b %v ln %v", w.At(0, 0), emb.At(3, 1), b.At(0), ln.At(2))
	}
	st := opt.State()
	want := []string{"param_groups.0.beta1", "param_groups.0.beta2", "param_groups.0.eps", "param_groups.0.lr_scale", "param_groups.0.params", "param_groups.0.weight_decay"}
	var got []string
	for k := range st {
		if strings.HasPrefix(k, "param_groups.0.") {
			got = append(got, k)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("group keys %v, want %v", got, want)
	}
	if st["param_groups.1.lr_scale"].Item() != 0.5 || st["param_groups.0.weight_decay"].Item() != 0.1 || st["param_groups.1.params"].Item() != 2 {
		t.Errorf("group state %v %v %v", st["param_groups.1.lr_scale"], st["param_groups.0.weight_decay"], st["param_groups.1.params"])
	}
	// A plain optimizer keeps its old state keys.
	plain := optim.NewAdamW(params, 0.1)
	for k := range plain.State() {
		if strings.HasPrefix(k, "param_groups") {
			t.Errorf("plain optimizer saved %s", k)
		}
	}
	if plain.NumGroups() != 1 || plain.GroupLR(0) != 0.1 {
		t.Errorf("plain optimizer: %d groups, lr %v", plain.NumGroups(), plain.GroupLR(0))
	}

	// Loading checks the groups.
	other := optim.NewAdamWGroups([]optim.Group{{Params: params[:1]}, {Params: params[1:]}}, 0.1)
	if err := other.LoadState(st); err == nil || !strings.Contains(err.Error(), "group 0 had 2 parameters when saved, has 1 now") {
		t.Errorf("group size mismatch: %v", err)
	}
	if err := optim.NewAdamWGroups(groups, 0.1).LoadState(plain.State()); err == nil || !strings.Contains(err.Error(), `no "param_groups.0.params"`) {
		t.Errorf("ungrouped state: %v", err)
	}
	if err := plain.LoadState(st); err == nil || !strings.Contains(err.Error(), "unknown keys param_groups") {
		t.Errorf("grouped state into a plain optimizer: %v", err)
	}
	bad := map[string]*bp.Tensor{}
	for k, v := range st {
		bad[k] = v
	}
	bad["param_groups.1.beta1"] = bp.Float64.Scalar(1)
	fresh := optim.NewAdamWGroups(groups, 0.3)
	if err := fresh.LoadState(bad); err == nil || !strings.Contains(err.Error(), "group 1: invalid beta1 1") {
		t.Errorf("bad beta1: %v", err)
	}
	if fresh.LR() != 0.3 {
		t.Errorf("a failed LoadState changed the learning rate")
	}

	mustPanic(t, "LRScale is an option of a Group", func() { optim.NewSGD(params, 0.1, optim.LRScale(2)) })
	mustPanic(t, "group 1: option Momentum cannot differ between groups of SGD", func() {
		optim.NewSGDGroups([]optim.Group{{Params: params[:1]}, {Params: params[1:], Options: []optim.Option{optim.Momentum(0.9)}}}, 0.1)
	})
	mustPanic(t, "optim: NewAdamW: invalid weight decay -1", func() {
		optim.NewAdamWGroups([]optim.Group{{Params: params, Options: []optim.Option{optim.WeightDecay(-1)}}}, 0.1)
	})
	mustPanic(t, "group 0: invalid LRScale -1", func() {
		optim.NewAdamWGroups([]optim.Group{{Params: params, Options: []optim.Option{optim.LRScale(-1)}}}, 0.1)
	})
	mustPanic(t, "no parameter groups", func() { optim.NewAdamWGroups(nil, 0.1) })
	mustPanic(t, `parameters "fc.weight" and "w2" are the same tensor`, func() {
		optim.NewAdamWGroups([]optim.Group{{Params: params[:1]}, {Params: []optim.Param{{Name: "w2", T: w}}}}, 0.1)
	})
	mustPanic(t, "GroupLR: group 2 of 2", func() { opt.GroupLR(2) })
}
