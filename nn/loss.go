package nn

import (
	"fmt"
	"math"
	"slices"

	bp "github.com/gobackprop/backprop"
)

// Losses are plain functions of tensors, compositions of the root
// package's ops, so their gradients come from the engine (and every one is
// gradchecked all the same). Like torch they average over the batch unless
// told otherwise.

// Reduction says how a loss combines its per-example values. It is the
// root package's type, so a reduction passes unchanged between nn's losses
// and backprop.CrossEntropy.
type Reduction = bp.Reduction

// The reductions of torch's reduction= argument. The zero value is the
// mean, torch's default.
const (
	ReduceMean = bp.ReduceMean // average over examples
	ReduceSum  = bp.ReduceSum  // sum over examples
	ReduceNone = bp.ReduceNone // one value per example
)

func reduce(op string, per *bp.Tensor, r Reduction) *bp.Tensor {
	switch r {
	case ReduceMean:
		return per.Mean()
	case ReduceSum:
		return per.Sum()
	case ReduceNone:
		return per
	}
	panic(fmt.Sprintf("nn: %s: unknown reduction %d", op, r))
}

// CrossEntropyOptions are the options of CrossEntropyWith.
type CrossEntropyOptions struct {
	// LabelSmoothing ε in [0, 1] mixes the one-hot target with the uniform
	// distribution: the target is (1-ε) on the label plus ε/C everywhere,
	// as torch's label_smoothing.
	LabelSmoothing float64
	Reduction      Reduction
}

// CrossEntropy is the softmax cross-entropy of logits [N, C] against Int64
// labels [N], averaged over N: mean of -log softmax(logits)[i, labels[i]].
// It is computed from logits with LogSoftmax and Gather, so it stays finite
// for any logits (never take the log of a Softmax). It matches
// torch.nn.functional.cross_entropy.
func CrossEntropy(logits, labels *bp.Tensor) *bp.Tensor {
	return CrossEntropyWith(logits, labels, CrossEntropyOptions{})
}

// CrossEntropyWith is CrossEntropy with label smoothing and a choice of
// reduction. With smoothing ε the loss of an example is
// (1-ε)·(-log p[label]) + (ε/C)·Σ_c (-log p[c]).
func CrossEntropyWith(logits, labels *bp.Tensor, opt CrossEntropyOptions) *bp.Tensor {
	n, c := checkClassification("CrossEntropy", logits, labels)
	eps := opt.LabelSmoothing
	if !(eps >= 0 && eps <= 1) {
		panic(fmt.Sprintf("nn: CrossEntropy: label smoothing %v is not in [0, 1]", eps))
	}
	if eps == 0 && opt.Reduction != ReduceNone && n > 0 {
		// The fused op: one pass forward, (softmax - onehot)/N backward.
		loss := bp.CrossEntropyFromLogits(logits, labels)
		if opt.Reduction == ReduceSum {
			loss = loss.MulScalar(float64(n))
		}
		return loss
	}
	logp := logits.LogSoftmax(1)
	per := logp.Gather(1, labels.Reshape(n, 1)).Reshape(n).Neg()
	if eps > 0 {
		smooth := logp.Sum(1).Neg()
		per = per.MulScalar(1 - eps).Add(smooth.MulScalar(eps / float64(c)))
	}
	return reduce("CrossEntropy", per, opt.Reduction)
}

// SVMLoss is the multiclass SVM (hinge) loss of cs231n with margin 1; see
// Hinge.
func SVMLoss(scores, labels *bp.Tensor) *bp.Tensor { return Hinge(scores, labels, 1) }

// Hinge is the multiclass SVM loss of scores [N, C] against Int64 labels
// [N]: for each example, Σ_{j ≠ y} max(0, s_j - s_y + margin), averaged
// over N (cs231n's form; torch's MultiMarginLoss also divides by C).
func Hinge(scores, labels *bp.Tensor, margin float64) *bp.Tensor {
	n, _ := checkClassification("Hinge", scores, labels)
	sy := scores.Gather(1, labels.Reshape(n, 1))
	// The j = y term would add max(0, margin); a constant mask drops it.
	others := bp.OnesLike(scores).ScatterAdd(1, labels.Reshape(n, 1), bp.FullLike(sy, -1))
	return scores.Sub(sy).AddScalar(margin).ReLU().Mul(others).Sum(1).Mean()
}

// MSE is the mean squared error between pred and target, which must have
// the same shape (torch.nn.functional.mse_loss).
func MSE(pred, target *bp.Tensor) *bp.Tensor {
	if !slices.Equal(pred.Shape(), target.Shape()) {
		panic(fmt.Sprintf("nn: MSE: prediction of shape %v, target of shape %v", pred.Shape(), target.Shape()))
	}
	return pred.Sub(target).Square().Mean()
}

