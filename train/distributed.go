package train

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// Distribute makes t one rank of a data-parallel run over c: call it on
// every rank, after New (and Restore, when resuming) and before training.
// Config.Batch stays the global batch: each rank takes an equal slice of
// every global batch (so it must divide by c.Size()), the gradients are
// averaged over the ranks (package dist) and every rank takes the same
// optimizer step, so that N processes compute what one process with the
// same settings would, up to the order of float sums. Every rank visits
// the same number of batches, whose order comes from the seed and the
// epoch; evaluation is split between the ranks and its counts summed.
//
// It fails, on every rank, when the ranks disagree on the settings, the
// model, the data's size or the state a resumed run starts from, naming
// the difference. A world of one (c nil or of Size 1) leaves t as it is.
//
// Only rank 0 writes checkpoints (Run, Save does not check): every rank
// holds the same weights and optimizer state, and the checkpoint is the
// one a single process would have written, so that a run resumes with any
// number of processes.
func (t *Trainer) Distribute(c dist.Comm) error {
	if c == nil || c.Size() == 1 {
		return nil
	}
	n := c.Size()
	if t.Config.Batch%n != 0 {
		return BatchError(t.Config.Batch, n)
	}
	// Everything the ranks must share besides the model's shapes: the
	// settings, the data's sizes, the counters and the optimizer's state
	// (a resumed run starts from the same file on every rank).
	cfg, err := json.Marshal(t.Config)
	if err != nil {
		return err
	}
	tag := fmt.Sprintf("config %s; %d training and %d test examples of shape %v, %d classes; epoch %d, step %d; optimizer state %016x",
		cfg, t.TrainSet.Len(), t.TestSet.Len(), t.TrainSet.ExampleShape(), t.Classes, t.Epoch, t.Step, stateHash(t.Optimizer.State()))
	d, err := dist.NewDataParallel(c, t.params, dist.Options{Tag: tag})
	if err != nil {
		return err
	}
	t.ddp = d
	return nil
}

// SharedError is an error that every rank of a distributed run meets at
// the same step, having agreed on it through a collective (a diverged
// loss, an interruption): each rank can stop cleanly, and one report of it
// is enough.
type SharedError struct{ Err error }

func (e SharedError) Error() string { return e.Err.Error() }
func (e SharedError) Unwrap() error { return e.Err }

// BatchError is the error for a global batch that does not split evenly
// between n processes.
func BatchError(batch, n int) error {
	return fmt.Errorf("--batch %d does not divide between %d processes: --batch is the global batch, of which every process takes an equal share; use a multiple of %d", batch, n, n)
}

// parallel is what a trainer keeps of a distributed run; both trainers
// embed it, and with it Rank, Comm and InSync.
type parallel struct {
	ddp *dist.DataParallel // set by Distribute; nil for a process of its own
}

// Rank is this process's rank in a distributed run, 0 otherwise. Only
// rank 0 should print progress or write files.
func (p *parallel) Rank() int {
	if p.ddp == nil {
		return 0
	}
	return p.ddp.Comm().Rank()
}

// Comm is the communicator of a distributed run (Distribute), nil
// otherwise.
func (p *parallel) Comm() dist.Comm {
	if p.ddp == nil {
		return nil
	}
	return p.ddp.Comm()
}

// InSync checks that every rank holds the same weights, bit for bit (see
// dist.DataParallel.InSync); nil when not distributed.
func (p *parallel) InSync() error {
	if p.ddp == nil {
		return nil
	}
	return p.ddp.InSync()
}

// interrupted is the error of a rank that learns, from the step's sums,
// that ctx or another rank's was cancelled before step: met by every rank
// at the same step, so shared.
func interrupted(ctx context.Context, c dist.Comm, step int) error {
	if err := ctx.Err(); err != nil {
		return SharedError{err}
	}
	return SharedError{fmt.Errorf("rank %d of %d: another rank was interrupted at step %d: %w", c.Rank(), c.Size(), step, context.Canceled)}
}

func stateHash(st map[string]*bp.Tensor) uint64 {
	h := fnv.New64a()
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte(fmt.Sprint(st[k].Shape())))
		for _, v := range st[k].Float64s() {
			h.Write([]byte(strconv.FormatUint(math.Float64bits(v), 16)))
		}
	}
	return h.Sum64()
}

// shard is the part of a global batch of m examples, starting at lo, that
// rank r of n takes: [lo + r·m/n, lo + (r+1)·m/n), equal shares when n
// divides m, and shares differing by one example otherwise (the last
// batch of an epoch).
func shard(lo, m, r, n int) (int, int) {
	return lo + r*m/n, lo + (r+1)*m/n
}

