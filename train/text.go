package train

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// Metadata keys of a checkpoint written by a TextTrainer. The vocabulary
// travels inside, so sampling needs nothing but the checkpoint.
const (
	MetaTextConfig  = "text.config"  // the TextConfig, as JSON
	MetaTextVocab   = "text.vocab"   // the vocabulary's bytes in token order, hex
	MetaTextCorpus  = "text.corpus"  // the TextCorpus, as JSON
	MetaTextHistory = "text.history" // the TextMetrics of every evaluation so far, JSON
)

// TextModelNames lists the language models a TextConfig may name.
func TextModelNames() []string { return []string{"gpt", "lstm"} }

// TextConfig is everything that decides a language model's training run.
// Its JSON names are the train command's flag names.
type TextConfig struct {
	Model   string `json:"model"` // "gpt" or "lstm"
	Layers  int    `json:"layers"`
	Heads   int    `json:"heads"` // gpt only
	Embd    int    `json:"embd"`  // gpt: the residual width; lstm: embedding and hidden size
	Context int    `json:"context"`
	Batch   int    `json:"batch"`
	// Steps is the total number of optimizer steps of the run; the
	// learning-rate schedule is laid out over it.
	Steps        int     `json:"steps"`
	LR           float64 `json:"lr"`
	WeightDecay  float64 `json:"weight-decay"` // on the 2-d parameters only
	ClipGradNorm float64 `json:"clip-grad-norm"`
	Seed         uint64  `json:"seed"`
}

// TextDefaults returns the settings of a bare `backprop train --data text
// --model name`. For gpt they are the recipe of the PyTorch twin
// ../shared/bench/w7_gpt_torch.py: 4 layers, 4 heads, width 128, context 64,
// batch 32, AdamW with lr 3e-3, betas 0.9/0.95, eps 1e-8, weight decay 0.1
// on 2-d weights, clipping at 1.0; the lstm has 2 layers of 128 and the same
// training. Both run 1000 steps from seed 0.
func TextDefaults(model string) (TextConfig, error) {
	c := TextConfig{Model: model, Layers: 4, Heads: 4, Embd: 128, Context: 64, Batch: 32, Steps: 1000,
		LR: 3e-3, WeightDecay: 0.1, ClipGradNorm: 1, Seed: 0}
	switch model {
	case "gpt":
	case "lstm":
		c.Layers, c.Heads = 2, 0
	default:
		return TextConfig{}, fmt.Errorf("unknown text model %q (have %s)", model, strings.Join(TextModelNames(), ", "))
	}
	return c, nil
}

// Validate reports settings that cannot run.
func (c TextConfig) Validate() error {
	var bad []string
	if !slices.Contains(TextModelNames(), c.Model) {
		bad = append(bad, fmt.Sprintf("--model %q is not a text model (have %s)", c.Model, strings.Join(TextModelNames(), ", ")))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"layers", c.Layers}, {"embd", c.Embd}, {"context", c.Context}, {"batch", c.Batch}, {"steps", c.Steps}} {
		if f.v < 1 {
			bad = append(bad, fmt.Sprintf("--%s %d must be positive", f.name, f.v))
		}
	}
	if c.Model == "gpt" && (c.Heads < 1 || (c.Embd > 0 && c.Embd%c.Heads != 0)) {
		bad = append(bad, fmt.Sprintf("--heads %d must be positive and divide --embd %d", c.Heads, c.Embd))
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad = append(bad, fmt.Sprintf("--lr %v must be positive", c.LR))
	}
	if !(c.WeightDecay >= 0) || !(c.ClipGradNorm >= 0) {
		bad = append(bad, fmt.Sprintf("--weight-decay %v and --clip-grad-norm %v must not be negative", c.WeightDecay, c.ClipGradNorm))
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// Mismatch lists, as flags, the settings of want that differ from c's (a
// checkpoint's), for the message refusing a resume that would change them.
func (c TextConfig) Mismatch(want TextConfig) []string {
	a, b := jsonFields(c), jsonFields(want)
	var out []string
	for i := range a {
		if a[i].value != b[i].value {
			out = append(out, fmt.Sprintf("--%s %s (the checkpoint has %s)", a[i].name, b[i].value, a[i].value))
		}
	}
	return out
}

// LRAt is the learning rate of step (from 0), the twin's schedule: linear
// warm-up from 0.01·LR over the first 10% of the steps, then half a cosine
// down to 0.1·LR at the last step.
func (c TextConfig) LRAt(step int) float64 {
	warm := max(1, c.Steps/10)
	if step < warm {
		return c.LR * (0.01 + 0.99*float64(step)/float64(warm))
	}
	p := float64(step-warm) / float64(max(1, c.Steps-warm))
	return c.LR * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*p)))
}

