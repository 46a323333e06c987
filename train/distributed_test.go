package train_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/internal/ddptest"
	"github.com/gobackprop/backprop/internal/synthetic"
	"github.com/gobackprop/backprop/nn"
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
		tr, err := train.New(cfg, synthetic.Images(cfg.TrainSize, 6, 1), synthetic.Images(8, 6, 2))
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
		tr, err := train.New(cfg, synthetic.Images(cfg.TrainSize, 6, 1), synthetic.Images(8, 6, 2))
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

// trainRanks trains cfg on n goroutine ranks (a plain Trainer for n = 1)
// up to epochs epochs, from the checkpoint at resume when it is not "",
// saves rank 0's checkpoint to save when it is not "", and returns rank
// 0's parameters.
func trainRanks(t *testing.T, n int, cfg train.Config, epochs int, resume, save string) [][]float32 {
	t.Helper()
	out := make([][][]float32, n)
	cfg.Epochs = epochs
	run := func(c dist.Comm) error {
		tr, err := train.New(cfg, synthetic.Images(cfg.TrainSize, 6, 1), synthetic.Images(21, 6, 2))
		if err != nil {
			return err
		}
		if resume != "" {
			st, err := checkpoint.LoadState(resume)
			if err != nil {
				return err
			}
			if err := tr.Restore(st); err != nil {
				return err
			}
		}
		if err := tr.Distribute(c); err != nil {
			return err
		}
		if err := tr.Run(context.Background(), save, nil); err != nil {
			return err
		}
		var ps [][]float32
		for _, p := range nn.Parameters(tr.Model) {
			ps = append(ps, append([]float32(nil), p.T.F32()...))
		}
		out[c.Rank()] = ps
		return nil
	}
	var errs []error
	if n == 1 {
		errs = []error{run(dist.Local{})}
	} else {
		errs = onRanks(n, run)
	}
	for r, err := range errs {
		if err != nil {
			t.Fatalf("%d ranks: rank %d: %v", n, r, err)
		}
	}
	return out[0]
}

// TestResumeAcrossWorldSizes: a checkpoint of a 2-rank run resumes on 1
// and 4 ranks and ends where an uninterrupted run on 2 ranks does, up to
// the order of float sums; on 2 ranks, bit for bit.
func TestResumeAcrossWorldSizes(t *testing.T) {
	cfg, err := ddptest.Config("mlp", 16, 4) // 4 steps per epoch, the last one short
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "run.safetensors")
	full := trainRanks(t, 2, cfg, 2, "", "")
	trainRanks(t, 2, cfg, 1, "", ckpt)
	for _, m := range []int{2, 1, 4} {
		got := trainRanks(t, m, cfg, 2, ckpt, filepath.Join(dir, fmt.Sprintf("m%d.safetensors", m)))
		for i := range full {
			var diff, norm float64
			for j, v := range got[i] {
				d := float64(v) - float64(full[i][j])
				diff += d * d
				norm += float64(full[i][j]) * float64(full[i][j])
			}
			rel := math.Sqrt(diff / norm)
			if m == 2 && rel != 0 {
				t.Errorf("resumed on the same 2 ranks: parameter %d differs by %.3g, want bit for bit", i, rel)
			}
			if rel > ddptest.Tolerance {
				t.Errorf("resumed on %d ranks: parameter %d differs by %.3g relative to its norm", m, i, rel)
			}
		}
	}
	// What rank 0 saved is a whole run's checkpoint: its history has both
	// epochs.
	st, err := checkpoint.LoadState(filepath.Join(dir, "m4.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch != 2 || st.Step != 8 {
		t.Errorf("the checkpoint resumed on 4 ranks is at epoch %d, step %d; want 2, 8", st.Epoch, st.Step)
	}
}
