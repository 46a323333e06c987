package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/gobackprop/backprop/train"
)

func init() { benchSubcommands = append(benchSubcommands, newBenchTrainCmd) }

// stepClock is a train.Progress that times the steps after a warm-up and
// counts the heap allocations they make.
type stepClock struct {
	warmup   int
	t0       time.Time
	m0       runtime.MemStats
	t1       time.Time
	m1       runtime.MemStats
	gcPause0 uint64
	steps    int
}

func (s *stepClock) StartEpoch(epoch, epochs, batches int) {}
func (s *stepClock) EndEpoch(train.Metrics)                {}

func (s *stepClock) Batch(b train.BatchStats) {
	switch {
	case b.Batch == s.warmup:
		runtime.ReadMemStats(&s.m0)
		s.t0 = time.Now()
	case b.Batch > s.warmup:
		s.t1 = time.Now()
		s.steps = b.Batch - s.warmup
		if b.Batch == b.Batches {
			runtime.ReadMemStats(&s.m1)
		}
	}
}

func newBenchTrainCmd() *cobra.Command {
	var model, dataDir, cpuProfile string
	var batch, iters, warmup, threads int
	cmd := &cobra.Command{
		Use:   "train --model mlp|cnn --batch B --iters N [--threads T]",
		Short: "MNIST training steps with the model's default optimizer: images/s, ms and allocations per step",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batch < 1 || iters < 1 || warmup < 1 {
				return fmt.Errorf("--batch, --iters and --warmup must be positive")
			}
			t, err := setThreads(threads)
			if err != nil {
				return err
			}
			cfg, err := train.Defaults(model)
			if err != nil {
				return err
			}
			cfg.Batch, cfg.Epochs = batch, 1
			cfg.TrainSize, cfg.TestSize = (iters+warmup)*batch, batch
			trainSet, testSet, err := train.LoadData("mnist", dataDir)
			if err != nil {
				return err
			}
			if cfg.TrainSize > trainSet.Len() {
				return fmt.Errorf("--iters %d with --batch %d needs %d training images; MNIST has %d", iters, batch, cfg.TrainSize, trainSet.Len())
			}
			tr, err := train.New(cfg, trainSet, testSet)
			if err != nil {
				return err
			}
			clock := &stepClock{warmup: warmup}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if _, err := tr.RunEpoch(context.Background(), clock); err != nil {
				return err
			}
			secs := clock.t1.Sub(clock.t0).Seconds()
			n := float64(clock.steps)
			return printJSON(cmd.OutOrStdout(), map[string]any{
				"bench": "train", "model": model, "batch": batch, "iters": clock.steps, "threads": t,
				"images_per_s":    round(n*float64(batch)/secs, 1),
				"ms_per_step":     round(secs*1e3/n, 3),
				"allocs_per_step": round(float64(clock.m1.Mallocs-clock.m0.Mallocs)/n, 1),
				"bytes_per_step":  round(float64(clock.m1.TotalAlloc-clock.m0.TotalAlloc)/n, 0),
				"gc_per_step":     round(float64(clock.m1.NumGC-clock.m0.NumGC)/n, 3),
			})
		},
	}
	cmd.Flags().StringVar(&model, "model", "mlp", "softmax, svm, mlp or cnn")
	cmd.Flags().IntVar(&batch, "batch", 128, "batch size")
	cmd.Flags().IntVar(&iters, "iters", 100, "timed steps")
	cmd.Flags().IntVar(&warmup, "warmup", 5, "untimed steps first")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (default GOMAXPROCS)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "MNIST folder (default: the GoMNIST module's files)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the steps (go tool pprof) to this file")
	return cmd
}