// LanguageModel is what a TextTrainer trains: tokens Int64 [B, T] to
// logits [B, T, Vocab], and generation with a cache (nn.GPT, nn.LSTMLM).
type LanguageModel interface {
	nn.Module
	Generate(prompt []int64, n int, next func(logits *bp.Tensor) int64) []int64
	Tokens(prompt []int64, next func(logits *bp.Tensor) int64) iter.Seq[int64]
}

// NewLanguageModel builds the model of cfg for a vocabulary of vocab
// tokens, its weights drawn from rng.
func NewLanguageModel(cfg TextConfig, vocab int, rng *bp.RNG) (LanguageModel, error) {
	gpt := nn.GPTConfig{Vocab: vocab, Context: cfg.Context, Layers: cfg.Layers, Heads: cfg.Heads, Embd: cfg.Embd}
	lstm := nn.LSTMLMConfig{Vocab: vocab, Embd: cfg.Embd, Hidden: cfg.Embd, Layers: cfg.Layers}
	var params float64
	switch cfg.Model {
	case "gpt":
		params = gpt.NumParams()
	case "lstm":
		params = lstm.NumParams()
	default:
		return nil, fmt.Errorf("unknown text model %q (have %s)", cfg.Model, strings.Join(TextModelNames(), ", "))
	}
	// Weights, gradients and AdamW's two moments, float32: a model that
	// cannot fit is refused here, before building it takes the machine's
	// memory layer by layer until the kernel kills the process.
	if need, limit := 16*params, float64(bp.AllocLimit()); need > limit {
		return nil, fmt.Errorf("the %s of --layers %d --embd %d --context %d and %d tokens has %.3g weights: with their gradients and AdamW's moments, %.3g GiB, more than this machine can allocate (%.3g GiB)",
			cfg.Model, cfg.Layers, cfg.Embd, cfg.Context, vocab, params, need/(1<<30), limit/(1<<30))
	}
	if cfg.Model == "gpt" {
		return nn.NewGPT(gpt, rng)
	}
	return nn.NewLSTMLM(lstm, rng)
}

// TextCorpus records which text a model was trained on, so that eval can
// read the same held-out part again and refuse a corpus that changed.
type TextCorpus struct {
	Files   []string `json:"files"`
	Default bool     `json:"default,omitempty"` // the Go source corpus (data.GoSourceFiles)
	Bytes   int      `json:"bytes"`
	SHA256  string   `json:"sha256"`
}

// TextMetrics are the numbers of one evaluation during training.
type TextMetrics struct {
	Step        int     `json:"step"`
	TrainLoss   float64 `json:"train_loss"` // mean of the steps since the last evaluation
	ValLoss     float64 `json:"val_loss"`
	TokensPerS  float64 `json:"tokens_per_s"` // training tokens per second since the last evaluation
	LR          float64 `json:"lr"`
	ElapsedSecs float64 `json:"elapsed_s"` // training time of this process so far
}

// TextStep describes one training step, for a TextProgress.
type TextStep struct {
	Step, Steps int // steps done (from 1) of the total
	Loss        float64
	LR          float64
	TokensPerS  float64 // since the run (or its resumption) started
}

// TextProgress hears about a text run: Step after each optimizer step,
// Eval after each evaluation.
type TextProgress interface {
	Step(s TextStep)
	Eval(m TextMetrics)
}

// TextTrainer trains a language model on a corpus for Config.Steps steps,
// evaluating and saving a checkpoint every so many steps; a run restored
// from a checkpoint continues bit for bit as if it had never stopped.
type TextTrainer struct {
	Config    TextConfig
	Vocab     *data.Vocab
	Corpus    TextCorpus
	Model     LanguageModel
	Optimizer optim.Optimizer
	RNG       *bp.RNG
	Train     *data.TokenWindows
	Val       *data.TokenWindows
	Step      int // optimizer steps taken
	History   []TextMetrics

	params   []optim.Param
	loader   *data.Loader
	parallel // set by Distribute
}

// ValBatches and ValSeed fix the validation loss of a run: the mean loss
// of ValBatches batches of random held-out windows drawn with ValSeed, as
// the twin measures it.
const (
	ValBatches = 20
	ValSeed    = 12345
)

