package train

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/nn"
)

// textRanks trains cfg on n goroutine ranks (n 1: a process of its own)
// up to step stop, resuming from the checkpoint from when not "" and
// saving to out, and returns rank 0's parameters and its history's
// validation and training losses, after checking that every rank holds the same bits.
func textRanks(t *testing.T, n int, cfg TextConfig, corpus *data.Corpus, stop int, from, out string) ([][]float64, []float64) {
	t.Helper()
	params := make([][][]float64, n)
	vals := make([][]float64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range dist.NewGroup(n) {
		wg.Go(func() {
			errs[r] = func() error {
				tr, err := NewText(cfg, corpus, false)
				if err != nil {
					return err
				}
				if from != "" {
					st, err := checkpoint.LoadState(from)
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
				if err := tr.Run(context.Background(), stop, 2, out, nil); err != nil {
					return err
				}
				if err := tr.InSync(); err != nil {
					return err
				}
				for _, p := range nn.Parameters(tr.Model) {
					v := p.T.Float64s()
					if strings.HasSuffix(p.Name, "attn.in_proj_bias") {
						// Not the keys' third: shifting every key by the
						// same vector shifts all of a query's scores alike,
						// which softmax ignores, so its true gradient is 0
						// and what backward finds is rounding noise, which
						// AdamW turns into steps of ±lr. Those differ
						// between any two orders of summation (1e-4 of
						// the bias's norm after 12 steps here, every other
						// parameter within 1e-7).
						e := len(v) / 3
						v = append(v[:e:e], v[2*e:]...)
					}
					params[r] = append(params[r], v)
				}
				for _, m := range tr.History {
					vals[r] = append(vals[r], m.ValLoss, m.TrainLoss)
				}
				return nil
			}()
		})
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("%d ranks: rank %d: %v", n, r, err)
		}
	}
	return params[0], vals[0]
}

// relDiff is the largest difference of a parameter relative to its norm.
func relDiff(a, b [][]float64) float64 {
	worst := 0.0
	for i := range a {
		var d, norm float64
		for j := range a[i] {
			d += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j])
			norm += a[i][j] * a[i][j]
		}
		worst = max(worst, math.Sqrt(d/norm))
	}
	return worst
}

// The DDP test for the language models: N ranks with the same global
// batch end with the parameters and validation losses of one process,
// within 1e-5, and every rank with the same bits (textRanks checks).
func TestTextDataParallelMatchesOneProcess(t *testing.T) {
	for _, model := range TextModelNames() {
		corpus := tinyText(t)
		cfg := tinyTextConfig(model)
		one, oneVal := textRanks(t, 1, cfg, corpus, cfg.Steps, "", "")
		for _, n := range []int{2, 4} {
			got, val := textRanks(t, n, cfg, corpus, cfg.Steps, "", "")
			if d := relDiff(one, got); d > 1e-5 {
				t.Errorf("%s on %d ranks: parameters differ by %.3g relative to their norm", model, n, d)
			}
			for i := range oneVal {
				if math.Abs(val[i]-oneVal[i]) > 1e-5*math.Abs(oneVal[i]) {
					t.Errorf("%s on %d ranks: loss %d of the history (validation, training, ...) is %v, one process %v", model, n, i, val[i], oneVal[i])
				}
			}
		}
	}
}

// A checkpoint of a 2-rank run resumes on 2 ranks bit for bit and on 1 and
// 4 as those runs would continue, and the checkpoint each writes is at the
// last step.
func TestTextResumeAcrossWorldSizes(t *testing.T) {
	corpus := tinyText(t)
	cfg := tinyTextConfig("gpt")
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "half.safetensors")
	full, _ := textRanks(t, 2, cfg, corpus, cfg.Steps, "", "")
	textRanks(t, 2, cfg, corpus, cfg.Steps/2, "", ckpt)
	for _, m := range []int{2, 1, 4} {
		out := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", m))
		got, _ := textRanks(t, m, cfg, corpus, cfg.Steps, ckpt, out)
		d := relDiff(full, got)
		if m == 2 && d != 0 {
			t.Errorf("resumed on the same 2 ranks: parameters differ by %.3g, want bit for bit", d)
		}
		if d > 1e-5 {
			t.Errorf("resumed on %d ranks: parameters differ by %.3g relative to their norm", m, d)
		}
		st, err := checkpoint.LoadState(out)
		if err != nil {
			t.Fatal(err)
		}
		if st.Step != cfg.Steps {
			t.Errorf("resumed on %d ranks: the checkpoint is at step %d, want %d", m, st.Step, cfg.Steps)
		}
	}
}

// Ranks that disagree on the corpus or the settings fail at start, all of
// them, naming what differs; a batch that does not divide is refused.
func TestTextDistributeRefuses(t *testing.T) {
	corpus := tinyText(t)
	other := &data.Corpus{Files: corpus.Files, Text: append([]byte("A"), corpus.Text[1:]...)}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r, c := range dist.NewGroup(2) {
		wg.Go(func() {
			cp, cfg := corpus, tinyTextConfig("gpt")
			if r == 1 {
				cp = other
			}
			tr, err := NewText(cfg, cp, false)
			if err == nil {
				err = tr.Distribute(c)
			}
			errs[r] = err
		})
	}
	wg.Wait()
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "sha256") {
		t.Errorf("different corpora: rank 1: got %v, want a message showing the corpus's hash", errs[1])
	}
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "ranks 1 disagree") {
		t.Errorf("different corpora: rank 0: got %v", errs[0])
	}
	for r, c := range dist.NewGroup(3) {
		tr, err := NewText(tinyTextConfig("gpt"), corpus, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Distribute(c); err == nil || !strings.Contains(err.Error(), "--batch 4 does not divide between 3 processes") {
			t.Errorf("rank %d of 3: %v", r, err)
		}
	}
}
