package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/train"
)

// benchTextFlags are bench train's flags for language models.
type benchTextFlags struct {
	text   []string
	steps  int
	warmup int
}

func addBenchTextFlags(cmd *cobra.Command, f *benchTextFlags) {
	fs := cmd.Flags()
	fs.StringArrayVar(&f.text, "text", nil, "gpt and lstm: train on this UTF-8 `file` (default: the Go source corpus)")
	fs.IntVar(&f.steps, "steps", 300, "gpt and lstm: total steps, the first --warmup of them untimed (the PyTorch twin's default)")
}

// textClock times the steps after the first warmup ones.
type textClock struct {
	warmup int
	t0, t1 time.Time
	steps  int
	loss   float64
}

func (c *textClock) Step(s train.TextStep) {
	switch {
	case s.Step == c.warmup:
		c.t0 = time.Now()
	case s.Step > c.warmup:
		c.t1 = time.Now()
		c.steps = s.Step - c.warmup
	}
	c.loss = s.Loss
}

func (c *textClock) Eval(train.TextMetrics) {}

// runBenchText is bench train for a language model: the twin's recipe
// (w7_gpt_torch.py) for --steps steps; tokens/s and ms/step over the steps
// after the warm-up, then the validation loss and the peak RSS, as one
// JSON line.
func runBenchText(cmd *cobra.Command, model string, batch, warmup, threads int, batchSet bool, cpuProfile string, f *benchTextFlags) (rerr error) {
	if f.steps <= warmup {
		return fmt.Errorf("--steps %d must exceed --warmup %d", f.steps, warmup)
	}
	if !cmd.Flags().Changed("threads") {
		threads = defaultThreads() // under mpirun, this process's share of the cores
	}
	t, err := setThreads(cmd, threads)
	if err != nil {
		return err
	}
	cfg, err := train.TextDefaults(model)
	if err != nil {
		return err
	}
	cfg.Steps = f.steps
	if batchSet {
		cfg.Batch = batch
	}
	corpus, def, err := readCorpus(f.text)
	if err != nil {
		return err
	}
	tr, err := train.NewText(cfg, corpus, def)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		pf, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := pf.Close(); err != nil && rerr == nil {
				rerr = fmt.Errorf("--cpuprofile: %w", err)
			}
		}()
	}
	// Under mpirun, --batch is the global batch and the figures are the
	// whole job's.
	dr, err := joinWorld(tr, dist.DefaultTimeout, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	clock := &textClock{warmup: warmup}
	if err := dr.finish(tr.Run(context.Background(), cfg.Steps, cfg.Steps+1, "", clock)); err != nil {
		return err
	}
	if dr.rank() != 0 {
		return nil
	}
	secs := clock.t1.Sub(clock.t0).Seconds()
	n := float64(clock.steps)
	val := tr.History[len(tr.History)-1].ValLoss
	return printJSON(cmd.OutOrStdout(), map[string]any{
		"bench": "train", "model": model, "batch": cfg.Batch, "context": cfg.Context, "steps": cfg.Steps,
		"timed_steps": clock.steps, "threads": t, "procs": dr.size(),
		"tokens_per_s":     round(n*float64(cfg.Batch*cfg.Context)/secs, 1),
		"ms_per_step":      round(secs*1e3/n, 3),
		"final_train_loss": round(clock.loss, 4),
		"val_loss":         round(val, 4),
		"peak_rss_mib":     round(peakRSSMiB(), 1),
	})
}

// peakRSSMiB is the process's peak resident set (VmHWM) in MiB, 0 where
// /proc does not say.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				kb, _ := strconv.ParseFloat(fields[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
