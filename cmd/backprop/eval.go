package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
)

func init() { register(newEvalCmd) }

type evalFlags struct {
	file     string
	dataName string
	dataDir  string
	jsonOut  bool
	testSize int
	threads  int
}

func newEvalCmd() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval --model FILE [flags]",
		Short: "Report a trained model's test accuracy and confusion matrix",
		Long: `eval loads a checkpoint written by backprop train, builds the model it names,
and reports its accuracy on the test set and the confusion matrix (rows: the
true class, columns: the predicted one), with each class's recall.

The checkpoint names its model and its data set, so --model FILE is all eval
needs for MNIST. --data-dir reads the test set from another folder, and
--data evaluates on another data set of the same shape (Fashion-MNIST, say,
loads as mnist from its folder).

--json prints one object instead, for scripts:
  {"accuracy": 0.9791, "n": 10000, "confusion": [[974, 0, ...], ...]}`,
		Example: `  backprop eval --model runs/mnist-mlp.safetensors
  backprop eval --model runs/mnist-cnn.safetensors --json | jq .accuracy`,
		Args: noArgs("eval"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEval(cmd, &f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.file, "model", "", "checkpoint `file` of the model to evaluate (required)")
	fs.StringVar(&f.dataName, "data", "", "data set: "+strings.Join(train.DataNames(), " or ")+" (default: the checkpoint's)")
	fs.StringVar(&f.dataDir, "data-dir", "", "`folder` of the data set's files (default: as for train)")
	fs.BoolVar(&f.jsonOut, "json", false, `print one JSON object {"accuracy", "n", "confusion"}`)
	fs.IntVar(&f.testSize, "test-size", 0, "evaluate the first `N` test examples only (0: all)")
	fs.IntVar(&f.threads, "threads", 0, "cores to use (default: all, GOMAXPROCS)")
	return cmd
}

// evalJSON is the --json output.
type evalJSON struct {
	Accuracy  float64 `json:"accuracy"`
	N         int     `json:"n"`
	Confusion [][]int `json:"confusion"`
}

func runEval(cmd *cobra.Command, f *evalFlags) error {
	if f.file == "" {
		return errors.New("eval needs --model FILE, a checkpoint written by backprop train")
	}
	if err := checkThreads(cmd, f.threads); err != nil {
		return err
	}
	if f.testSize < 0 {
		return fmt.Errorf("--test-size %d: want 0 (all) or more", f.testSize)
	}
	st, err := checkpoint.LoadState(f.file)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	// NaN weights would give a "mean loss NaN" and chance accuracy, and
	// exit 0 as if that were a result.
	if err := checkpoint.CheckFinite(st.Model); err != nil {
		return fmt.Errorf("--model %s: %w", f.file, err)
	}
	if train.IsText(st) {
		return runEvalText(cmd, f, st)
	}
	name := st.ModelName
	if name == "" {
		return fmt.Errorf("--model %s: the file names no model (it has no backprop.model metadata), so it was not written by backprop train", f.file)
	}
	if !slices.Contains(nn.ModelNames(), name) {
		return fmt.Errorf("--model %s: the checkpoint is of the model %q, which eval does not know (it knows %s)", f.file, name, strings.Join(nn.ModelNames(), ", "))
	}
	dataName := f.dataName
	if dataName == "" {
		dataName = "mnist"
		if cfg, err := train.ConfigOf(st); err == nil {
			dataName = cfg.Data
		}
	}
	if !slices.Contains(train.DataNames(), dataName) {
		return fmt.Errorf("--data %q: want one of %s", dataName, strings.Join(train.DataNames(), ", "))
	}

	if f.threads > 0 {
		prev := runtime.GOMAXPROCS(f.threads)
		bp.SetThreads(f.threads)
		defer func() {
			runtime.GOMAXPROCS(prev)
			bp.SetThreads(0)
		}()
	}
	testSet, err := train.LoadTestData(dataName, f.dataDir)
	if err != nil {
		return err
	}
	if f.testSize > 0 {
		if f.testSize > testSet.Len() {
			return fmt.Errorf("--test-size %d: the test set has only %d examples", f.testSize, testSet.Len())
		}
		testSet = testSet.Slice(0, f.testSize)
	}
	model, err := nn.NewModel(name, testSet.ExampleShape(), testSet.Classes(), bp.NewRNG(0))
	if err != nil {
		return fmt.Errorf("--model %s: %w", f.file, err)
	}
	if err := nn.LoadStateDict(model, st.Model); err != nil {
		return fmt.Errorf("--model %s: the weights do not fit a %s for %s data: %s", f.file, name, dataName, firstErrors(err, 3))
	}
	nn.Eval(model)
	loss, err := nn.LossFor(name)
	if err != nil {
		return fmt.Errorf("--model %s: %w", f.file, err)
	}
	r := train.Evaluate(model, loss, testSet, testSet.Classes())

	w := cmd.OutOrStdout()
	if f.jsonOut {
		enc := json.NewEncoder(w)
		return enc.Encode(evalJSON{Accuracy: r.Accuracy(), N: r.N, Confusion: r.Confusion})
	}
	fmt.Fprintf(w, "%s on the %s test set (%s, epoch %d): accuracy %.2f%% (%d of %d), mean loss %.4f\n\n",
		name, dataName, f.file, st.Epoch, 100*r.Accuracy(), r.Correct, r.N, r.Loss)
	var names []string
	if dataName == "cifar10" {
		names = data.CIFAR10Classes[:]
	}
	writeConfusion(w, r.Confusion, names)
	return nil
}

// writeConfusion prints the confusion matrix with a recall column (the
// fraction of each true class predicted correctly).
func writeConfusion(w io.Writer, conf [][]int, names []string) {
	width := 3
	for _, row := range conf {
		for _, v := range row {
			width = max(width, len(fmt.Sprint(v)))
		}
	}
	label := func(i int) string {
		if i < len(names) {
			return fmt.Sprintf("%d %s", i, names[i])
		}
		return fmt.Sprint(i)
	}
	lw := len("true\\pred")
	for i := range conf {
		lw = max(lw, len(label(i)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s", lw, "true\\pred")
	for j := range conf {
		fmt.Fprintf(&b, " %*d", width, j)
	}
	b.WriteString("   recall\n")
	for i, row := range conf {
		fmt.Fprintf(&b, "%-*s", lw, label(i))
		total := 0
		for _, v := range row {
			fmt.Fprintf(&b, " %*d", width, v)
			total += v
		}
		if total > 0 {
			fmt.Fprintf(&b, "  %6.2f%%\n", 100*float64(row[i])/float64(total))
		} else {
			b.WriteString("        -\n")
		}
	}
	io.WriteString(w, b.String())
}

// firstErrors shortens a joined error to its first n parts, saying how
// many more there were.
func firstErrors(err error, n int) string {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(lines[:n], "; "), len(lines)-n)
}
