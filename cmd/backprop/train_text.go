package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
	"github.com/gobackprop/backprop/web"
)

// textFlags are the train command's flags for language models
// (--data text).
type textFlags struct {
	files     []string
	cfg       train.TextConfig
	evalEvery int
	stopAfter int // stop (with a checkpoint) after this many steps in all, for tests of --resume
}

const trainTextHelp = `

Language models (--data text --model gpt|lstm) train on the bytes of --text
files (UTF-8; repeat --text for several, joined in order), or without --text
on the Go standard library's source of a fixed list of packages under GOROOT
(about 1 MB), so the model learns to write Go. The vocabulary is the distinct
bytes of the corpus; the first 90% trains and the last 10% is held out. Training
runs --steps optimizer steps (not epochs) on batches of random windows of
--context bytes, with the recipe of the PyTorch twin: AdamW (lr 3e-3, betas
0.9/0.95, eps 1e-8, weight decay 0.1 on 2-d weights only), warm-up over the
first 10% of the steps from 0.01x, then a cosine to 0.1x, clipping at 1.0.
  gpt   --layers 4 --heads 4 --embd 128 --context 64 --batch 32 --steps 1000
  lstm  --layers 2 --embd 128 (hidden size too) --context 64 --batch 32
Every --eval-every steps it prints the validation loss (20 fixed batches of
held-out windows) and saves the checkpoint, which holds the vocabulary and
the corpus's file names and hash: backprop sample and backprop eval need
nothing else. --resume continues to the same weights, bit for bit. --serve
shows the training loss by step, the validation losses and 200 bytes the model
writes (same seed each time), refreshed at each evaluation.`

const trainTextExample = `
  backprop train --data text                        # a gpt that writes Go, to runs/text-gpt.safetensors
  backprop train --data text --text input.txt --model lstm --steps 2000
  backprop sample --model runs/text-gpt.safetensors --prompt 'func ' --tokens 300`

// addTextFlags adds the language-model flags to the train command.
func addTextFlags(fs *pflag.FlagSet, f *textFlags) {
	fs.StringArrayVar(&f.files, "text", nil, "with --data text: train on this UTF-8 `file` (repeat for several; default: Go source under GOROOT)")
	fs.IntVar(&f.cfg.Layers, "layers", 0, "with --data text: transformer blocks or LSTM layers (default 4 for gpt, 2 for lstm)")
	fs.IntVar(&f.cfg.Heads, "heads", 0, "with --data text: attention heads of the gpt (default 4)")
	fs.IntVar(&f.cfg.Embd, "embd", 0, "with --data text: model width (default 128)")
	fs.IntVar(&f.cfg.Context, "context", 0, "with --data text: window length in bytes (default 64)")
	fs.IntVar(&f.cfg.Steps, "steps", 0, "with --data text: total optimizer steps (default 1000)")
	fs.IntVar(&f.evalEvery, "eval-every", 100, "with --data text: evaluate and save a checkpoint every `N` steps")
	fs.IntVar(&f.stopAfter, "stop-after", 0, "with --data text: stop after step `N` (with a checkpoint), to --resume later")
	_ = fs.MarkHidden("stop-after")
}

// isTextRun says whether the command line trains a language model: --data
// text, or --resume of a text checkpoint.
func isTextRun(fs *pflag.FlagSet, f *trainFlags) bool {
	if f.cfg.Data == "text" {
		return true
	}
	if f.resume != "" && !fs.Changed("data") {
		if st, err := checkpoint.LoadState(f.resume); err == nil {
			return train.IsText(st)
		}
	}
	return false
}

// textOnly and imageOnly are the flags that apply to one kind of run only.
var (
	textOnly  = []string{"text", "layers", "heads", "embd", "context", "steps", "eval-every", "stop-after"}
	imageOnly = []string{"data-dir", "epochs", "optim", "momentum", "schedule", "step-size", "gamma", "warmup", "train-size", "test-size"}
)

// checkImageFlags refuses the language-model flags in an image run.
func checkImageFlags(fs *pflag.FlagSet) error {
	for _, name := range textOnly {
		if fs.Changed(name) {
			return fmt.Errorf("--%s applies only with --data text", name)
		}
	}
	return nil
}