// runEpochDistributed is RunEpoch for a rank of a distributed run: the
// same step on the rank's slice of each batch, with the gradients reduced
// before the optimizer's step and the step's numbers summed over the
// ranks, which also carries whether any rank was interrupted, so that all
// stop at the same step.
func (t *Trainer) runEpochDistributed(ctx context.Context, p Progress) (Metrics, error) {
	if p == nil {
		p = silent{}
	}
	cfg := t.Config
	comm := t.ddp.Comm()
	rank, size := comm.Rank(), comm.Size()
	e := t.Epoch
	nb := t.loader.NumBatches()
	p.StartEpoch(e+1, cfg.Epochs, nb)
	nn.Train(t.Model)
	start := time.Now()
	var lossSum, lr float64
	var correct, seen int

	ord := t.loader.Order(e)
	n := len(ord)
	shape := t.TrainSet.ExampleShape()
	per := 1
	for _, s := range shape {
		per *= s
	}
	bcap := (min(cfg.Batch, n) + size - 1) / size
	xs := make([]float32, bcap*per)
	ys := make([]int64, bcap)
	dims := append([]int{0}, shape...)
	stats := make([]float64, 4) // loss sum, correct, examples, ranks interrupted
	setPhase, _ := comm.(interface{ SetPhase(string) })

	pool := bp.NewPool()
	defer pool.Release()
	for b := range nb {
		lo := b * cfg.Batch
		m := min(lo+cfg.Batch, n) - lo
		slo, shi := shard(lo, m, rank, size)
		k := shi - slo
		lr = t.Optimizer.LR()
		if setPhase != nil {
			setPhase.SetPhase(fmt.Sprintf("epoch %d, step %d", e+1, t.Step+1))
		}
		clear(stats)
		if k > 0 {
			dims[0] = k
			x, y := bp.FromFloat32s(xs[:k*per], dims...), bp.FromInt64s(ys[:k], k)
			t.TrainSet.Fill(ord[slo:shi], x.F32(), y.I64())
			logits := t.Model.Forward(x.InPool(pool))
			loss := t.Loss(logits, y)
			lv := loss.Item()
			loss.Backward()
			stats[0] = lv * float64(k)
			stats[1] = float64(nn.Correct(logits.Detach(), y))
			stats[2] = float64(k)
		}
		if ctx.Err() != nil {
			stats[3] = 1
		}
		if err := t.ddp.ReduceGradients(k, m); err != nil {
			return Metrics{}, err
		}
		if err := comm.AllreduceFloat64(stats); err != nil {
			return Metrics{}, fmt.Errorf("dist: summing the step's loss: %w", err)
		}
		if stats[3] > 0 {
			return Metrics{}, interrupted(ctx, comm, t.Step+1)
		}
		lv := stats[0] / stats[2]
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			return Metrics{}, SharedError{fmt.Errorf("the loss became %v at epoch %d, step %d (learning rate %g): training diverged; try a smaller --lr or --clip-grad-norm (--detect-anomaly names the op that made it)", lv, e+1, t.Step+1, lr)}
		}
		if cfg.ClipGradNorm > 0 {
			optim.ClipGradNorm(t.params, cfg.ClipGradNorm)
		}
		t.Optimizer.Step()
		t.Optimizer.ZeroGrad()
		if t.Scheduler != nil {
			t.Scheduler.Step()
		}
		t.Step++
		c := int(stats[1])
		lossSum += stats[0]
		correct += c
		seen += m
		el := time.Since(start)
		p.Batch(BatchStats{
			Epoch: e + 1, Epochs: cfg.Epochs, Batch: b + 1, Batches: nb,
			Loss: lossSum / float64(seen), Acc: float64(correct) / float64(seen),
			ImagesPerSec: float64(seen) / el.Seconds(), Step: t.Step, Elapsed: el,
			LR: lr, Size: m, StepLoss: lv, StepAcc: float64(c) / float64(m),
		})
		pool.Reset()
	}
	secs := time.Since(start).Seconds()
	if setPhase != nil {
		setPhase.SetPhase(fmt.Sprintf("evaluation after epoch %d", e+1))
	}
	ev, err := EvaluateDistributed(comm, t.Model, t.Loss, t.TestSet, t.Classes)
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{
		Epoch: e + 1, TrainLoss: lossSum / float64(seen), TrainAcc: float64(correct) / float64(seen),
		TestLoss: ev.Loss, TestAcc: ev.Accuracy(), Seconds: secs, ImagesPerSec: float64(seen) / secs, LR: lr,
	}
	t.Epoch++
	t.History = append(t.History, m)
	p.EndEpoch(m)
	return m, nil
}

// EvaluateDistributed is Evaluate with the data set split between the
// ranks of c, each evaluating a contiguous share; the counts, losses and
// confusion matrices are summed, so every rank returns the whole set's
// result. Every rank must call it.
func EvaluateDistributed(c dist.Comm, model nn.Module, loss nn.LossFunc, ds data.Dataset, classes int) (EvalResult, error) {
	if c == nil || c.Size() == 1 {
		return Evaluate(model, loss, ds, classes), nil
	}
	lo, hi := shard(0, ds.Len(), c.Rank(), c.Size())
	r := Evaluate(model, loss, rangeOf(ds, lo, hi), classes)
	sums := make([]float64, 2+classes*classes)
	sums[0], sums[1] = float64(r.Correct), r.Loss*float64(r.N)
	for i, row := range r.Confusion {
		for j, v := range row {
			sums[2+i*classes+j] = float64(v)
		}
	}
	if err := c.AllreduceFloat64(sums); err != nil {
		return EvalResult{}, fmt.Errorf("dist: summing the evaluation: %w", err)
	}
	out := EvalResult{N: ds.Len(), Correct: int(sums[0]), Confusion: r.Confusion}
	if out.N > 0 {
		out.Loss = sums[1] / float64(out.N)
	}
	for i, row := range out.Confusion {
		for j := range row {
			row[j] = int(sums[2+i*classes+j])
		}
	}
	return out, nil
}

// rangeOf is examples [lo, hi) of ds.
func rangeOf(ds data.Dataset, lo, hi int) data.Dataset {
	if td, ok := ds.(*data.TensorDataset); ok {
		return td.Slice(lo, hi)
	}
	return offsetSet{ds, lo, hi - lo}
}

type offsetSet struct {
	data.Dataset
	lo, n int
}

func (s offsetSet) Len() int { return s.n }

func (s offsetSet) Fill(idx []int, x []float32, y []int64) {
	shifted := make([]int, len(idx))
	for i, j := range idx {
		shifted[i] = j + s.lo
	}
	s.Dataset.Fill(shifted, x, y)
}
