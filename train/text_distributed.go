package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/dist"
)

// Distribute makes t one rank of a data-parallel run over c, as
// Trainer.Distribute does for the image models: call it on every rank,
// after NewText (and Restore, when resuming) and before Run. Config.Batch
// stays the global batch; each rank takes an equal share of the windows of
// every batch, the gradients are averaged over the ranks before clipping
// and the AdamW step, and the validation loss is split between the ranks,
// so that N processes compute what one would, up to the order of float
// sums. It fails on every rank when they disagree on the settings, the
// corpus, the model or the state a resumed run starts from. Only rank 0
// saves (Run); a world of one leaves t as it is.
func (t *TextTrainer) Distribute(c dist.Comm) error {
	if c == nil || c.Size() == 1 {
		return nil
	}
	if n := c.Size(); t.Config.Batch%n != 0 {
		return BatchError(t.Config.Batch, n)
	}
	cfg, err := json.Marshal(t.Config)
	if err != nil {
		return err
	}
	tag := fmt.Sprintf("text config %s; corpus of %d bytes, sha256 %s; vocabulary %d; step %d; optimizer state %016x",
		cfg, t.Corpus.Bytes, t.Corpus.SHA256, t.Vocab.Size(), t.Step, stateHash(t.Optimizer.State()))
	d, err := dist.NewDataParallel(c, t.params, dist.Options{Tag: tag})
	if err != nil {
		return err
	}
	t.ddp = d
	return nil
}

// shardOf is this rank's share of a batch of windows x, y (all of it for a
// process of its own): the rows [r·m/n, (r+1)·m/n) of the m in the batch,
// k of them.
func (t *TextTrainer) shardOf(x, y *bp.Tensor) (xs, ys *bp.Tensor, k, m int) {
	m = x.Size(0)
	if t.ddp == nil {
		return x, y, m, m
	}
	c := t.ddp.Comm()
	lo, hi := shard(0, m, c.Rank(), c.Size())
	return x.Narrow(0, lo, hi-lo), y.Narrow(0, lo, hi-lo), hi - lo, m
}

// lossAndGradients runs forward and backward on the batch, or on this
// rank's share of it with the gradients then averaged over the ranks, and
// returns the batch's mean loss. An interruption (ctx) is agreed on by all
// ranks at the same step, so that none waits for one that stopped.
func (t *TextTrainer) lossAndGradients(ctx context.Context, x, y *bp.Tensor, pool *bp.Pool) (float64, error) {
	if t.ddp == nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		loss := lossOf(t.Model.Forward(x.InPool(pool)), y)
		lv := loss.Item()
		if !math.IsNaN(lv) && !math.IsInf(lv, 0) {
			loss.Backward()
		}
		return lv, nil
	}
	xs, ys, k, m := t.shardOf(x, y)
	stats := []float64{0, 0} // the batch's loss, weighted by shares; ranks interrupted
	if k > 0 {
		loss := lossOf(t.Model.Forward(xs.InPool(pool)), ys)
		stats[0] = loss.Item() * float64(k) / float64(m)
		loss.Backward()
	}
	if ctx.Err() != nil {
		stats[1] = 1
	}
	if err := t.ddp.ReduceGradients(k, m); err != nil {
		return 0, err
	}
	comm := t.ddp.Comm()
	if err := comm.AllreduceFloat64(stats); err != nil {
		return 0, fmt.Errorf("dist: summing the step's loss: %w", err)
	}
	if stats[1] > 0 {
		return 0, interrupted(ctx, comm, t.Step+1)
	}
	return stats[0], nil
}

// shared marks err as met by every rank alike when t is distributed.
func (t *TextTrainer) shared(err error) error {
	if t.ddp == nil {
		return err
	}
	return SharedError{err}
}