// NewText builds a TextTrainer for corpus (def says whether it is the
// default Go source corpus) from scratch.
func NewText(cfg TextConfig, corpus *data.Corpus, def bool) (*TextTrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	vocab := data.NewVocab(corpus.Text)
	ids, err := vocab.Encode(corpus.Text)
	if err != nil {
		return nil, err
	}
	trainIDs, valIDs := data.Split(ids)
	if len(valIDs) < cfg.Context+2 {
		return nil, fmt.Errorf("the corpus of %d bytes is too small for --context %d: its held-out 10%% (%d bytes) needs at least %d", len(ids), cfg.Context, len(valIDs), cfg.Context+2)
	}
	rng := bp.NewRNG(cfg.Seed)
	model, err := NewLanguageModel(cfg, vocab.Size(), rng)
	if err != nil {
		return nil, err
	}
	params := nn.Parameters(model)
	opt := optim.NewAdamWGroups(optim.DecayGroups(params, cfg.WeightDecay), cfg.LR, optim.Betas(0.9, 0.95), optim.Eps(1e-8))
	t := &TextTrainer{
		Config: cfg, Vocab: vocab, Model: model, Optimizer: opt, RNG: rng,
		Corpus: TextCorpus{Files: corpus.Files, Default: def, Bytes: len(corpus.Text), SHA256: corpus.Hash()},
		Train:  data.NewTokenWindows(trainIDs, cfg.Context, vocab.Size()),
		Val:    data.NewTokenWindows(valIDs, cfg.Context, vocab.Size()),
		params: params,
	}
	t.loader = &data.Loader{Dataset: t.Train, BatchSize: cfg.Batch, Shuffle: true, Seed: cfg.Seed, DropLast: true}
	if t.loader.NumBatches() == 0 {
		return nil, fmt.Errorf("the training part of the corpus has %d windows, fewer than one batch of %d", t.Train.Len(), cfg.Batch)
	}
	return t, nil
}

// lossOf is the mean cross-entropy of logits [B, T, V] against targets
// [B, T], over all B·T positions.
func lossOf(logits, targets *bp.Tensor) *bp.Tensor {
	v := logits.Size(2)
	return bp.CrossEntropyFromLogits(logits.Reshape(-1, v), targets.Reshape(-1))
}

// ValLoss is the model's validation loss: the mean over ValBatches fixed
// batches of held-out windows (fewer when the held-out part is small).
// Distributed, every rank must call it; NaN if a rank failed.
func (t *TextTrainer) ValLoss() float64 {
	pool := bp.NewPool()
	defer pool.Release()
	v, err := t.valLoss(pool)
	if err != nil {
		return math.NaN()
	}
	return v
}

// valLoss is ValLoss computed in pool, which it leaves reset. Run passes
// its training pool: the evaluation's batches have the training's shapes,
// so they reuse its buffers instead of growing a second arena.
func (t *TextTrainer) valLoss(pool *bp.Pool) (float64, error) {
	nn.Eval(t.Model)
	defer nn.Train(t.Model)
	ld := &data.Loader{Dataset: t.Val, BatchSize: t.Config.Batch, Shuffle: true, Seed: ValSeed}
	var sum float64
	n := 0
	for b := range ld.Epoch(0) {
		if n == ValBatches {
			break
		}
		x, y, k, m := t.shardOf(b.X, b.Y)
		if k > 0 {
			// This rank's share of the batch's mean (all of it alone).
			sum += lossOf(t.Model.Forward(x.NoGrad().InPool(pool)), y).Item() * float64(k) / float64(m)
		}
		n++
		pool.Reset()
	}
	if t.ddp != nil {
		s := []float64{sum}
		if err := t.ddp.Comm().AllreduceFloat64(s); err != nil {
			return 0, fmt.Errorf("dist: summing the validation loss: %w", err)
		}
		sum = s[0]
	}
	return sum / float64(n), nil
}