// resolveTextConfig merges the flags the user set into base.
func resolveTextConfig(fs *pflag.FlagSet, f *trainFlags, base train.TextConfig) train.TextConfig {
	c := base
	p := f.text.cfg
	set := fs.Changed
	if set("model") {
		c.Model = f.cfg.Model
	}
	if set("layers") {
		c.Layers = p.Layers
	}
	if set("heads") {
		c.Heads = p.Heads
	}
	if set("embd") {
		c.Embd = p.Embd
	}
	if set("context") {
		c.Context = p.Context
	}
	if set("steps") {
		c.Steps = p.Steps
	}
	if set("batch") {
		c.Batch = f.cfg.Batch
	}
	if set("lr") {
		c.LR = f.cfg.LR
	}
	if set("weight-decay") {
		c.WeightDecay = f.cfg.WeightDecay
	}
	if set("clip-grad-norm") {
		c.ClipGradNorm = f.cfg.ClipGradNorm
	}
	if set("seed") {
		c.Seed = f.cfg.Seed
	}
	return c
}

// readCorpus reads the --text files, or the default Go source corpus.
func readCorpus(files []string) (*data.Corpus, bool, error) {
	def := len(files) == 0
	if def {
		var err error
		if files, err = data.GoSourceFiles(); err != nil {
			return nil, false, err
		}
	}
	c, err := data.ReadText(files...)
	if err != nil {
		return nil, false, fmt.Errorf("--text: %w", err)
	}
	return c, def, nil
}

