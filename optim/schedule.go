package optim

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
)

// Schedule gives the learning rate for an epoch (or step: whatever the
// training loop counts) from the base learning rate. Epoch 0 is the first.
// The schedules here use the closed forms of PyTorch's schedulers, so the
// rate depends only on the epoch and a resumed run picks up exactly where
// it stopped.
type Schedule interface {
	LR(base float64, epoch int) float64
}

// ScheduleFunc adapts a function to a Schedule.
type ScheduleFunc func(base float64, epoch int) float64

// LR calls f.
func (f ScheduleFunc) LR(base float64, epoch int) float64 { return f(base, epoch) }

// Constant keeps the base learning rate.
type Constant struct{}

// LR returns base.
func (Constant) LR(base float64, epoch int) float64 { return base }

// StepLR multiplies the learning rate by Gamma every StepSize epochs:
// base·Gamma^⌊epoch/StepSize⌋ (torch.optim.lr_scheduler.StepLR).
type StepLR struct {
	StepSize int
	Gamma    float64
}

// LR returns the rate for epoch.
func (s StepLR) LR(base float64, epoch int) float64 {
	if s.StepSize < 1 {
		panic(fmt.Sprintf("optim: StepLR: step size %d, want at least 1", s.StepSize))
	}
	return base * math.Pow(s.Gamma, float64(epoch/s.StepSize))
}

// CosineAnnealing follows half a cosine from the base rate down to EtaMin
// over TMax epochs (torch.optim.lr_scheduler.CosineAnnealingLR, without
// restarts):
//
//	EtaMin + (base−EtaMin)·(1 + cos(π·epoch/TMax))/2
//
// Past TMax the cosine goes on, back up towards the base rate, as PyTorch's
// does; size TMax to the run.
type CosineAnnealing struct {
	TMax   int
	EtaMin float64
}

// LR returns the rate for epoch.
func (c CosineAnnealing) LR(base float64, epoch int) float64 {
	if c.TMax < 1 {
		panic(fmt.Sprintf("optim: CosineAnnealing: TMax %d, want at least 1", c.TMax))
	}
	return c.EtaMin + (base-c.EtaMin)*(1+math.Cos(math.Pi*float64(epoch)/float64(c.TMax)))/2
}

// Warmup ramps the learning rate linearly from StartFactor·base at epoch 0
// to base at epoch Steps, then hands over to Then (Constant when nil), whose
// epochs count from there. It is PyTorch's LinearLR(start_factor,
// total_iters=Steps) followed by Then through SequentialLR with the
// milestone at Steps. StartFactor may be 0 (start from nothing); it must
// not exceed 1.
type Warmup struct {
	Steps       int
	StartFactor float64
	Then        Schedule
}

// LR returns the rate for epoch.
func (w Warmup) LR(base float64, epoch int) float64 {
	if w.Steps < 1 || !(w.StartFactor >= 0 && w.StartFactor <= 1) {
		panic(fmt.Sprintf("optim: Warmup: %d steps from factor %v, want at least 1 step and 0 <= factor <= 1", w.Steps, w.StartFactor))
	}
	if epoch < w.Steps {
		f := w.StartFactor + (1-w.StartFactor)*float64(epoch)/float64(w.Steps)
		return base * f
	}
	if w.Then == nil {
		return base
	}
	return w.Then.LR(base, epoch-w.Steps)
}

// Scheduler sets an optimizer's learning rate from a Schedule. Call Step
// once per epoch (or per batch, for a schedule counted in steps), after the
// optimizer's Step, as with torch.optim.lr_scheduler:
//
//	sched := optim.NewScheduler(opt, optim.CosineAnnealing{TMax: epochs})
//	for epoch := range epochs {
//		for batch := range batches {
//			... loss.Backward(); opt.Step(); opt.ZeroGrad()
//		}
//		sched.Step()
//	}
//
// Without a Scheduler the learning rate stays constant.
type Scheduler struct {
	opt   Optimizer
	s     Schedule
	base  float64
	epoch int
}

// NewScheduler takes the optimizer's current learning rate as the base
// rate and sets the rate for epoch 0. To resume a run, build it as before
// and then LoadState its saved state, which restores the base rate and the
// epoch whatever the optimizer's rate was.
func NewScheduler(opt Optimizer, s Schedule) *Scheduler {
	if s == nil {
		s = Constant{}
	}
	sc := &Scheduler{opt: opt, s: s, base: opt.LR()}
	sc.apply()
	return sc
}

func (sc *Scheduler) apply() { sc.opt.SetLR(sc.s.LR(sc.base, sc.epoch)) }

// Step moves to the next epoch and sets its learning rate.
func (sc *Scheduler) Step() {
	sc.epoch++
	sc.apply()
}

// Epoch returns the current epoch, counted from 0.
func (sc *Scheduler) Epoch() int { return sc.epoch }

// BaseLR returns the rate the schedule is relative to.
func (sc *Scheduler) BaseLR() float64 { return sc.base }

// LR returns the learning rate of the current epoch.
func (sc *Scheduler) LR() float64 { return sc.s.LR(sc.base, sc.epoch) }

// SetEpoch jumps to epoch and sets its learning rate.
func (sc *Scheduler) SetEpoch(epoch int) {
	if epoch < 0 {
		panic(fmt.Sprintf("optim: Scheduler.SetEpoch: negative epoch %d", epoch))
	}
	sc.epoch = epoch
	sc.apply()
}

// State returns the scheduler's state for a checkpoint: "epoch" (int64)
// and "base_lr" (float64). A checkpoint keeps it apart from the
// optimizer's state (under a prefix of its own, say).
func (sc *Scheduler) State() map[string]*bp.Tensor {
	return map[string]*bp.Tensor{
		"epoch":   bp.Int64.Scalar(float64(sc.epoch)),
		"base_lr": bp.Float64.Scalar(sc.base),
	}
}

// LoadState restores a state made by State and sets the optimizer's
// learning rate to match. It returns an error, and changes nothing, if a
// key is missing or unknown.
func (sc *Scheduler) LoadState(m map[string]*bp.Tensor) error {
	const op = "Scheduler.LoadState"
	et, bt := m["epoch"], m["base_lr"]
	if et == nil || bt == nil {
		return fmt.Errorf("optim: %s: the state needs %q and %q", op, "epoch", "base_lr")
	}
	if len(m) != 2 {
		return fmt.Errorf("optim: %s: unknown keys beside %q and %q", op, "epoch", "base_lr")
	}
	e, err := countOf(op, "epoch", et)
	if err != nil {
		return err
	}
	base, err := scalarOf(op, "base_lr", bt)
	if err != nil {
		return err
	}
	if !(base >= 0) || math.IsInf(base, 0) {
		return fmt.Errorf("optim: %s: invalid base_lr %v", op, base)
	}
	sc.epoch, sc.base = int(e), base
	sc.apply()
	return nil
}
