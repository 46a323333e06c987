package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// Metadata keys of a checkpoint written by a Trainer, beside the
// checkpoint package's own.
const (
	MetaConfig   = "train.config"   // the Config, as JSON
	MetaHistory  = "train.history"  // the Metrics of every epoch so far, as a JSON array
	MetaExamples = "train.examples" // the number of training examples, decimal
)

// EvalBatch is the batch size of evaluation passes. It changes neither the
// result nor, much, the speed; it bounds the memory a pass takes.
const EvalBatch = 250

// Metrics are the numbers of one epoch. Accuracies are fractions.
type Metrics struct {
	Epoch     int     `json:"epoch"` // from 1
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_acc"`
	// Seconds is the wall time of the epoch's training steps, evaluation
	// not included; ImagesPerSec is the training examples per second.
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_s"`
	LR           float64 `json:"lr"` // the learning rate of the epoch's last step
}

// Trainer runs the training of one model on one data set, epoch by epoch,
// and saves and restores everything the run needs to continue bit for bit:
// weights, optimizer state, counters, the random generator and the metrics
// so far. Its fields are for reading; change them only through its
// methods. A Trainer belongs to one goroutine.
type Trainer struct {
	Config    Config
	Model     nn.Module
	Loss      nn.LossFunc
	Optimizer optim.Optimizer
	Scheduler *optim.Scheduler // nil for a constant learning rate
	// RNG is the generator that drew the initial weights and that any
	// random layer (Dropout) draws from; its state is saved.
	RNG               *bp.RNG
	TrainSet, TestSet data.Dataset
	Classes           int
	Epoch             int // epochs completed
	Step              int // optimizer steps taken
	History           []Metrics

	params   []optim.Param
	loader   *data.Loader
	parallel // set by Distribute
}

// New builds the model cfg.Model for the examples of trainSet, seeded with
// cfg.Seed, its loss and optimizer, ready to train from scratch. Both data
// sets must report their number of classes (as data.TensorDataset does);
// cfg.TrainSize and cfg.TestSize cut them.
func New(cfg Config, trainSet, testSet data.Dataset) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	classes, err := classesOf(trainSet)
	if err != nil {
		return nil, err
	}
	rng := bp.NewRNG(cfg.Seed)
	model, err := nn.NewModel(cfg.Model, trainSet.ExampleShape(), classes, rng)
	if err != nil {
		return nil, err
	}
	loss, err := nn.LossFor(cfg.Model)
	if err != nil {
		return nil, err
	}
	return NewWithModel(cfg, model, loss, rng, trainSet, testSet)
}

// NewWithModel is New for a model of one's own: model must have been
// built from rng (which the Trainer then saves and restores with the
// checkpoint, so that dropout masks continue where they stopped), and
// cfg.Model names it in checkpoints.
func NewWithModel(cfg Config, model nn.Module, loss nn.LossFunc, rng *bp.RNG, trainSet, testSet data.Dataset) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if model == nil || loss == nil || rng == nil || trainSet == nil || testSet == nil {
		return nil, errors.New("train: NewWithModel: nil model, loss, generator or data set")
	}
	classes, err := classesOf(trainSet)
	if err != nil {
		return nil, err
	}
	if tc, err := classesOf(testSet); err != nil {
		return nil, err
	} else if tc != classes {
		return nil, fmt.Errorf("the training set has %d classes and the test set %d", classes, tc)
	}
	// A model is built for the training examples' shape; test examples of
	// another shape would fail only at the first evaluation, an epoch in.
	if a, b := trainSet.ExampleShape(), testSet.ExampleShape(); !slices.Equal(a, b) {
		return nil, fmt.Errorf("the training examples have shape %v and the test examples %v; both sets must come from the same data set", a, b)
	}
	trainSet, err = firstN(trainSet, cfg.TrainSize, classes, "--train-size")
	if err != nil {
		return nil, err
	}
	testSet, err = firstN(testSet, cfg.TestSize, classes, "--test-size")
	if err != nil {
		return nil, err
	}
	if trainSet.Len() == 0 {
		return nil, errors.New("the training set is empty")
	}
	params := nn.Parameters(model)
	opt, err := cfg.NewOptimizer(params)
	if err != nil {
		return nil, err
	}
	t := &Trainer{
		Config: cfg, Model: model, Loss: loss, Optimizer: opt, RNG: rng,
		TrainSet: trainSet, TestSet: testSet, Classes: classes, params: params,
		loader: &data.Loader{Dataset: trainSet, BatchSize: cfg.Batch, Shuffle: true, Seed: cfg.Seed},
	}
	if s := cfg.NewSchedule(t.loader.NumBatches()); s != nil {
		t.Scheduler = optim.NewScheduler(opt, s)
	}
	return t, nil
}

