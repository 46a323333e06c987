package train

import (
	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
)

// EvalResult is a model's score on a data set.
type EvalResult struct {
	N       int     // examples
	Correct int     // examples whose largest logit is at their label
	Loss    float64 // the mean loss per example; 0 without a loss function
	// Confusion[i][j] counts the examples of class i predicted as class j,
	// so its diagonal holds the correct ones.
	Confusion [][]int
}

// Accuracy is the fraction of examples classified correctly (0 for none).
func (r EvalResult) Accuracy() float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.Correct) / float64(r.N)
}

// Evaluate runs model over ds in evaluation mode, in batches of EvalBatch
// and without recording a graph (the inputs are marked NoGrad), and
// returns its accuracy, mean loss (when loss is not nil) and confusion
// matrix over classes. A model in training mode is put in evaluation mode
// for the pass and back afterwards; one already in evaluation mode is only
// read, so several goroutines may evaluate it at once.
func Evaluate(model nn.Module, loss nn.LossFunc, ds data.Dataset, classes int) EvalResult {
	r := EvalResult{Confusion: make([][]int, classes)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, classes)
	}
	if ds.Len() == 0 {
		return r
	}
	if m, ok := model.(interface{ Training() bool }); ok && m.Training() {
		nn.Eval(model)
		defer nn.Train(model)
	}
	var lossSum float64
	ld := &data.Loader{Dataset: ds, BatchSize: EvalBatch}
	pool := bp.NewPool()
	defer pool.Release()
	for b := range ld.Epoch(0) {
		logits := model.Forward(b.X.NoGrad().InPool(pool))
		if loss != nil {
			lossSum += loss(logits, b.Y).Item() * float64(b.Size())
		}
		pred := logits.ArgMax(1).Ints()
		for i, y := range b.Y.I64() {
			r.Confusion[y][pred[i]]++
			if int(y) == pred[i] {
				r.Correct++
			}
		}
		r.N += b.Size()
		pool.Reset()
	}
	r.Loss = lossSum / float64(r.N)
	return r
}
