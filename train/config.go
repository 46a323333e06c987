package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// Config is everything that decides a training run's result. Its JSON
// names are the train command's flag names, so a message about a field
// names the flag that sets it.
type Config struct {
	Data string `json:"data"` // "mnist" or "cifar10"
	// Model names the model: one of nn.ModelNames for New, any name for a
	// model of one's own (NewWithModel).
	Model string `json:"model"`
	// Epochs is the total number of epochs of the run, not the number left:
	// a run resumed after epoch 1 with Epochs 2 trains one more.
	Epochs int `json:"epochs"`
	Batch  int `json:"batch"`

	Optim       string  `json:"optim"` // a name of OptimNames
	LR          float64 `json:"lr"`
	Momentum    float64 `json:"momentum"` // momentum, nesterov and rmsprop only
	WeightDecay float64 `json:"weight-decay"`

	// Schedule is "constant", "step" (the rate times Gamma every StepSize
	// epochs) or "cosine" (half a cosine down to 0 over the whole run).
	// The rate is set before every step, so cosine decays smoothly.
	Schedule string  `json:"schedule"`
	StepSize int     `json:"step-size"` // epochs, for "step"
	Gamma    float64 `json:"gamma"`     // for "step"
	// Warmup ramps the rate linearly up to LR over this many steps
	// (batches) before the schedule starts: step i < Warmup runs at
	// LR·(i+1)/(Warmup+1). 0 for none.
	Warmup int `json:"warmup"`
	// ClipGradNorm rescales the gradients to at most this global L2 norm
	// before each step; 0 for no clipping.
	ClipGradNorm float64 `json:"clip-grad-norm"`

	// Seed draws the initial weights (and any dropout masks) and shuffles
	// each epoch.
	Seed uint64 `json:"seed"`
	// TrainSize and TestSize use only the first examples of each set, for
	// quick runs; 0 means all of them.
	TrainSize int `json:"train-size"`
	TestSize  int `json:"test-size"`
}

// DataNames lists the data sets a Config may name.
func DataNames() []string { return []string{"mnist", "cifar10"} }

// OptimNames lists the optimizers a Config may name: plain SGD, SGD with
// momentum, SGD with Nesterov momentum, RMSprop, Adam and AdamW.
func OptimNames() []string {
	return []string{"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"}
}

// ScheduleNames lists the learning-rate schedules a Config may name.
func ScheduleNames() []string { return []string{"constant", "step", "cosine"} }

// Defaults returns the settings a bare `backprop train --model name` runs
// with, each model's tried and tested recipe on MNIST:
//
//	mlp      momentum SGD, lr 0.05, momentum 0.9, batch 128, 5 epochs
//	cnn      Adam, lr 1e-3, batch 64, 3 epochs
//	softmax  momentum SGD, lr 0.05, momentum 0.9, batch 128, 5 epochs
//	svm      momentum SGD, lr 0.01, momentum 0.9, batch 128, 5 epochs
//
// (the linear classifiers reach about 92% on MNIST with these). All of
// them use the MNIST data, a constant learning rate, no weight decay, no
// clipping and seed 1.
func Defaults(model string) (Config, error) {
	c := Config{
		Data: "mnist", Model: model, Schedule: "constant", StepSize: 2, Gamma: 0.1, Seed: 1,
		Optim: "momentum", LR: 0.05, Momentum: 0.9, Batch: 128, Epochs: 5,
	}
	switch model {
	case "mlp":
	case "cnn":
		c.Optim, c.LR, c.Momentum, c.Batch, c.Epochs = "adam", 1e-3, 0, 64, 3
	case "softmax":
	case "svm":
		c.LR = 0.01 // the hinge loss's gradients do not shrink as the scores grow
	default:
		return Config{}, fmt.Errorf("unknown model %q (have %s)", model, strings.Join(nn.ModelNames(), ", "))
	}
	return c, nil
}