// BCEWithLogits is the binary cross-entropy of sigmoid(logits) against
// targets in [0, 1] of the same shape, averaged over every element
// (torch.nn.functional.binary_cross_entropy_with_logits). It is computed
// from the logits as softplus(x) - x·t, where softplus(x) = log(1 + e^x)
// is evaluated stably, so it never overflows or takes the log of 0; its
// gradient is sigmoid(x) - t.
func BCEWithLogits(logits, targets *bp.Tensor) *bp.Tensor {
	if !slices.Equal(logits.Shape(), targets.Shape()) {
		panic(fmt.Sprintf("nn: BCEWithLogits: logits of shape %v, targets of shape %v", logits.Shape(), targets.Shape()))
	}
	return Softplus(logits).Sub(logits.Mul(targets)).Mean()
}

var softplus = bp.Function{
	Name: "Softplus",
	Forward: func(in ...*bp.Tensor) (*bp.Tensor, []*bp.Tensor) {
		x := in[0]
		v := x.Float64s()
		for i, xi := range v {
			// log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, and
			// full precision where e^x is tiny.
			v[i] = math.Max(xi, 0) + math.Log1p(math.Exp(-math.Abs(xi)))
		}
		return bp.FromFloat64s(v, x.Shape()...).To(x.DType()), nil
	},
	Backward: func(c *bp.BackwardContext, g *bp.Tensor) []*bp.Tensor {
		return []*bp.Tensor{g.Mul(c.Input(0).Sigmoid())}
	},
}

// Softplus returns log(1 + e^x) elementwise, computed stably; its
// derivative is sigmoid(x).
func Softplus(x *bp.Tensor) *bp.Tensor {
	if !x.DType().IsFloat() {
		panic(fmt.Sprintf("nn: Softplus: needs a float tensor, got %v of shape %v", x.DType(), x.Shape()))
	}
	return softplus.Apply(x)
}

// L2Penalty returns 0.5·lambda·Σ w² over the given parameters, whose
// gradient lambda·w is exactly what torch.optim.SGD(weight_decay=lambda)
// adds to each gradient (and Adam's weight_decay, not AdamW's decoupled
// decay). cs231n writes reg·Σ w², which is this with lambda = 2·reg. Pass
// only the weights to leave biases unregularized, as cs231n does. With no
// parameters it is a float32 zero.
func L2Penalty(params []bp.Param, lambda float64) *bp.Tensor {
	var s *bp.Tensor
	for _, p := range params {
		t := p.T.Square().Sum()
		if s == nil {
			s = t
		} else {
			s = s.Add(t)
		}
	}
	if s == nil {
		return bp.Scalar(0)
	}
	return s.MulScalar(0.5 * lambda)
}

// Correct counts the rows of logits [N, C] whose largest value is at the
// label's position (the first one, where several tie).
func Correct(logits, labels *bp.Tensor) int {
	checkClassification("Correct", logits, labels)
	pred := logits.ArgMax(1).Ints()
	k := 0
	for i, y := range labels.Ints() {
		if pred[i] == y {
			k++
		}
	}
	return k
}

// Accuracy is the fraction of rows of logits [N, C] that Correct counts (0
// for an empty batch).
func Accuracy(logits, labels *bp.Tensor) float64 {
	n := labels.Numel()
	if n == 0 {
		checkClassification("Accuracy", logits, labels)
		return 0
	}
	return float64(Correct(logits, labels)) / float64(n)
}

// checkClassification checks scores [N, C] against Int64 labels [N] with
// every label in [0, C), and returns N and C.
func checkClassification(op string, scores, labels *bp.Tensor) (n, c int) {
	if scores.Dim() != 2 || !scores.DType().IsFloat() {
		panic(fmt.Sprintf("nn: %s: scores are %v of shape %v, want float [N, C]", op, scores.DType(), scores.Shape()))
	}
	n, c = scores.Size(0), scores.Size(1)
	if labels.DType() != bp.Int64 || labels.Dim() != 1 || labels.Size(0) != n {
		panic(fmt.Sprintf("nn: %s: labels are %v of shape %v, want int64 [%d] for scores of shape %v", op, labels.DType(), labels.Shape(), n, scores.Shape()))
	}
	for i, y := range labels.Ints() {
		if y < 0 || y >= c {
			panic(fmt.Sprintf("nn: %s: label %d of example %d is out of range for %d classes", op, y, i, c))
		}
	}
	return n, c
}
