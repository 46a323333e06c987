package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/train"
)

func init() { benchSubcommands = append(benchSubcommands, newBenchTrainCmd) }

// stepClock is a train.Progress that times the steps after a warm-up and
// counts the heap allocations they make.
type stepClock struct {
	warmup int
	t0     time.Time
	m0     runtime.MemStats
	t1     time.Time
	m1     runtime.MemStats
	gc     [2]float64 // the collector's CPU seconds at t0 and t1
	steps  int
}

// gcCPUSeconds is all the CPU time the garbage collector has used so far
// (marking, assists and pauses), from runtime/metrics.
func gcCPUSeconds() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return s[0].Value.Float64()
}

func (s *stepClock) StartEpoch(epoch, epochs, batches int) {}
func (s *stepClock) EndEpoch(train.Metrics)                {}

func (s *stepClock) Batch(b train.BatchStats) {
	switch {
	case b.Batch == s.warmup:
		runtime.ReadMemStats(&s.m0)
		s.gc[0] = gcCPUSeconds()
		s.t0 = time.Now()
	case b.Batch > s.warmup:
		s.t1 = time.Now()
		s.steps = b.Batch - s.warmup
		if b.Batch == b.Batches {
			runtime.ReadMemStats(&s.m1)
			s.gc[1] = gcCPUSeconds()
		}
	}
}

func newBenchTrainCmd() *cobra.Command {
	var model, dataDir, cpuProfile, memProfile string
	var batch, iters, warmup, threads int
	var text benchTextFlags
	cmd := &cobra.Command{
		Use:   "train --model mlp|cnn --batch B --iters N [--threads T] | --model gpt|lstm [--text FILE] [--steps N]",
		Short: "MNIST training steps with the model's default optimizer: images/s, ms and allocations per step; or a language model's: tokens/s",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (rerr error) {
			if model == "gpt" || model == "lstm" {
				if batch < 1 || warmup < 1 {
					return fmt.Errorf("--batch and --warmup must be positive")
				}
				return runBenchText(cmd, model, batch, warmup, threads, cmd.Flags().Changed("batch"), cpuProfile, &text)
			}
			if batch < 1 || iters < 1 || warmup < 1 {
				return fmt.Errorf("--batch, --iters and --warmup must be positive")
			}
			if memProfile != "" {
				runtime.MemProfileRate = 4096 // before anything is allocated, as runtime asks
			}
			if !cmd.Flags().Changed("threads") {
				threads = defaultThreads() // under mpirun, this process's share of the cores
			}
			t, err := setThreads(cmd, threads)
			if err != nil {
				return err
			}
			cfg, err := train.Defaults(model)
			if err != nil {
				return err
			}
			for _, p := range []string{cpuProfile, memProfile} {
				if p != "" {
					if err := checkpoint.CheckWritable(p); err != nil {
						return err
					}
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						return err
					}
				}
			}
			trainSet, testSet, err := train.LoadData("mnist", dataDir)
			if err != nil {
				return err
			}
			// In this order, so that no product can overflow.
			if iters > trainSet.Len() || warmup > trainSet.Len() || batch > trainSet.Len()/(iters+warmup) {
				return fmt.Errorf("--iters %d and --warmup %d with --batch %d need more training images than MNIST's %d", iters, warmup, batch, trainSet.Len())
			}
			cfg.Batch, cfg.Epochs = batch, 1
			cfg.TrainSize, cfg.TestSize = (iters+warmup)*batch, batch
			tr, err := train.New(cfg, trainSet, testSet)
			if err != nil {
				return err
			}
			// Under mpirun, --batch is the global batch and the figures
			// are the whole job's.
			dr, err := joinWorld(tr, dist.DefaultTimeout, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer dr.finish(nil)
			clock := &stepClock{warmup: warmup}
			epoch := func() error {
				_, err := tr.RunEpoch(context.Background(), clock)
				return err
			}
			if cpuProfile != "" {
				// The profile streams out as the steps run; written
				// through WriteFileAtomic as every output is.
				err = checkpoint.WriteFileAtomic(cpuProfile, func(w io.Writer) error {
					if err := pprof.StartCPUProfile(w); err != nil {
						return err
					}
					defer pprof.StopCPUProfile()
					return epoch()
				})
			} else {
				err = epoch()
			}
			if err != nil {
				return err
			}
			if memProfile != "" {
				runtime.GC() // the profile shows what the last collection saw
				err := checkpoint.WriteFileAtomic(memProfile, func(w io.Writer) error {
					return pprof.Lookup("allocs").WriteTo(w, 0)
				})
				if err != nil {
					return err
				}
			}
			if dr.rank() != 0 {
				return nil
			}
			secs := clock.t1.Sub(clock.t0).Seconds()
			n := float64(clock.steps)
			return printJSON(cmd.OutOrStdout(), map[string]any{
				"bench": "train", "model": model, "batch": batch, "iters": clock.steps, "threads": t,
				"procs":              dr.size(),
				"images_per_s":       round(n*float64(batch)/secs, 1),
				"ms_per_step":        round(secs*1e3/n, 3),
				"allocs_per_step":    round(float64(clock.m1.Mallocs-clock.m0.Mallocs)/n, 1),
				"bytes_per_step":     round(float64(clock.m1.TotalAlloc-clock.m0.TotalAlloc)/n, 0),
				"gc_per_step":        round(float64(clock.m1.NumGC-clock.m0.NumGC)/n, 3),
				"gc_cpu_us_per_step": round((clock.gc[1]-clock.gc[0])*1e6/n, 1),
			})
		},
	}
	cmd.Flags().StringVar(&model, "model", "mlp", "softmax, svm, mlp or cnn; or gpt or lstm on text")
	cmd.Flags().IntVar(&batch, "batch", 128, "batch size")
	cmd.Flags().IntVar(&iters, "iters", 100, "timed steps")
	cmd.Flags().IntVar(&warmup, "warmup", 5, "untimed steps first")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (default GOMAXPROCS)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "MNIST folder (default: the GoMNIST module's files)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the steps (go tool pprof) to this file")
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write a profile of the heap allocations (go tool pprof -sample_index=alloc_space) to this file")
	addBenchTextFlags(cmd, &text)
	return cmd
}
