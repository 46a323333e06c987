package train

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/internal/synthetic"
	"github.com/gobackprop/backprop/nn"
)

// dropoutNet is a model of one's own with dropout, so that the random
// generator is in play during training.
func dropoutNet(in, classes int, rng *bp.RNG) nn.Module {
	return nn.NewSequential(nn.NewFlatten(),
		nn.NewLinear(in, 16, rng), nn.NewReLU(), nn.NewDropout(0.3, rng),
		nn.NewLinear(16, classes, rng))
}

// sameState fails unless two checkpoints agree bit for bit in every tensor
// (weights and optimizer state), counter and random state.
func sameState(t *testing.T, what string, a, b checkpoint.State) {
	t.Helper()
	if a.Epoch != b.Epoch || a.Step != b.Step || a.ModelName != b.ModelName || !bytes.Equal(a.RNG, b.RNG) {
		t.Errorf("%s: epoch/step/model/rng differ: %d/%d/%s vs %d/%d/%s (rng equal %v)", what,
			a.Epoch, a.Step, a.ModelName, b.Epoch, b.Step, b.ModelName, bytes.Equal(a.RNG, b.RNG))
	}
	for _, pair := range [][2]map[string]*bp.Tensor{{a.Model, b.Model}, {a.Optim, b.Optim}} {
		x, y := pair[0], pair[1]
		if len(x) != len(y) {
			t.Errorf("%s: %d tensors vs %d", what, len(x), len(y))
		}
		for name, tx := range x {
			ty, ok := y[name]
			if !ok {
				t.Errorf("%s: %q missing", what, name)
				continue
			}
			if !sameBits(tx, ty) {
				t.Errorf("%s: tensor %q differs", what, name)
			}
		}
	}
}

func sameBits(a, b *bp.Tensor) bool {
	if a.DType() != b.DType() || !slices.Equal(a.Shape(), b.Shape()) {
		return false
	}
	switch a.DType() {
	case bp.Float32:
		x, y := a.Contiguous().Float32s(), b.Contiguous().Float32s()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
	default:
		x, y := a.Contiguous().Float64s(), b.Contiguous().Float64s()
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
	}
	return true
}

func mustState(t *testing.T, tr *Trainer) checkpoint.State {
	t.Helper()
	st, err := tr.State()
	if err != nil {
		t.Fatal(err)
	}
	// Copy the weights: the state's model tensors are views of the live
	// ones.
	for k, v := range st.Model {
		st.Model[k] = v.Clone()
	}
	return st
}

