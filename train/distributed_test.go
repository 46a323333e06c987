package train_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/internal/ddptest"
	"github.com/gobackprop/backprop/train"
)

// onRanks runs f on every rank of a group of n goroutines and returns
// their errors.
func onRanks(n int, f func(c dist.Comm) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range dist.NewGroup(n) {
		wg.Go(func() { errs[r] = f(c) })
	}
	wg.Wait()
	return errs
}

// TestDataParallelMatchesOneProcess is the DDP test on ranks that are
// goroutines; dist/mpi runs the same check on processes under mpirun.
func TestDataParallelMatchesOneProcess(t *testing.T) {
	for _, model := range []string{"mlp", "cnn"} {
		for _, n := range []int{2, 4} {
			errs := onRanks(n, func(c dist.Comm) error { return ddptest.Check(c, model, 16, 3) })
			for r, err := range errs {
				if err != nil {
					t.Errorf("%s on %d ranks: rank %d: %v", model, n, r, err)
				}
			}
		}
	}
}

func TestDistributeRefusesAnUnevenBatch(t *testing.T) {
	errs := onRanks(3, func(c dist.Comm) error {
		cfg, err := ddptest.Config("mlp", 16, 2)
		if err != nil {
			return err
		}
		tr, err := train.New(cfg, ddptest.Synthetic(cfg.TrainSize, 6, 1), ddptest.Synthetic(8, 6, 2))
		if err != nil {
			return err
		}
		return tr.Distribute(c)
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "--batch 16 does not divide between 3 processes") {
			t.Errorf("rank %d: got %v", r, err)
		}
	}
}

func TestDistributeRefusesDifferentSettings(t *testing.T) {
	errs := onRanks(2, func(c dist.Comm) error {
		cfg, err := ddptest.Config("mlp", 16, 2)
		if err != nil {
			return err
		}
		if c.Rank() == 1 {
			cfg.LR = 0.5
		}
		tr, err := train.New(cfg, ddptest.Synthetic(cfg.TrainSize, 6, 1), ddptest.Synthetic(8, 6, 2))
		if err != nil {
			return err
		}
		return tr.Distribute(c)
	})
	if errs[1] == nil || !strings.Contains(errs[1].Error(), `"lr":0.5`) {
		t.Errorf("rank 1: got %v, want a message showing its lr", errs[1])
	}
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "ranks 1 disagree") {
		t.Errorf("rank 0: got %v", errs[0])
	}
}
