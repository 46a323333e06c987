package main

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"

	"github.com/spf13/cobra"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/train"
)

// evalTextJSON is eval's --json output for a language model.
type evalTextJSON struct {
	ValLoss float64 `json:"val_loss"`
	Tokens  int     `json:"tokens"`
}

// runEvalText evaluates a language model on the held-out part of the
// corpus its checkpoint records, read again and checked against its hash.
func runEvalText(cmd *cobra.Command, f *evalFlags, st checkpoint.State) error {
	fs := cmd.Flags()
	for _, name := range []string{"data", "data-dir", "test-size"} {
		if fs.Changed(name) {
			return fmt.Errorf("--%s does not apply to a language model, which is evaluated on the held-out part of the corpus it was trained on", name)
		}
	}
	model, tc, err := train.LoadLanguageModel(st)
	if err != nil {
		return fmt.Errorf("--model %s: %s", f.file, firstErrors(err, 3))
	}
	corpus, err := tc.Corpus.Read()
	if err != nil {
		return fmt.Errorf("--model %s: %w", f.file, err)
	}
	if f.threads > 0 {
		prev := runtime.GOMAXPROCS(f.threads)
		bp.SetThreads(f.threads)
		defer func() {
			runtime.GOMAXPROCS(prev)
			bp.SetThreads(0)
		}()
	}
	loss, tokens, err := train.EvalText(model, tc.Vocab, corpus, tc.Config.Context, tc.Config.Batch)
	if err != nil {
		return fmt.Errorf("--model %s: %w", f.file, err)
	}
	w := cmd.OutOrStdout()
	if f.jsonOut {
		return json.NewEncoder(w).Encode(evalTextJSON{ValLoss: loss, Tokens: tokens})
	}
	fmt.Fprintf(w, "%s (%s, step %d): validation loss %.4f (perplexity %.2f, %.3f bits per byte) over %d held-out tokens\n",
		tc.Config.Model, f.file, st.Step, loss, math.Exp(loss), loss/math.Ln2, tokens)
	return nil
}