// TestResumeBitForBit trains 3 epochs straight through, and 1 epoch, a
// checkpoint through a file, and 2 more in a fresh Trainer; the two must
// end bit for bit equal. It covers every optimizer, a model with dropout
// (the generator in play), warmup, both schedules and clipping, and a last
// batch smaller than the others.
func TestResumeBitForBit(t *testing.T) {
	trainSet, testSet := synthetic.Images(90, 6, 1), synthetic.Images(30, 6, 2)
	cases := []struct {
		optim, schedule string
		warmup          int
		clip            float64
	}{
		{"sgd", "constant", 0, 0},
		{"momentum", "step", 0, 0.5},
		{"nesterov", "cosine", 3, 0},
		{"rmsprop", "constant", 2, 0},
		{"adam", "cosine", 4, 1},
		{"adamw", "step", 0, 0},
	}
	for _, tc := range cases {
		cfg, _ := Defaults("mlp")
		cfg.SetOptim(tc.optim)
		if tc.optim == "sgd" || tc.optim == "momentum" || tc.optim == "nesterov" {
			cfg.LR = 0.1
		}
		cfg.Model, cfg.Batch, cfg.Epochs, cfg.Seed = "dropout-net", 16, 3, 7
		cfg.Schedule, cfg.StepSize, cfg.Warmup, cfg.ClipGradNorm = tc.schedule, 1, tc.warmup, tc.clip
		build := func(c Config) *Trainer {
			rng := bp.NewRNG(c.Seed)
			tr, err := NewWithModel(c, dropoutNet(36, 3, rng), nn.CrossEntropy, rng, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
		straight := build(cfg)
		if err := straight.Run(context.Background(), "", nil); err != nil {
			t.Fatal(err)
		}

		// The same run, stopped after its first epoch's checkpoint.
		path := filepath.Join(t.TempDir(), "run.safetensors")
		first := build(cfg)
		if _, err := first.RunEpoch(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if err := first.Save(path); err != nil {
			t.Fatal(err)
		}
		st, err := checkpoint.LoadState(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Epoch != 1 {
			t.Fatalf("%s: checkpoint at epoch %d, want 1", tc.optim, st.Epoch)
		}
		resumed := build(cfg)
		if err := resumed.Restore(st); err != nil {
			t.Fatalf("%s: %v", tc.optim, err)
		}
		if err := resumed.Run(context.Background(), "", nil); err != nil {
			t.Fatal(err)
		}
		sameState(t, tc.optim+"/"+tc.schedule, mustState(t, straight), mustState(t, resumed))
		if len(resumed.History) != 3 || resumed.History[0] != first.History[0] {
			t.Errorf("%s: history %v, want the first epoch's metrics carried over", tc.optim, resumed.History)
		}
		for i := range 3 {
			a, b := straight.History[i], resumed.History[i]
			if a.TrainLoss != b.TrainLoss || a.TestAcc != b.TestAcc || a.LR != b.LR {
				t.Errorf("%s: epoch %d metrics %+v vs %+v", tc.optim, i+1, a, b)
			}
		}
	}
}

// TestThreadsSameBits trains the mlp and the cnn with one kernel thread
// and with two: the kernels split work by the shape alone, so the weights
// must agree bit for bit.
func TestThreadsSameBits(t *testing.T) {
	defer bp.SetThreads(0)
	trainSet, testSet := synthetic.Images(96, 28, 3), synthetic.Images(20, 28, 4)
	for _, model := range []string{"mlp", "cnn"} {
		var states []checkpoint.State
		for _, threads := range []int{1, 2} {
			bp.SetThreads(threads)
			cfg, _ := Defaults(model)
			cfg.Epochs, cfg.Batch = 1, 48
			if model == "cnn" {
				cfg.TrainSize = 48 // one step: the cnn is slow
			}
			tr, err := New(cfg, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Run(context.Background(), "", nil); err != nil {
				t.Fatal(err)
			}
			states = append(states, mustState(t, tr))
		}
		sameState(t, model+" threads 1 vs 2", states[0], states[1])
	}
}

func TestRestoreRefuses(t *testing.T) {
	trainSet, testSet := synthetic.Images(64, 6, 1), synthetic.Images(16, 6, 2)
	cfg, _ := Defaults("softmax")
	cfg.Epochs, cfg.Batch = 1, 16
	tr, err := New(cfg, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), "", nil); err != nil {
		t.Fatal(err)
	}
	st := mustState(t, tr)

	for _, tc := range []struct {
		name   string
		change func(*Config)
		data   data.Dataset
		want   string
	}{
		{"lr", func(c *Config) { c.LR = 0.2 }, trainSet, "--lr 0.2 (the checkpoint has 0.05)"},
		{"seed", func(c *Config) { c.Seed = 9 }, trainSet, "--seed 9 (the checkpoint has 1)"},
		{"model", func(c *Config) { c.Model = "svm" }, trainSet, `--model svm (the checkpoint has softmax)`},
		{"data", func(c *Config) {}, trainSet.Slice(0, 48), "trained on 64 training examples"},
	} {
		c := cfg
		tc.change(&c)
		c.Epochs = 2
		other, err := New(c, tc.data, testSet)
		if err != nil {
			t.Fatal(err)
		}
		err = other.Restore(st)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}

	// More epochs is fine, except under the cosine schedule.
	c := cfg
	c.Epochs = 4
	ok, _ := New(c, trainSet, testSet)
	if err := ok.Restore(st); err != nil {
		t.Errorf("more epochs: %v", err)
	}
	if d := (Config{Schedule: "cosine", Epochs: 3}).Mismatch(Config{Schedule: "cosine", Epochs: 4}); len(d) != 1 || !strings.Contains(d[0], "--epochs 4") {
		t.Errorf("cosine epochs mismatch %v", d)
	}

	// A plain file of weights is no training checkpoint.
	plain := st
	plain.Meta = map[string]string{}
	if err := ok.Restore(plain); err == nil || !strings.Contains(err.Error(), "not written by backprop train") {
		t.Errorf("plain weights: %v", err)
	}
	// Weights of another shape.
	bad := mustState(t, tr)
	bad.Model["1.weight"] = bp.Zeros(3, 5)
	if err := ok.Restore(bad); err == nil || !strings.Contains(err.Error(), "1.weight") {
		t.Errorf("bad weights: %v", err)
	}
}

func TestDefaultsAndValidate(t *testing.T) {
	for _, m := range nn.ModelNames() {
		c, err := Defaults(m)
		if err != nil || c.Validate() != nil {
			t.Errorf("%s: %v %v", m, err, c.Validate())
		}
	}
	if _, err := Defaults("resnet"); err == nil {
		t.Error("Defaults(resnet) gave no error")
	}
	c, _ := Defaults("cnn")
	c.SetOptim("adam") // the model's own: keeps its rate
	if c.LR != 1e-3 || c.Batch != 64 {
		t.Errorf("cnn: %+v", c)
	}
	c.SetOptim("momentum")
	if c.LR != 0.05 || c.Momentum != 0.9 {
		t.Errorf("cnn with momentum: %+v", c)
	}
	c.SetOptim("adamw")
	if c.LR != 1e-3 || c.Momentum != 0 || c.WeightDecay != 0.01 {
		t.Errorf("adamw: %+v", c)
	}
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Epochs = 0 }, "--epochs 0"},
		{func(c *Config) { c.Batch = -1 }, "--batch -1"},
		{func(c *Config) { c.LR = math.NaN() }, "--lr NaN"},
		{func(c *Config) { c.Optim = "lbfgs" }, `--optim "lbfgs"`},
		{func(c *Config) { c.Schedule = "linear" }, `--schedule "linear"`},
		{func(c *Config) { c.Gamma = 0 }, "--gamma 0"},
		{func(c *Config) { c.Warmup = -1 }, "--warmup -1"},
		{func(c *Config) { c.ClipGradNorm = -1 }, "--clip-grad-norm -1"},
		{func(c *Config) { c.Momentum = 1 }, "--momentum 1"},
		{func(c *Config) { c.Optim = "sgd" }, "--momentum 0.9 does not apply to --optim sgd"},
		{func(c *Config) { c.Momentum = 0 }, "--optim momentum needs --momentum above 0"},
		{func(c *Config) { c.Data = "imagenet" }, `--data "imagenet"`},
	} {
		c, _ := Defaults("mlp")
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	ds := synthetic.Images(2500, 6, 5) // more than one evaluation batch
	rng := bp.NewRNG(1)
	model, _ := nn.NewModel("softmax", ds.ExampleShape(), 3, rng)
	r := Evaluate(model, nn.CrossEntropy, ds, 3)
	x, y := ds.Tensors()
	logits := model.Forward(x.NoGrad())
	if r.N != 2500 || r.Correct != nn.Correct(logits, y) {
		t.Errorf("N %d correct %d, want 2500 and %d", r.N, r.Correct, nn.Correct(logits, y))
	}
	if want := nn.CrossEntropy(logits, y).Item(); math.Abs(r.Loss-want) > 1e-5 {
		t.Errorf("loss %v, want %v", r.Loss, want)
	}
	total, diag := 0, 0
	for i, row := range r.Confusion {
		for j, v := range row {
			total += v
			if i == j {
				diag += v
			}
		}
	}
	if total != r.N || diag != r.Correct {
		t.Errorf("confusion sums to %d with diagonal %d", total, diag)
	}
	if m, _ := model.(interface{ Training() bool }); !m.Training() {
		t.Error("Evaluate left the model in evaluation mode")
	}
	if e := Evaluate(model, nil, ds.Slice(0, 0), 3); e.N != 0 || e.Accuracy() != 0 || len(e.Confusion) != 3 {
		t.Errorf("empty: %+v", e)
	}
}

func TestCSVAndPlot(t *testing.T) {
	hist := []Metrics{
		{Epoch: 1, TrainLoss: 0.5, TrainAcc: 0.8, TestLoss: 0.25, TestAcc: 0.9, Seconds: 12.3456, ImagesPerSec: 4860.04, LR: 0.05},
		{Epoch: 2, TrainLoss: 0.125, TrainAcc: 0.9375, TestLoss: 0.2, TestAcc: 0.95, Seconds: 11, ImagesPerSec: 5454.5, LR: 0.005},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, hist); err != nil {
		t.Fatal(err)
	}
	want := "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_s,lr\n" +
		"1,0.5,0.8,0.25,0.9,12.346,4860.0,0.05\n" +
		"2,0.125,0.9375,0.2,0.95,11.000,5454.5,0.005\n"
	if b.String() != want {
		t.Errorf("CSV\n%s\nwant\n%s", b.String(), want)
	}
	for _, h := range [][]Metrics{hist, hist[:1], nil} {
		b.Reset()
		if err := Plot(&b, h, "mlp on mnist"); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		if s := img.Bounds().Size(); s.X < 600 || s.Y < 250 {
			t.Errorf("plot of %d epochs is %v", len(h), s)
		}
	}
	csvPath, pngPath := SidePaths(filepath.Join("runs", "mnist-mlp.safetensors"))
	if csvPath != filepath.Join("runs", "mnist-mlp.csv") || pngPath != filepath.Join("runs", "mnist-mlp.png") {
		t.Errorf("SidePaths: %s %s", csvPath, pngPath)
	}
}

func TestProgressLinesAndCancel(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b) // not a terminal: lines
	trainSet, testSet := synthetic.Images(64, 6, 1), synthetic.Images(16, 6, 2)
	cfg, _ := Defaults("softmax")
	cfg.Epochs, cfg.Batch = 2, 16
	tr, _ := New(cfg, trainSet, testSet)
	if err := tr.Run(context.Background(), "", p); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "epoch 1: train loss ") || !strings.Contains(lines[1], "img/s") {
		t.Errorf("progress lines %q", lines)
	}
	if tr.History[1].TrainAcc < 0.9 || tr.History[1].TestAcc < 0.9 {
		t.Errorf("the softmax did not learn the synthetic data: %+v", tr.History[1])
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tr2, _ := New(cfg, trainSet, testSet)
	if err := tr2.Run(ctx, "", nil); !errors.Is(err, context.Canceled) || tr2.Epoch != 0 {
		t.Errorf("cancelled run: %v, epoch %d", err, tr2.Epoch)
	}
}

func TestDivergenceIsAnError(t *testing.T) {
	trainSet, testSet := synthetic.Images(64, 6, 1), synthetic.Images(16, 6, 2)
	cfg, _ := Defaults("mlp")
	cfg.LR, cfg.Epochs, cfg.Batch = 1e30, 1, 16
	tr, _ := New(cfg, trainSet, testSet)
	err := tr.Run(context.Background(), "", nil)
	if err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Errorf("error %v, want a diverged one", err)
	}
}

