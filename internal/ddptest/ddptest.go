// Package ddptest checks data-parallel training the way DDP is tested:
// K steps on N ranks give the parameters that one process gets with the
// same global batch, and every rank holds the same parameters after every
// step. The same check runs on ranks that are goroutines (package train's
// tests) and on processes started by mpirun (package dist/mpi's tests).
package ddptest

import (
	"context"
	"fmt"
	"math"

	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/internal/synthetic"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
)

// Tolerance is the largest difference allowed between a parameter of the
// data-parallel run and of the single process, as the L2 norm of the
// difference relative to the L2 norm of the parameter: the two sum the
// gradients in different orders, nothing else. Norms rather than each
// element: Adam's first step moves a weight by lr·g/(|g|+eps), so an
// element whose gradient nearly cancels to the size of eps moves by an
// amount that the last bits of the sum decide (5e-7 of a weight of 0.04,
// seen in the CNN), while the tensor as a whole agrees to 1e-7.
const Tolerance = 1e-5

// Config is the run Check makes of model: its default recipe with a
// global batch of batch and one epoch of steps batches, the last one 6
// examples short of a full one, so that it splits unevenly between some
// numbers of ranks.
func Config(model string, batch, steps int) (train.Config, error) {
	cfg, err := train.Defaults(model)
	if err != nil {
		return cfg, err
	}
	cfg.Batch, cfg.Epochs = batch, 1
	cfg.TrainSize = steps*batch - 6
	return cfg, nil
}

// snapshots records the parameters after every step.
type snapshots struct {
	params [][]float32
	after  [][][]float32 // [step][param]
	check  func(step int) error
	err    error
}

func (s *snapshots) StartEpoch(epoch, epochs, batches int) {}
func (s *snapshots) EndEpoch(train.Metrics)                {}
func (s *snapshots) Batch(b train.BatchStats) {
	if s.check != nil {
		if err := s.check(b.Step); err != nil && s.err == nil {
			s.err = err
		}
		return
	}
	cp := make([][]float32, len(s.params))
	for i, p := range s.params {
		cp[i] = append([]float32(nil), p...)
	}
	s.after = append(s.after, cp)
}

func paramSlices(tr *train.Trainer) ([][]float32, []string) {
	var out [][]float32
	var names []string
	for _, p := range nn.Parameters(tr.Model) {
		out = append(out, p.T.F32())
		names = append(names, p.Name)
	}
	return out, names
}

// Check trains model for steps steps of a global batch of batch on every
// rank of c, and compares each rank's parameters after every step with a
// single process's (which every rank computes for itself) and with the
// other ranks'. Every rank must call it; it returns the first difference.
func Check(c dist.Comm, model string, batch, steps int) error {
	cfg, err := Config(model, batch, steps)
	if err != nil {
		return err
	}
	trainSet, testSet := synthetic.Images(cfg.TrainSize, 12, 1), synthetic.Images(37, 12, 2)
	ref, err := train.New(cfg, trainSet, testSet)
	if err != nil {
		return err
	}
	refSnaps := &snapshots{}
	refSnaps.params, _ = paramSlices(ref)
	refM, err := ref.RunEpoch(context.Background(), refSnaps)
	if err != nil {
		return err
	}
	if len(refSnaps.after) != steps {
		return fmt.Errorf("the single process took %d steps, want %d", len(refSnaps.after), steps)
	}

	// The data-parallel run starts from other weights on ranks other than
	// 0, which Distribute must replace with rank 0's.
	tr, err := train.New(cfg, trainSet, testSet)
	if err != nil {
		return err
	}
	if c.Rank() > 0 {
		for _, p := range nn.Parameters(tr.Model) {
			for i := range p.T.F32() {
				p.T.F32()[i] += float32(c.Rank())
			}
		}
	}
	if err := tr.Distribute(c); err != nil {
		return err
	}
	params, names := paramSlices(tr)
	snaps := &snapshots{params: params}
	snaps.check = func(step int) error {
		if err := tr.InSync(); err != nil {
			return fmt.Errorf("after step %d: %w", step, err)
		}
		for i, p := range params {
			want := refSnaps.after[step-1][i]
			var diff, norm, worst float64
			for j, v := range p {
				d := float64(v) - float64(want[j])
				diff += d * d
				norm += float64(want[j]) * float64(want[j])
				worst = math.Max(worst, math.Abs(d))
			}
			if rel := math.Sqrt(diff / norm); !(rel <= Tolerance) {
				return fmt.Errorf("rank %d of %d, %s: after step %d, parameter %q differs from the single process's by %.3g relative to its norm (tolerance %g; largest elementwise difference %.3g)",
					c.Rank(), c.Size(), model, step, names[i], rel, Tolerance, worst)
			}
		}
		return nil
	}
	m, err := tr.RunEpoch(context.Background(), snaps)
	if err != nil {
		return err
	}
	if snaps.err != nil {
		return snaps.err
	}
	if tr.Step != steps {
		return fmt.Errorf("rank %d took %d steps, want %d", c.Rank(), tr.Step, steps)
	}
	if math.Abs(m.TrainLoss-refM.TrainLoss) > 1e-5*math.Abs(refM.TrainLoss) || m.TrainAcc != refM.TrainAcc {
		return fmt.Errorf("rank %d: training loss %v, accuracy %v; the single process had %v, %v", c.Rank(), m.TrainLoss, m.TrainAcc, refM.TrainLoss, refM.TrainAcc)
	}
	if m.TestAcc != refM.TestAcc || math.Abs(m.TestLoss-refM.TestLoss) > 1e-5*math.Abs(refM.TestLoss) {
		return fmt.Errorf("rank %d: test loss %v, accuracy %v; the single process had %v, %v", c.Rank(), m.TestLoss, m.TestAcc, refM.TestLoss, refM.TestAcc)
	}
	return nil
}