// Run trains from Step to stop (at most Config.Steps), evaluating after
// every `every` steps and at the end, and saving a checkpoint to out then
// (unless out is ""). When ctx ends it returns ctx's error; the last
// checkpoint holds the run so far.
func (t *TextTrainer) Run(ctx context.Context, stop, every int, out string, p TextProgress) error {
	cfg := t.Config
	stop = min(stop, cfg.Steps)
	if every < 1 {
		every = cfg.Steps
	}
	nn.Train(t.Model)
	nb := t.loader.NumBatches()
	pool := bp.NewPool()
	defer pool.Release()
	start := time.Now()
	mark, markStep := start, t.Step
	var lossSum float64
	first := t.Step
	for t.Step < stop {
		epoch, k := t.Step/nb, t.Step%nb
		for b := range t.loader.EpochFrom(epoch, k) {
			if t.Step >= stop {
				break
			}
			lr := cfg.LRAt(t.Step)
			t.Optimizer.SetLR(lr)
			lv, err := t.lossAndGradients(ctx, b.X, b.Y, pool)
			if err != nil {
				return err
			}
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				return t.shared(fmt.Errorf("the loss became %v at step %d (learning rate %g): training diverged; try a smaller --lr", lv, t.Step+1, lr))
			}
			if cfg.ClipGradNorm > 0 {
				optim.ClipGradNorm(t.params, cfg.ClipGradNorm)
			}
			t.Optimizer.Step()
			t.Optimizer.ZeroGrad()
			pool.Reset()
			t.Step++
			lossSum += lv
			tok := float64((t.Step - first) * cfg.Batch * cfg.Context)
			if p != nil {
				p.Step(TextStep{Step: t.Step, Steps: cfg.Steps, Loss: lv, LR: lr, TokensPerS: tok / time.Since(start).Seconds()})
			}
			if t.Step%every == 0 || t.Step == cfg.Steps || t.Step == stop {
				vl, err := t.valLoss(pool)
				if err != nil {
					return err
				}
				now := time.Now()
				n := t.Step - markStep
				m := TextMetrics{
					Step: t.Step, TrainLoss: lossSum / float64(n), ValLoss: vl, LR: lr,
					TokensPerS:  float64(n*cfg.Batch*cfg.Context) / now.Sub(mark).Seconds(),
					ElapsedSecs: now.Sub(start).Seconds(),
				}
				t.History = append(t.History, m)
				if p != nil {
					p.Eval(m)
				}
				if out != "" && t.Rank() == 0 {
					if err := t.Save(out); err != nil {
						return err
					}
				}
				lossSum, markStep, mark = 0, t.Step, time.Now()
			}
		}
	}
	return nil
}

// Sample generates n tokens after prompt with sampler s and returns the
// text; it records no graph.
func (t *TextTrainer) Sample(prompt []byte, n int, s nn.Sampler) ([]byte, error) {
	return Generate(t.Model, t.Vocab, prompt, n, s)
}

// Generate extends prompt by n tokens of model and returns them as text. An
// empty prompt starts from the first token of the vocabulary that is a
// newline, else from token 0.
func Generate(model LanguageModel, v *data.Vocab, prompt []byte, n int, s nn.Sampler) ([]byte, error) {
	var out bytes.Buffer
	err := GenerateTo(&out, model, v, prompt, n, s)
	return out.Bytes(), err
}

// GenerateTo is Generate writing each token's text to w as soon as it is
// drawn, in memory that does not grow with n: a program can stream text
// of any length. It stops at the first error of w.
func GenerateTo(w io.Writer, model LanguageModel, v *data.Vocab, prompt []byte, n int, s nn.Sampler) error {
	var ids []int64
	if len(prompt) == 0 {
		nl, err := v.Encode([]byte("\n"))
		if err != nil {
			nl = []int64{0}
		}
		ids = nl
	} else {
		var err error
		if ids, err = v.Encode(prompt); err != nil {
			return err
		}
	}
	if n <= 0 {
		return nil
	}
	nn.Eval(model)
	defer nn.Train(model)
	one := make([]int64, 1)
	written := 0
	for tok := range model.Tokens(ids, s.Next) {
		one[0] = tok
		if _, err := w.Write(v.Decode(one)); err != nil {
			return err
		}
		if written++; written == n {
			break
		}
	}
	return nil
}

// State returns the run as the checkpoint package saves it.
func (t *TextTrainer) State() (checkpoint.State, error) {
	rng, err := t.RNG.MarshalBinary()
	if err != nil {
		return checkpoint.State{}, err
	}
	cfg, _ := json.Marshal(t.Config)
	corpus, _ := json.Marshal(t.Corpus)
	hist := t.History
	if hist == nil {
		hist = []TextMetrics{}
	}
	h, err := json.Marshal(hist)
	if err != nil {
		return checkpoint.State{}, fmt.Errorf("train: metrics: %w", err)
	}
	return checkpoint.State{
		Epoch: t.Step / t.loader.NumBatches(), Step: t.Step, ModelName: t.Config.Model,
		Model: nn.StateDict(t.Model), Optim: t.Optimizer.State(), RNG: rng,
		Meta: map[string]string{
			MetaTextConfig:  string(cfg),
			MetaTextVocab:   hex.EncodeToString(t.Vocab.Bytes()),
			MetaTextCorpus:  string(corpus),
			MetaTextHistory: string(h),
		},
	}, nil
}