// recorder is a Progress that keeps every step's learning rate.
type recorder struct{ lrs []float64 }

func (r *recorder) StartEpoch(epoch, epochs, batches int) {}
func (r *recorder) Batch(s BatchStats)                    { r.lrs = append(r.lrs, s.LR) }
func (r *recorder) EndEpoch(Metrics)                      {}

func TestSchedules(t *testing.T) {
	trainSet, testSet := synthetic.Images(64, 6, 1), synthetic.Images(16, 6, 2) // 4 steps per epoch
	run := func(schedule string, warmup int) *recorder {
		cfg, _ := Defaults("softmax")
		cfg.Epochs, cfg.Batch, cfg.LR, cfg.Schedule, cfg.StepSize, cfg.Gamma, cfg.Warmup = 3, 16, 0.1, schedule, 1, 0.5, warmup
		tr, err := New(cfg, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		r := &recorder{}
		if err := tr.Run(context.Background(), "", r); err != nil {
			t.Fatal(err)
		}
		if len(r.lrs) != 12 || tr.History[2].LR != r.lrs[11] {
			t.Fatalf("%s: rates %v, last epoch's %v", schedule, r.lrs, tr.History[2].LR)
		}
		return r
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if r := run("constant", 0); r.lrs[0] != 0.1 || r.lrs[11] != 0.1 {
		t.Errorf("constant: %v", r.lrs)
	}
	if r := run("step", 0); !near(r.lrs[3], 0.1) || !near(r.lrs[4], 0.05) || !near(r.lrs[8], 0.025) {
		t.Errorf("step: %v", r.lrs)
	}
	r := run("cosine", 2)
	// Warmup: 0.1/3, 0.2/3, then the cosine from 0.1 over the 10 steps left.
	if !near(r.lrs[0], 0.1/3) || !near(r.lrs[1], 0.2/3) || !near(r.lrs[2], 0.1) ||
		!near(r.lrs[7], 0.05) || !(r.lrs[11] < 0.003) {
		t.Errorf("cosine with warmup: %v", r.lrs)
	}
}

// In anomaly mode the same run stops at the op where the first infinity or
// NaN appeared, and says which and where.
func TestDivergenceInAnomalyMode(t *testing.T) {
	trainSet, testSet := synthetic.Images(64, 6, 1), synthetic.Images(16, 6, 2)
	cfg, _ := Defaults("mlp")
	cfg.LR, cfg.Epochs, cfg.Batch = 1e30, 1, 16
	tr, _ := New(cfg, trainSet, testSet)
	bp.SetDetectAnomaly(true)
	defer bp.SetDetectAnomaly(false)
	err := tr.Run(context.Background(), "", nil)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"anomaly at epoch 1, step ", " in its output", "input shapes", "recorded at ", "trainer.go:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line", msg)
	}
}
