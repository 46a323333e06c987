package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
)

func tinyText(t *testing.T) *data.Corpus {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.txt")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 60)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := data.ReadText(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tinyTextConfig(model string) TextConfig {
	c, _ := TextDefaults(model)
	c.Layers, c.Embd, c.Context, c.Batch, c.Steps = 1, 16, 8, 4, 12
	if model == "gpt" {
		c.Heads = 2
	}
	return c
}

func TestTextLRSchedule(t *testing.T) {
	c := TextConfig{LR: 1, Steps: 100}
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 0.01}, {5, 0.01 + 0.99*0.5}, {10, 1}, {100, 0.1}, {55, 0.1 + 0.9*0.5}} {
		if got := c.LRAt(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LRAt(%d) = %v, want %v", tc.step, got, tc.want)
		}
	}
}

// A run of K steps and a run of K/2 steps, saved, restored into a fresh
// trainer and continued to K, end with the same weights, bit for bit.
func TestTextResumeBitExact(t *testing.T) {
	for _, model := range TextModelNames() {
		t.Run(model, func(t *testing.T) {
			corpus := tinyText(t)
			cfg := tinyTextConfig(model)
			whole, err := NewText(cfg, corpus, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := whole.Run(context.Background(), cfg.Steps, 4, "", nil); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "half.safetensors")
			half, _ := NewText(cfg, corpus, false)
			if err := half.Run(context.Background(), cfg.Steps/2, 4, path, nil); err != nil {
				t.Fatal(err)
			}
			st, err := checkpoint.LoadState(path)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := NewText(cfg, corpus, false)
			if err := rest.Restore(st); err != nil {
				t.Fatal(err)
			}
			if rest.Step != cfg.Steps/2 {
				t.Fatalf("restored at step %d", rest.Step)
			}
			if err := rest.Run(context.Background(), cfg.Steps, 4, "", nil); err != nil {
				t.Fatal(err)
			}
			a, b := nn.StateDict(whole.Model), nn.StateDict(rest.Model)
			for k, w := range a {
				if !slices.Equal(w.Float64s(), b[k].Float64s()) {
					t.Fatalf("%s differs after resuming", k)
				}
			}
			// Evaluations at steps 4, 8, 12; the interrupted run also at 6,
			// where it stopped.
			if len(whole.History) != 3 || len(rest.History) != 4 {
				t.Fatalf("histories of %d and %d evaluations, want 3 and 4", len(whole.History), len(rest.History))
			}
			if a, b := whole.History[2], rest.History[3]; a.Step != b.Step || a.ValLoss != b.ValLoss || a.TrainLoss != b.TrainLoss {
				t.Fatalf("last evaluation %+v vs %+v", a, b)
			}
			first, last := whole.History[0].TrainLoss, whole.History[2].TrainLoss
			if !(last < first) {
				t.Fatalf("train loss did not fall: %v then %v", first, last)
			}
			// The checkpoint alone gives the model, its vocabulary and the corpus.
			m, tc, err := LoadLanguageModel(st)
			if err != nil {
				t.Fatal(err)
			}
			if string(tc.Vocab.Bytes()) != string(half.Vocab.Bytes()) {
				t.Fatal("vocabulary not restored")
			}
			c2, err := tc.Corpus.Read()
			if err != nil {
				t.Fatal(err)
			}
			l, n, err := EvalText(m, tc.Vocab, c2, cfg.Context, 32)
			if err != nil || n == 0 || !(l > 0) {
				t.Fatalf("EvalText: %v %d %v", l, n, err)
			}
			if err := os.WriteFile(corpus.Files[0], []byte("changed"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := tc.Corpus.Read(); err == nil || !strings.Contains(err.Error(), "changed") {
				t.Fatalf("a changed corpus: %v", err)
			}
		})
	}
}

// failAfter is a writer that takes n writes and fails the next.
type failAfter struct {
	n   int
	got []byte
}

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	w.got = append(w.got, p...)
	return len(p), nil
}

// GenerateTo writes, token by token, the text Generate returns for the
// same seed, and stops at the writer's first error.
func TestGenerateTo(t *testing.T) {
	for _, model := range TextModelNames() {
		t.Run(model, func(t *testing.T) {
			tr, err := NewText(tinyTextConfig(model), tinyText(t), false)
			if err != nil {
				t.Fatal(err)
			}
			sampler := func() nn.Sampler { return nn.Sampler{Temperature: 1, RNG: bp.NewRNG(7)} }
			want, err := Generate(tr.Model, tr.Vocab, []byte("the "), 40, sampler())
			if err != nil || len(want) != 40 {
				t.Fatalf("Generate: %d bytes, %v", len(want), err)
			}
			w := &failAfter{n: 1 << 30}
			if err := GenerateTo(w, tr.Model, tr.Vocab, []byte("the "), 40, sampler()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w.got, want) {
				t.Errorf("GenerateTo wrote %q, Generate gave %q", w.got, want)
			}
			w = &failAfter{n: 5}
			if err := GenerateTo(w, tr.Model, tr.Vocab, []byte("the "), 1<<62, sampler()); err == nil || err.Error() != "disk full" {
				t.Errorf("GenerateTo on a failing writer: %v", err)
			}
			if !slices.Equal(w.got, want[:5]) {
				t.Errorf("before the error it wrote %q, want %q", w.got, want[:5])
			}
		})
	}
}

// A model too large for the machine is refused before it is built (which
// would take memory layer by layer until the kernel killed the process).
func TestLanguageModelTooLarge(t *testing.T) {
	for _, model := range TextModelNames() {
		cfg := tinyTextConfig(model)
		cfg.Layers = 100_000_000
		_, err := NewLanguageModel(cfg, 19, bp.NewRNG(1))
		if err == nil || !strings.Contains(err.Error(), "more than this machine can allocate") || !strings.Contains(err.Error(), "--layers 100000000") {
			t.Errorf("%s: %v", model, err)
		}
		cfg.Layers = 1
		if _, err := NewLanguageModel(cfg, 19, bp.NewRNG(1)); err != nil {
			t.Errorf("%s: a small model: %v", model, err)
		}
	}
}

// Mismatch names each changed setting as its flag, with both values.
func TestTextConfigMismatch(t *testing.T) {
	a := tinyTextConfig("gpt")
	if d := a.Mismatch(a); len(d) != 0 {
		t.Errorf("no change: %v", d)
	}
	b := a
	b.Model, b.Embd, b.LR = "lstm", 32, 0.5
	want := []string{"--model lstm (the checkpoint has gpt)", "--embd 32 (the checkpoint has 16)", "--lr 0.5 (the checkpoint has 0.003)"}
	if d := a.Mismatch(b); !slices.Equal(d, want) {
		t.Errorf("Mismatch %q, want %q", d, want)
	}
}