// Save writes the checkpoint to path atomically.
func (t *TextTrainer) Save(path string) error {
	st, err := t.State()
	if err != nil {
		return err
	}
	return checkpoint.SaveState(path, st)
}

// IsText says whether a checkpoint holds a language model of a TextTrainer.
func IsText(st checkpoint.State) bool {
	_, ok := st.Meta[MetaTextConfig]
	return ok
}

// TextCheckpoint is what a text checkpoint says about its run.
type TextCheckpoint struct {
	Config TextConfig
	Vocab  *data.Vocab
	Corpus TextCorpus
}

// TextOf reads the settings, vocabulary and corpus record of a checkpoint
// written by a TextTrainer.
func TextOf(st checkpoint.State) (TextCheckpoint, error) {
	var tc TextCheckpoint
	raw, ok := st.Meta[MetaTextConfig]
	if !ok {
		return tc, fmt.Errorf("it holds no language model's settings (metadata %q), so it was not written by backprop train --data text", MetaTextConfig)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc.Config); err != nil {
		return tc, fmt.Errorf("its settings (metadata %q) are corrupt: %v", MetaTextConfig, err)
	}
	if err := tc.Config.Validate(); err != nil {
		return tc, fmt.Errorf("its settings are invalid: %v", err)
	}
	if st.ModelName != tc.Config.Model {
		return tc, fmt.Errorf("it names the model %q but was trained as %q", st.ModelName, tc.Config.Model)
	}
	vb, err := hex.DecodeString(st.Meta[MetaTextVocab])
	if err != nil {
		return tc, fmt.Errorf("its vocabulary (metadata %q) is corrupt: %v", MetaTextVocab, err)
	}
	if tc.Vocab, err = data.VocabOf(vb); err != nil {
		return tc, fmt.Errorf("its vocabulary (metadata %q) is corrupt: %v", MetaTextVocab, err)
	}
	if err := json.Unmarshal([]byte(st.Meta[MetaTextCorpus]), &tc.Corpus); err != nil {
		return tc, fmt.Errorf("its corpus record (metadata %q) is corrupt: %v", MetaTextCorpus, err)
	}
	return tc, nil
}

// LoadLanguageModel builds the model of a text checkpoint and loads its
// weights.
func LoadLanguageModel(st checkpoint.State) (LanguageModel, TextCheckpoint, error) {
	tc, err := TextOf(st)
	if err != nil {
		return nil, tc, err
	}
	m, err := NewLanguageModel(tc.Config, tc.Vocab.Size(), bp.NewRNG(tc.Config.Seed))
	if err != nil {
		return nil, tc, err
	}
	if err := nn.LoadStateDict(m, st.Model); err != nil {
		return nil, tc, err
	}
	return m, tc, nil
}

// Read reads the corpus a checkpoint was trained on again, and
// refuses it when its files are gone or changed.
func (c TextCorpus) Read() (*data.Corpus, error) {
	corpus, err := data.ReadText(c.Files...)
	if err != nil {
		return nil, fmt.Errorf("the corpus the model was trained on cannot be read: %v", err)
	}
	if h := corpus.Hash(); h != c.SHA256 || len(corpus.Text) != c.Bytes {
		return nil, fmt.Errorf("the corpus the model was trained on has changed since (%d bytes with SHA-256 %.12s…, the checkpoint records %d bytes with %.12s…)", len(corpus.Text), h, c.Bytes, c.SHA256)
	}
	return corpus, nil
}