func classesOf(ds data.Dataset) (int, error) {
	if ds == nil {
		return 0, errors.New("train: nil data set")
	}
	c, ok := ds.(interface{ Classes() int })
	if !ok {
		return 0, fmt.Errorf("train: the data set %T does not say how many classes it has (a Classes() int method)", ds)
	}
	return c.Classes(), nil
}

// subset is the first n examples of a data set that has classes classes
// (found by classesOf before the cut, so that asking again cannot fail).
type subset struct {
	data.Dataset
	n, classes int
}

func (s subset) Len() int     { return s.n }
func (s subset) Classes() int { return s.classes }

func firstN(ds data.Dataset, n, classes int, flag string) (data.Dataset, error) {
	switch {
	case n == 0 || n == ds.Len():
		return ds, nil
	case n > ds.Len():
		return nil, fmt.Errorf("%s %d: the data set has only %d examples", flag, n, ds.Len())
	}
	if td, ok := ds.(*data.TensorDataset); ok {
		return td.Slice(0, n), nil
	}
	return subset{ds, n, classes}, nil
}

// BatchStats describe the epoch so far, after one training step.
type BatchStats struct {
	Epoch, Epochs  int // the epoch (from 1) of the total
	Batch, Batches int // batches done (from 1) of the epoch's total
	Loss, Acc      float64
	ImagesPerSec   float64
	Step           int // optimizer steps taken in the whole run
	Elapsed        time.Duration
	LR             float64 // the learning rate of this step
	// The step's own batch, for a curve finer than the epoch's running
	// means: its number of examples, mean loss and accuracy.
	Size              int
	StepLoss, StepAcc float64
}