func runTrainText(cmd *cobra.Command, f *trainFlags) error {
	fs := cmd.Flags()
	stderr := cmd.ErrOrStderr()
	for _, name := range imageOnly {
		if fs.Changed(name) {
			return fmt.Errorf("--%s does not apply with --data text (see backprop train --help)", name)
		}
	}
	if f.text.evalEvery < 1 {
		return fmt.Errorf("--eval-every %d: want at least 1", f.text.evalEvery)
	}
	var (
		cfg    train.TextConfig
		st     checkpoint.State
		corpus *data.Corpus
		def    bool
		err    error
	)
	if f.resume != "" {
		if st, err = checkpoint.LoadState(f.resume); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		tc, err := train.TextOf(st)
		if err != nil {
			return fmt.Errorf("--resume %s: %w", f.resume, err)
		}
		cfg = resolveTextConfig(fs, f, tc.Config)
		if d := tc.Config.Mismatch(cfg); len(d) > 0 {
			return fmt.Errorf("--resume %s: a resumed run keeps the settings it was started with (a %s language model), but the flags ask for %s; drop those flags, or start a new run with --out", f.resume, tc.Config.Model, strings.Join(d, ", "))
		}
		if fs.Changed("text") {
			return fmt.Errorf("--resume %s: a resumed run reads the corpus it was started with; drop --text", f.resume)
		}
		if corpus, err = tc.Corpus.Read(); err != nil {
			return fmt.Errorf("--resume %s: %w", f.resume, err)
		}
		def = tc.Corpus.Default
	} else {
		model := "gpt"
		if fs.Changed("model") {
			model = f.cfg.Model
		}
		base, err := train.TextDefaults(model)
		if err != nil {
			return fmt.Errorf("--model: %w", err)
		}
		cfg = resolveTextConfig(fs, f, base)
		if err := cfg.Validate(); err != nil {
			return err
		}
		if corpus, def, err = readCorpus(f.text.files); err != nil {
			return err
		}
	}
	out := f.out
	switch {
	case out != "":
	case f.resume != "":
		out = f.resume
	default:
		out = filepath.Join("runs", "text-"+cfg.Model+".safetensors")
	}
	if err := checkOut(out, false); err != nil {
		return err
	}
	if n := worldSizeFromEnv(); n > 1 && cfg.Batch%n != 0 {
		return train.BatchError(cfg.Batch, n)
	}
	if f.resume != "" && st.Step >= cfg.Steps {
		if !rankZeroFromEnv() {
			return nil
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s has already trained %d of %d steps: nothing to do\n", f.resume, st.Step, cfg.Steps)
		return nil
	}
	tr, err := train.NewText(cfg, corpus, def)
	if err != nil {
		return err
	}
	dr, err := startRank(tr, f, st, out, stderr)
	if err != nil {
		return err
	}
	return dr.finish(trainTextRank(cmd, f, tr, corpus, def, st, out, dr))
}

// trainTextRank trains a language model; under mpirun, only rank 0
// prints, writes and serves.
func trainTextRank(cmd *cobra.Command, f *trainFlags, tr *train.TextTrainer, corpus *data.Corpus, def bool, st checkpoint.State, out string, dr *distRun) (err error) {
	stderr := cmd.ErrOrStderr()
	cfg := tr.Config
	if !cmd.Flags().Changed("threads") {
		f.threads = defaultThreads()
	}
	if dr.rank() != 0 {
		f.progress, f.serve = false, false
	}
	if f.threads > 0 {
		prev := runtime.GOMAXPROCS(f.threads)
		bp.SetThreads(f.threads)
		defer func() {
			runtime.GOMAXPROCS(prev)
			bp.SetThreads(0)
		}()
	}
	var progress train.TextProgress
	if f.progress {
		progress = train.NewTextProgress(stderr, cfg.Steps)
		src := fmt.Sprintf("%d files", len(corpus.Files))
		if def {
			src = "the Go source default corpus (" + src + ")"
		} else if len(corpus.Files) == 1 {
			src = corpus.Files[0]
		}
		fmt.Fprintf(stderr, "training %s (%d parameters) on %s: %d bytes, vocabulary %d, %d threads\n",
			cfg.Model, nn.NumParams(tr.Model), src, len(corpus.Text), tr.Vocab.Size(), bp.Threads())
		fmt.Fprintf(stderr, "  layers %d, heads %d, embd %d, context %d, batch %d, %d steps, lr %g, weight decay %g, clip %g, seed %d\n",
			cfg.Layers, cfg.Heads, cfg.Embd, cfg.Context, cfg.Batch, cfg.Steps, cfg.LR, cfg.WeightDecay, cfg.ClipGradNorm, cfg.Seed)
		if f.resume != "" {
			fmt.Fprintf(stderr, "  resuming %s after step %d\n", f.resume, tr.Step)
		}
		fmt.Fprintf(stderr, "  checkpoint %s every %d steps\n", out, f.text.evalEvery)
		if dr.size() > 1 {
			fmt.Fprintf(stderr, "  %s\n", dr.describe(cfg.Batch))
		}
	}
	var page *livePage
	if f.serve {
		tp := web.NewTextTraining(tr, web.TrainingOptions{})
		if page, err = startLivePage(tp, f.addr, stderr); err != nil {
			return err
		}
		defer page.stop()
		progress = teeText(progress, tp)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	stopAt := cfg.Steps
	if f.text.stopAfter > 0 {
		stopAt = f.text.stopAfter
	}
	err = tr.Run(ctx, stopAt, f.text.evalEvery, out, progress)
	if page != nil {
		page.training.Finish(err)
		if err != nil && !errors.Is(err, context.Canceled) && !f.serveExit {
			fmt.Fprintf(stderr, "backprop: training failed; %s shows the run until Ctrl-C\n", page.url)
			<-ctx.Done()
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			last := 0
			if n := len(tr.History); n > 0 {
				last = tr.History[n-1].Step
			}
			if last == 0 && f.resume == "" {
				return keepShared(err, fmt.Errorf("interrupted at step %d, before the first checkpoint", tr.Step))
			}
			return keepShared(err, fmt.Errorf("interrupted at step %d; %s holds the run up to step %d: continue with backprop train --resume %s", tr.Step, out, max(last, st.Step), out))
		}
		return err
	}
	if dr.rank() != 0 {
		return nil
	}
	last := tr.History[len(tr.History)-1]
	fmt.Fprintf(cmd.OutOrStdout(), "validation loss %.4f after %d steps; wrote %s\n", last.ValLoss, tr.Step, out)
	if page != nil && !f.serveExit {
		fmt.Fprintf(stderr, "backprop: training done; %s shows the final state until Ctrl-C\n", page.url)
		<-ctx.Done()
		fmt.Fprintf(stderr, "backprop: stopped\n")
	}
	return nil
}

// teeText reports a text run's progress to both a and b; a may be nil.
func teeText(a, b train.TextProgress) train.TextProgress {
	if a == nil {
		return b
	}
	return textTee{a, b}
}

type textTee struct{ a, b train.TextProgress }

func (t textTee) Step(s train.TextStep)    { t.a.Step(s); t.b.Step(s) }
func (t textTee) Eval(m train.TextMetrics) { t.a.Eval(m); t.b.Eval(m) }