// Restore loads a checkpoint of a run with the same settings and corpus.
func (t *TextTrainer) Restore(st checkpoint.State) error {
	tc, err := TextOf(st)
	if err != nil {
		return err
	}
	if tc.Config != t.Config {
		return fmt.Errorf("the checkpoint was trained with other settings (%+v, not %+v)", tc.Config, t.Config)
	}
	if tc.Corpus.SHA256 != t.Corpus.SHA256 {
		return errors.New("the checkpoint was trained on another corpus (its SHA-256 differs)")
	}
	var hist []TextMetrics
	if err := json.Unmarshal([]byte(st.Meta[MetaTextHistory]), &hist); err != nil {
		return fmt.Errorf("its metrics (metadata %q) are corrupt: %v", MetaTextHistory, err)
	}
	if st.Step < 0 || st.Step > t.Config.Steps {
		return fmt.Errorf("it is at step %d of %d", st.Step, t.Config.Steps)
	}
	if err := nn.LoadStateDict(t.Model, st.Model); err != nil {
		return err
	}
	if err := t.Optimizer.LoadState(st.Optim); err != nil {
		return err
	}
	if st.RNG == nil {
		return errors.New("it holds no random generator state")
	}
	if err := t.RNG.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("its random generator state is corrupt: %v", err)
	}
	t.Step, t.History = st.Step, hist
	return nil
}

// EvalText is the mean cross-entropy of model over the held-out part of a
// corpus (the last 10% of its tokens) cut into consecutive windows of
// context tokens, and the number of tokens scored.
func EvalText(model LanguageModel, v *data.Vocab, corpus *data.Corpus, context, batch int) (loss float64, tokens int, err error) {
	ids, err := v.Encode(corpus.Text)
	if err != nil {
		return 0, 0, err
	}
	_, val := data.Split(ids)
	var offs []int
	for o := 0; o+context+1 <= len(val); o += context {
		offs = append(offs, o)
	}
	if len(offs) == 0 {
		return 0, 0, fmt.Errorf("the held-out part (%d tokens) is shorter than one window of %d", len(val), context)
	}
	nn.Eval(model)
	defer nn.Train(model)
	pool := bp.NewPool()
	defer pool.Release()
	var sum float64
	for lo := 0; lo < len(offs); lo += batch {
		hi := min(lo+batch, len(offs))
		x := make([]int64, 0, (hi-lo)*context)
		y := make([]int64, 0, (hi-lo)*context)
		for _, o := range offs[lo:hi] {
			x = append(x, val[o:o+context]...)
			y = append(y, val[o+1:o+context+1]...)
		}
		xt := bp.FromInt64s(x, hi-lo, context).NoGrad().InPool(pool)
		l := lossOf(model.Forward(xt), bp.FromInt64s(y, hi-lo, context)).Item()
		sum += l * float64((hi-lo)*context)
		pool.Reset()
	}
	tokens = len(offs) * context
	return sum / float64(tokens), tokens, nil
}

// NewTextProgress returns the Progress of a text run writing to w: a bar
// with the loss and tokens/s on a terminal, else a line per evaluation.
func NewTextProgress(w io.Writer, steps int) TextProgress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &textBar{w: w, steps: steps}
	}
	return TextLines{W: w}
}

// TextLines is a TextProgress that writes one line per evaluation.
type TextLines struct{ W io.Writer }

// Step does nothing.
func (TextLines) Step(TextStep) {}

// Eval writes the evaluation's line.
func (l TextLines) Eval(m TextMetrics) { fmt.Fprintln(l.W, TextLine(m)) }

// TextLine is an evaluation's summary in one line:
//
//	step 200: train loss 1.8123 | val loss 1.9020 | lr 0.00283 | 5321 tok/s
func TextLine(m TextMetrics) string {
	return fmt.Sprintf("step %d: train loss %.4f | val loss %.4f | lr %.3g | %.0f tok/s", m.Step, m.TrainLoss, m.ValLoss, m.LR, m.TokensPerS)
}

type textBar struct {
	w     io.Writer
	steps int
	pb    *progressbar.ProgressBar
	last  time.Time
}

func (b *textBar) Step(s TextStep) {
	if b.pb == nil {
		b.pb = progressbar.NewOptions(s.Steps,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		_ = b.pb.Set(s.Step - 1)
	}
	if now := time.Now(); now.Sub(b.last) >= 200*time.Millisecond || s.Step == s.Steps {
		b.last = now
		b.pb.Describe(fmt.Sprintf("loss %.4f %.0f tok/s", s.Loss, s.TokensPerS))
	}
	_ = b.pb.Add(1)
}

func (b *textBar) Eval(m TextMetrics) {
	if b.pb != nil {
		b.pb.Clear()
	}
	fmt.Fprintln(b.w, TextLine(m))
	if b.pb != nil {
		_ = b.pb.RenderBlank()
	}
}