// RunEpoch trains one epoch (the next: Epoch+1), then evaluates the test
// set, appends the epoch's Metrics to History and returns them. It
// reports progress to p, which may be nil. When ctx ends in the middle,
// it returns ctx's error and the Trainer holds a partly trained epoch:
// save nothing from it, resume from the last checkpoint instead.
func (t *Trainer) RunEpoch(ctx context.Context, p Progress) (_ Metrics, err error) {
	defer t.recoverAnomaly(&err)
	if t.ddp != nil {
		return t.runEpochDistributed(ctx, p)
	}
	if p == nil {
		p = silent{}
	}
	cfg := t.Config
	e := t.Epoch
	nb := t.loader.NumBatches()
	p.StartEpoch(e+1, cfg.Epochs, nb)
	nn.Train(t.Model)
	start := time.Now()
	var lossSum, lr float64
	var correct, seen int
	// Every tensor a step computes comes from this arena and is recycled at
	// the end of the step, so steady-state steps allocate almost nothing.
	// What must outlive a step (the loss value, the count of correct
	// answers) is read out as plain numbers first.
	pool := bp.NewPool()
	defer pool.Release()
	for b := range t.loader.Epoch(e) {
		if err := ctx.Err(); err != nil {
			return Metrics{}, err
		}
		lr = t.Optimizer.LR()
		logits := t.Model.Forward(b.X.InPool(pool))
		loss := t.Loss(logits, b.Y)
		lv := loss.Item()
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			return Metrics{}, fmt.Errorf("the loss became %v at epoch %d, step %d (learning rate %g): training diverged; try a smaller --lr or --clip-grad-norm (--detect-anomaly names the op that made it)", lv, e+1, t.Step+1, lr)
		}
		loss.Backward()
		if cfg.ClipGradNorm > 0 {
			optim.ClipGradNorm(t.params, cfg.ClipGradNorm)
		}
		t.Optimizer.Step()
		t.Optimizer.ZeroGrad()
		if t.Scheduler != nil {
			t.Scheduler.Step()
		}
		t.Step++
		n := b.Size()
		c := nn.Correct(logits.Detach(), b.Y)
		lossSum += lv * float64(n)
		correct += c
		seen += n
		el := time.Since(start)
		p.Batch(BatchStats{
			Epoch: e + 1, Epochs: cfg.Epochs, Batch: b.Index + 1, Batches: nb,
			Loss: lossSum / float64(seen), Acc: float64(correct) / float64(seen),
			ImagesPerSec: float64(seen) / el.Seconds(), Step: t.Step, Elapsed: el,
			LR: lr, Size: n, StepLoss: lv, StepAcc: float64(c) / float64(n),
		})
		pool.Reset()
	}
	secs := time.Since(start).Seconds()
	ev := Evaluate(t.Model, t.Loss, t.TestSet, t.Classes)
	m := Metrics{
		Epoch: e + 1, TrainLoss: lossSum / float64(seen), TrainAcc: float64(correct) / float64(seen),
		TestLoss: ev.Loss, TestAcc: ev.Accuracy(), Seconds: secs, ImagesPerSec: float64(seen) / secs, LR: lr,
	}
	t.Epoch++
	t.History = append(t.History, m)
	p.EndEpoch(m)
	return m, nil
}

// Run trains until Config.Epochs epochs are done, saving a checkpoint to
// out after every epoch (with its metrics CSV and plot beside it; see
// Save) unless out is "" or this is not rank 0 of a distributed run. A
// Trainer that has already done them all returns at once.
func (t *Trainer) Run(ctx context.Context, out string, p Progress) error {
	for t.Epoch < t.Config.Epochs {
		if _, err := t.RunEpoch(ctx, p); err != nil {
			return err
		}
		if out != "" && t.Rank() == 0 {
			if err := t.Save(out); err != nil {
				return err
			}
		}
	}
	return nil
}

// State returns the training state as the checkpoint package saves it.
// The model's tensors are views of the live weights: save the state before
// training on.
func (t *Trainer) State() (checkpoint.State, error) {
	rng, err := t.RNG.MarshalBinary()
	if err != nil {
		return checkpoint.State{}, err
	}
	cfg, err := json.Marshal(t.Config)
	if err != nil {
		return checkpoint.State{}, err
	}
	hist := t.History
	if hist == nil {
		hist = []Metrics{}
	}
	h, err := json.Marshal(hist)
	if err != nil {
		return checkpoint.State{}, fmt.Errorf("train: metrics: %w", err)
	}
	return checkpoint.State{
		Epoch: t.Epoch, Step: t.Step, ModelName: t.Config.Model,
		Model: nn.StateDict(t.Model), Optim: t.Optimizer.State(), RNG: rng,
		Meta: map[string]string{
			MetaConfig:   string(cfg),
			MetaHistory:  string(h),
			MetaExamples: strconv.Itoa(t.TrainSet.Len()),
		},
	}, nil
}