// SetOptim switches to the optimizer name with its own default learning
// rate, momentum and weight decay (PyTorch's, except a learning rate of
// 0.05 for the SGD family, which suits these models): the model's tuned
// rate is for the model's own optimizer and would be wrong for another.
// Setting the optimizer the config already has changes nothing.
func (c *Config) SetOptim(name string) {
	if name == c.Optim {
		return
	}
	c.Optim, c.Momentum, c.WeightDecay = name, 0, 0
	switch name {
	case "sgd":
		c.LR = 0.05
	case "momentum", "nesterov":
		c.LR, c.Momentum = 0.05, 0.9
	case "rmsprop", "adam":
		c.LR = 1e-3
	case "adamw":
		c.LR, c.WeightDecay = 1e-3, 0.01
	}
}

// Validate reports the first setting that is out of range, naming its
// flag.
func (c Config) Validate() error {
	oneOf := func(flag, v string, names []string) error {
		if !slices.Contains(names, v) {
			return fmt.Errorf("--%s %q: want one of %s", flag, v, strings.Join(names, ", "))
		}
		return nil
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if err := oneOf("data", c.Data, DataNames()); err != nil {
		return err
	}
	if c.Model == "" {
		return errors.New("--model: no model named")
	}
	if err := oneOf("optim", c.Optim, OptimNames()); err != nil {
		return err
	}
	if err := oneOf("schedule", c.Schedule, ScheduleNames()); err != nil {
		return err
	}
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("--epochs %d: want at least 1", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("--batch %d: want at least 1", c.Batch)
	case !(c.LR > 0) || !finite(c.LR):
		return fmt.Errorf("--lr %v: want a positive number", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("--momentum %v: want 0 <= momentum < 1", c.Momentum)
	case !(c.WeightDecay >= 0) || !finite(c.WeightDecay):
		return fmt.Errorf("--weight-decay %v: want a number >= 0", c.WeightDecay)
	case c.StepSize < 1:
		return fmt.Errorf("--step-size %d: want at least 1 epoch", c.StepSize)
	case !(c.Gamma > 0 && c.Gamma <= 1):
		return fmt.Errorf("--gamma %v: want 0 < gamma <= 1", c.Gamma)
	case c.Warmup < 0:
		return fmt.Errorf("--warmup %d: want 0 or more steps", c.Warmup)
	case !(c.ClipGradNorm >= 0) || !finite(c.ClipGradNorm):
		return fmt.Errorf("--clip-grad-norm %v: want a number >= 0 (0 turns clipping off)", c.ClipGradNorm)
	case c.TrainSize < 0:
		return fmt.Errorf("--train-size %d: want 0 (all) or more", c.TrainSize)
	case c.TestSize < 0:
		return fmt.Errorf("--test-size %d: want 0 (all) or more", c.TestSize)
	}
	switch c.Optim {
	case "sgd", "adam", "adamw":
		if c.Momentum != 0 {
			hint := "use --optim momentum for SGD with momentum"
			if c.Optim != "sgd" {
				hint = c.Optim + "'s moving averages are fixed at betas 0.9, 0.999"
			}
			return fmt.Errorf("--momentum %v does not apply to --optim %s (%s)", c.Momentum, c.Optim, hint)
		}
	case "momentum", "nesterov":
		if c.Momentum == 0 {
			return fmt.Errorf("--optim %s needs --momentum above 0", c.Optim)
		}
	}
	return nil
}

// NewOptimizer builds the optimizer the config names over params.
func (c Config) NewOptimizer(params []optim.Param) (optim.Optimizer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	wd := optim.WeightDecay(c.WeightDecay)
	switch c.Optim {
	case "sgd":
		return optim.NewSGD(params, c.LR, wd), nil
	case "momentum":
		return optim.NewSGD(params, c.LR, optim.Momentum(c.Momentum), wd), nil
	case "nesterov":
		return optim.NewSGD(params, c.LR, optim.Momentum(c.Momentum), optim.Nesterov(), wd), nil
	case "rmsprop":
		return optim.NewRMSprop(params, c.LR, optim.Momentum(c.Momentum), wd), nil
	case "adam":
		return optim.NewAdam(params, c.LR, wd), nil
	default: // "adamw", as Validate has checked
		return optim.NewAdamW(params, c.LR, wd), nil
	}
}

// NewSchedule returns the learning-rate schedule of the config, counted in
// optimizer steps, for a run of stepsPerEpoch steps per epoch; nil for a
// constant rate without warmup.
func (c Config) NewSchedule(stepsPerEpoch int) optim.Schedule {
	var s optim.Schedule
	// Products saturate: --epochs or --step-size near MaxInt must give a
	// schedule that never decays, not one of a negative length.
	switch c.Schedule {
	case "step":
		s = optim.StepLR{StepSize: mulSat(c.StepSize, stepsPerEpoch), Gamma: c.Gamma}
	case "cosine":
		s = optim.CosineAnnealing{TMax: max(mulSat(c.Epochs, stepsPerEpoch)-c.Warmup, 1)}
	}
	if c.Warmup > 0 {
		// Start at lr/(N+1), not 0: a step at rate 0 would be wasted. The
		// rate of step i < N is lr·(i+1)/(N+1).
		return optim.Warmup{Steps: c.Warmup, StartFactor: 1 / (float64(c.Warmup) + 1), Then: s}
	}
	return s
}

// mulSat is a*b for a, b >= 1, or MaxInt when that overflows.
func mulSat(a, b int) int {
	if b > 0 && a > math.MaxInt/b {
		return math.MaxInt
	}
	return a * b
}

// Describe is the config in one line, for the start of a run's log.
func (c Config) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, lr %g", c.Optim, c.LR)
	if c.Momentum != 0 {
		fmt.Fprintf(&b, ", momentum %g", c.Momentum)
	}
	if c.WeightDecay != 0 {
		fmt.Fprintf(&b, ", weight decay %g", c.WeightDecay)
	}
	switch c.Schedule {
	case "step":
		fmt.Fprintf(&b, ", lr x%g every %s", c.Gamma, plural(c.StepSize, "epoch"))
	case "cosine":
		b.WriteString(", cosine schedule")
	}
	if c.Warmup > 0 {
		fmt.Fprintf(&b, ", %d warmup steps", c.Warmup)
	}
	if c.ClipGradNorm > 0 {
		fmt.Fprintf(&b, ", gradient norm clipped at %g", c.ClipGradNorm)
	}
	fmt.Fprintf(&b, ", batch %d, %s, seed %d", c.Batch, plural(c.Epochs, "epoch"), c.Seed)
	return b.String()
}

// Mismatch compares the settings of a run being resumed (c, as saved in
// its checkpoint) with those requested for its continuation, and describes
// each difference that would make the continued run differ from one that
// never stopped, naming its flag: "--lr 0.1 (the checkpoint has 0.05)". The
// number of epochs may grow, except under a cosine schedule, whose shape
// depends on it; the test-set size may change, as it does not affect
// training.
func (c Config) Mismatch(want Config) []string {
	a, b := c.fields(), want.fields()
	var out []string
	for i := range a {
		name := a[i].name
		if name == "test-size" || (name == "epochs" && c.Schedule != "cosine") {
			continue
		}
		if a[i].value != b[i].value {
			out = append(out, fmt.Sprintf("--%s %s (the checkpoint has %s)", name, b[i].value, a[i].value))
		}
	}
	return out
}

type field struct{ name, value string }

// fields lists the config's settings by flag name, in declaration order,
// through its JSON form, so that a new field cannot be forgotten.
func (c Config) fields() []field { return jsonFields(c) }

// jsonFields lists the fields of a flat struct of numbers and strings by
// their JSON names, in declaration order.
func jsonFields(c any) []field {
	raw, err := json.Marshal(c)
	if err != nil {
		panic(err) // a struct of plain numbers and strings always marshals
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var out []field
	if _, err := dec.Token(); err != nil { // {
		panic(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			panic(err)
		}
		v, err := dec.Token()
		if err != nil {
			panic(err)
		}
		out = append(out, field{k.(string), fmt.Sprint(v)})
	}
	return out
}
