package nn

import (
	"fmt"
	"slices"

	bp "github.com/gobackprop/backprop"
)

// BatchNorm normalizes each channel (axis 1) over the batch and any spatial
// axes, then scales and shifts it by the learned Weight and Bias, as
// torch.nn.BatchNorm1d and BatchNorm2d do; the constructor decides which
// input ranks it accepts.
//
// In training mode it uses the batch's mean and biased variance (so the
// gradient flows through both), and updates the running statistics with
// the batch mean and the unbiased variance:
//
//	running = (1 - Momentum)·running + Momentum·batch
//
// In evaluation mode it uses the running statistics instead. Set Weight
// and Bias to nil for torch's affine=False.
type BatchNorm struct {
	Base
	Weight, Bias            *bp.Tensor // [C], initialized to 1 and 0
	RunningMean, RunningVar *bp.Tensor // [C], initialized to 0 and 1
	NumBatchesTracked       *bp.Tensor // int64 scalar: training batches seen
	Momentum, Eps           float64    // 0.1 and 1e-5, torch's defaults

	op    string // "BatchNorm1d" or "BatchNorm2d", for messages
	ranks []int  // input ranks accepted
}

// NewBatchNorm1d normalizes inputs [N, C] or [N, C, L] over N (and L).
func NewBatchNorm1d(channels int) *BatchNorm {
	return newBatchNorm("BatchNorm1d", channels, []int{2, 3})
}

// NewBatchNorm2d normalizes inputs [N, C, H, W] over N, H and W.
func NewBatchNorm2d(channels int) *BatchNorm {
	return newBatchNorm("BatchNorm2d", channels, []int{4})
}

func newBatchNorm(op string, c int, ranks []int) *BatchNorm {
	if c <= 0 {
		panic(fmt.Sprintf("nn: New%s: %d channels", op, c))
	}
	l := &BatchNorm{
		Weight:            bp.Ones(c),
		Bias:              bp.Zeros(c),
		RunningMean:       bp.Zeros(c),
		RunningVar:        bp.Ones(c),
		NumBatchesTracked: bp.Int64.Scalar(0),
		Momentum:          0.1,
		Eps:               1e-5,
		op:                op,
		ranks:             ranks,
	}
	l.AddParam("weight", &l.Weight)
	l.AddParam("bias", &l.Bias)
	l.AddBuffer("running_mean", &l.RunningMean)
	l.AddBuffer("running_var", &l.RunningVar)
	l.AddBuffer("num_batches_tracked", &l.NumBatchesTracked)
	return l
}

// Forward normalizes x. In training mode it also updates the running
// statistics, in place, even for a NoGrad input (as torch does under
// no_grad); a module in training mode is therefore not safe to share
// between goroutines.
func (l *BatchNorm) Forward(x *bp.Tensor) *bp.Tensor {
	c := l.RunningMean.Numel()
	if !slices.Contains(l.ranks, x.Dim()) || x.Size(1) != c {
		panic(fmt.Sprintf("nn: %s: input of shape %v, want %s with C = %d", l.op, x.Shape(), l.wantShape(), c))
	}
	checkDType(l.op, x, l.RunningMean)
	// Statistics are over every axis but the channels; per-channel vectors
	// broadcast as [1, C, 1, ...].
	axes := []int{0}
	bshape := []int{1, c}
	for d := 2; d < x.Dim(); d++ {
		axes = append(axes, d)
		bshape = append(bshape, 1)
	}
	var y *bp.Tensor
	if l.Training() {
		n := x.Numel() / c
		if n <= 1 {
			panic(fmt.Sprintf("nn: %s: training needs more than one value per channel, input has shape %v", l.op, x.Shape()))
		}
		mean := x.MeanKeep(axes...)
		v := x.VarWith(0, true, axes...)
		y = x.Sub(mean).Div(v.AddScalar(l.Eps).Sqrt())
		l.track(mean.Detach().Reshape(c), v.Detach().Reshape(c), n)
	} else {
		mean := l.RunningMean.Reshape(bshape...)
		v := l.RunningVar.Reshape(bshape...)
		y = x.Sub(mean).Div(v.AddScalar(l.Eps).Sqrt())
	}
	if l.Weight != nil {
		y = y.Mul(l.Weight.Reshape(bshape...))
	}
	if l.Bias != nil {
		y = y.Add(l.Bias.Reshape(bshape...))
	}
	return y
}

// track folds one batch's statistics into the running ones. v is the
// biased variance of n values per channel; the running variance takes the
// unbiased one, v·n/(n-1), as torch does.
func (l *BatchNorm) track(mean, v *bp.Tensor, n int) {
	m := l.Momentum
	unbiased := v.MulScalar(float64(n) / float64(n-1))
	l.RunningMean.CopyFrom(l.RunningMean.MulScalar(1 - m).Add(mean.MulScalar(m).To(l.RunningMean.DType())))
	l.RunningVar.CopyFrom(l.RunningVar.MulScalar(1 - m).Add(unbiased.MulScalar(m).To(l.RunningVar.DType())))
	if l.NumBatchesTracked != nil {
		l.NumBatchesTracked.I64()[0]++
	}
}

func (l *BatchNorm) wantShape() string {
	if l.op == "BatchNorm2d" {
		return "[N, C, H, W]"
	}
	return "[N, C] or [N, C, L]"
}

// LayerNorm normalizes each example over its last len(Shape) axes (the
// mean and biased variance of those values), then scales and shifts by the
// elementwise Weight and Bias of that shape, as torch.nn.LayerNorm does. It
// behaves the same in training and evaluation. Set Weight and Bias to nil
// for elementwise_affine=False.
type LayerNorm struct {
	Base
	Weight, Bias *bp.Tensor // Shape, initialized to 1 and 0
	Shape        []int      // normalized_shape
	Eps          float64    // 1e-5
}

// NewLayerNorm normalizes over trailing axes of the given shape.
func NewLayerNorm(shape ...int) *LayerNorm {
	if len(shape) == 0 {
		panic("nn: NewLayerNorm: empty normalized shape")
	}
	for _, s := range shape {
		if s <= 0 {
			panic(fmt.Sprintf("nn: NewLayerNorm: bad normalized shape %v", shape))
		}
	}
	l := &LayerNorm{Weight: bp.Ones(shape...), Bias: bp.Zeros(shape...), Shape: slices.Clone(shape), Eps: 1e-5}
	l.AddParam("weight", &l.Weight)
	l.AddParam("bias", &l.Bias)
	return l
}

// Forward normalizes x, whose trailing axes must equal Shape.
func (l *LayerNorm) Forward(x *bp.Tensor) *bp.Tensor {
	k := len(l.Shape)
	xs := x.Shape()
	if len(xs) < k || !slices.Equal(xs[len(xs)-k:], l.Shape) {
		panic(fmt.Sprintf("nn: LayerNorm: input of shape %v does not end in the normalized shape %v", xs, l.Shape))
	}
	checkDType("LayerNorm", x, l.Weight)
	return bp.LayerNorm(x, l.Shape, l.Weight, l.Bias, l.Eps)
}