// ConfigOf returns the Config a checkpoint written by a Trainer was
// trained with, and an error for any other file (a plain file of weights
// among them).
func ConfigOf(st checkpoint.State) (Config, error) {
	raw, ok := st.Meta[MetaConfig]
	if !ok {
		return Config{}, fmt.Errorf("it holds no training settings (metadata %q), so it was not written by backprop train", MetaConfig)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("its training settings (metadata %q) are corrupt: %v", MetaConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("its training settings are invalid: %v", err)
	}
	if st.ModelName != c.Model {
		return Config{}, fmt.Errorf("it names the model %q but was trained as %q", st.ModelName, c.Model)
	}
	return c, nil
}

// Restore loads a checkpoint written by a Trainer into t, which must have
// been built with the same settings (Config.Mismatch lists none; the
// number of epochs may differ) and the same data. Training then continues
// exactly as if it had never stopped. On error t may be partly changed and
// must not be used.
func (t *Trainer) Restore(st checkpoint.State) error {
	saved, err := ConfigOf(st)
	if err != nil {
		return err
	}
	if d := saved.Mismatch(t.Config); len(d) > 0 {
		return fmt.Errorf("the checkpoint was trained with other settings: %s", joinList(d))
	}
	if n, err := strconv.Atoi(st.Meta[MetaExamples]); err != nil || n != t.TrainSet.Len() {
		if err != nil {
			return fmt.Errorf("its number of training examples (metadata %q = %q) is corrupt", MetaExamples, st.Meta[MetaExamples])
		}
		return fmt.Errorf("the checkpoint was trained on %d training examples, this data set has %d", n, t.TrainSet.Len())
	}
	var hist []Metrics
	if err := json.Unmarshal([]byte(st.Meta[MetaHistory]), &hist); err != nil {
		return fmt.Errorf("its metrics (metadata %q) are corrupt: %v", MetaHistory, err)
	}
	if st.Epoch < 0 || st.Step < 0 || len(hist) != st.Epoch {
		return fmt.Errorf("it is at epoch %d, step %d with metrics of %s", st.Epoch, st.Step, plural(len(hist), "epoch"))
	}
	if nb := t.loader.NumBatches(); st.Epoch > math.MaxInt/nb {
		return fmt.Errorf("it is at epoch %d, more than can be counted in steps", st.Epoch)
	}
	if want := st.Epoch * t.loader.NumBatches(); st.Step != want {
		return fmt.Errorf("it is at step %d after %s; %d were expected from its settings", st.Step, plural(st.Epoch, "epoch"), want)
	}
	// Weights or moments that are NaN or infinite would make every step
	// NaN; the first loss would say "diverged" and hide the cause.
	if err := checkpoint.CheckFinite(st.Model); err != nil {
		return err
	}
	if err := checkpoint.CheckFinite(st.Optim); err != nil {
		return fmt.Errorf("optimizer state: %w", err)
	}
	if err := nn.LoadStateDict(t.Model, st.Model); err != nil {
		return err
	}
	if err := t.Optimizer.LoadState(st.Optim); err != nil {
		return err
	}
	if st.RNG == nil {
		return errors.New("it holds no random generator state")
	}
	if err := t.RNG.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("its random generator state is corrupt: %v", err)
	}
	t.Epoch, t.Step, t.History = st.Epoch, st.Step, hist
	if t.Scheduler != nil {
		t.Scheduler.SetEpoch(t.Step)
	}
	return nil
}

// Save writes the checkpoint to path atomically, then the metrics CSV and
// the plot of the loss and accuracy curves beside it, with the same base
// name and the extensions .csv and .png (each written atomically too).
// When path is a stream (a pipe or a device such as /dev/null; see
// checkpoint.IsStream) the checkpoint is written into it and there is no
// "beside": no CSV and no plot.
func (t *Trainer) Save(path string) error {
	st, err := t.State()
	if err != nil {
		return err
	}
	stream := checkpoint.IsStream(path)
	if err := checkpoint.SaveState(path, st); err != nil {
		return err
	}
	if stream {
		return nil
	}
	csvPath, pngPath := SidePaths(path)
	if err := WriteCSVFile(csvPath, t.History); err != nil {
		return err
	}
	return PlotFile(pngPath, t.History, t.Config.Model+" on "+t.Config.Data)
}

// plural gives "1 epoch", "2 epochs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// joinList joins phrases with commas and a final "and".
func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
