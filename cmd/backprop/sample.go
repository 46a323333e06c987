package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"

	"github.com/spf13/cobra"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
)

func init() { register(newSampleCmd) }

type sampleFlags struct {
	file        string
	prompt      string
	tokens      int
	temperature float64
	topK        int
	seed        uint64
	threads     int
}

func newSampleCmd() *cobra.Command {
	var f sampleFlags
	cmd := &cobra.Command{
		Use:   "sample --model FILE [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S]",
		Short: "Generate text from a language model trained with backprop train --data text",
		Long: `sample loads a checkpoint written by backprop train --data text (a gpt or an
lstm, with its vocabulary inside) and writes --tokens bytes of text that follow
--prompt (the prompt itself is printed first). Nothing is differentiated: the
gpt keeps a key/value cache so that each new token costs one position, and the
lstm carries its hidden state. Each token is drawn from the softmax of the
logits divided by --temperature, among the --top-k most likely (0: all);
--temperature 0 always takes the most likely byte. The same --seed gives the
same text. Without --prompt generation starts after a newline.`,
		Example: `  backprop sample --model runs/text-gpt.safetensors --prompt 'func (b *Buffer) ' --tokens 400
  backprop sample --model runs/text-lstm.safetensors --temperature 0.8 --top-k 20 --seed 7`,
		Args: noArgs("sample"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSample(cmd, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.file, "model", "", "checkpoint `file` of a language model (required)")
	fs.StringVar(&f.prompt, "prompt", "", "text to continue (its bytes must be in the model's vocabulary)")
	fs.IntVar(&f.tokens, "tokens", 200, "bytes to generate")
	fs.Float64Var(&f.temperature, "temperature", 1, "divide the logits by this before sampling (0: greedy)")
	fs.IntVar(&f.topK, "top-k", 0, "sample among the `K` most likely bytes only (0: all)")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed of the sampling")
	fs.IntVar(&f.threads, "threads", 0, "cores to use (default: all, GOMAXPROCS)")
	return cmd
}

func runSample(cmd *cobra.Command, f *sampleFlags) error {
	if f.file == "" {
		return errors.New("sample needs --model FILE, a checkpoint written by backprop train --data text")
	}
	switch {
	case f.tokens < 0:
		return fmt.Errorf("--tokens %d: want 0 or more", f.tokens)
	case !(f.temperature >= 0) || math.IsInf(f.temperature, 0):
		return fmt.Errorf("--temperature %v: want a finite number >= 0", f.temperature)
	case f.topK < 0:
		return fmt.Errorf("--top-k %d: want 0 (all) or more", f.topK)
	case cmd.Flags().Changed("threads") && f.threads < 1:
		return fmt.Errorf("--threads %d: want at least 1", f.threads)
	}
	st, err := checkpoint.LoadState(f.file)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if !train.IsText(st) {
		return fmt.Errorf("--model %s: not a language model (train one with backprop train --data text)", f.file)
	}
	model, tc, err := train.LoadLanguageModel(st)
	if err != nil {
		return fmt.Errorf("--model %s: %s", f.file, firstErrors(err, 3))
	}
	if _, err := tc.Vocab.Encode([]byte(f.prompt)); err != nil {
		return fmt.Errorf("--prompt: %w", err)
	}
	if f.threads > 0 {
		prev := runtime.GOMAXPROCS(f.threads)
		bp.SetThreads(f.threads)
		defer func() {
			runtime.GOMAXPROCS(prev)
			bp.SetThreads(0)
		}()
	}
	s := nn.Sampler{Temperature: f.temperature, TopK: f.topK, RNG: bp.NewRNG(f.seed)}
	// The text goes out token by token as it is drawn, so that a long
	// sample shows as it grows and --tokens can be as large as one likes
	// (memory does not grow with it).
	w := cmd.OutOrStdout()
	if _, err := io.WriteString(w, f.prompt); err != nil {
		return err
	}
	if err := train.GenerateTo(w, model, tc.Vocab, []byte(f.prompt), f.tokens, s); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}
