package backprop

import (
	"fmt"
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// CrossEntropyFromLogits returns the softmax cross-entropy of logits
// [N, C] against Int64 class labels [N] (each in [0, C)), averaged over the
// batch: the mean over i of -log softmax(logits[i])[labels[i]], which is
// torch.nn.functional.cross_entropy with its defaults. The mean of an empty
// batch is NaN.
//
// It is one op rather than LogSoftmax, Gather, Neg and Mean: the forward
// pass reads the logits once per row (max, then log Σ exp in float64,
// shifted so nothing overflows) and keeps only each row's log-sum-exp; the
// backward pass writes (softmax(logits) - onehot(labels)) · g / N in one
// sweep. With CreateGraph its backward is written with differentiable ops
// instead, so the loss can be differentiated twice. labels take no part in
// differentiation.
func CrossEntropyFromLogits(logits, labels *Tensor) *Tensor {
	const op = "CrossEntropyFromLogits"
	mustTensors(op, logits, labels)
	logits.mustFloat(op)
	if len(logits.shape) != 2 {
		panic(fmt.Sprintf("backprop: %s: logits of shape %v, want [N, C]", op, logits.shape))
	}
	n, c := logits.shape[0], logits.shape[1]
	if labels.dtype != Int64 || len(labels.shape) != 1 || labels.shape[0] != n {
		panic(fmt.Sprintf("backprop: %s: labels are %v of shape %v, want int64 [%d] for logits of shape %v", op, labels.dtype, labels.shape, n, logits.shape))
	}
	pool := poolOf(op, logits, labels)
	lab := labels.contiguousData()
	y := lab.i64[lab.offset : lab.offset+n]
	for _, v := range y {
		if v < 0 || v >= int64(c) {
			panic(fmt.Sprintf("backprop: %s: label %d out of range for %d classes (logits shape %v)", op, v, c, logits.shape))
		}
	}
	x := logits.contiguousData()
	lse := rawIn(pool, Float64, []int{n})
	loss := getF64(n)
	l := lse.f64
	switch {
	case !bigRows(n, c) && x.dtype == Float32:
		crossEntropyRows(x.f32[x.offset:], y, l, loss, 0, n, c)
	case !bigRows(n, c):
		crossEntropyRows(x.f64[x.offset:], y, l, loss, 0, n, c)
	case x.dtype == Float32:
		xs := x.f32[x.offset:]
		eachRows(n, c, func(r0, r1 int) { crossEntropyRows(xs, y, l, loss, r0, r1, c) })
	default:
		xs := x.f64[x.offset:]
		eachRows(n, c, func(r0, r1 int) { crossEntropyRows(xs, y, l, loss, r0, r1, c) })
	}
	total := 0.0
	for _, v := range loss {
		total += v
	}
	putF64(loss)
	out := rawIn(pool, logits.dtype, nil)
	out.setFlat(0, total/float64(n))
	return recordSaved(op, out, []*Tensor{logits}, []*Tensor{lab, lse}, func(ctx *BackwardContext, g *Tensor) []*Tensor {
		if ctx.CreateGraph() {
			x := ctx.Input(0)
			oneHot := newIn(poolOf(op, x, g), x.dtype, x.shape)
			for i, v := range ctx.Saved(0).I64() {
				oneHot.setFlat(i*c+int(v), 1)
			}
			return ctx.one(x.Softmax(1).Sub(oneHot).Mul(g).DivScalar(float64(n)))
		}
		return ctx.one(crossEntropyGrad(ctx.n.inputs[0], ctx.Saved(0), ctx.Saved(1), g))
	})
}

// crossEntropyRows computes rows r0..r1-1: each row's log-sum-exp into lse
// and its loss, lse - x[label], into loss.
func crossEntropyRows[T kernels.Float](x []T, y []int64, lse, loss []float64, r0, r1, c int) {
	for r := r0; r < r1; r++ {
		row := x[r*c : r*c+c]
		shift := float64(kernels.MaxRun(row, 0, 1, c, row[0]))
		if math.IsInf(shift, 0) {
			shift = 0
		}
		l := math.Log(blockedSum(row, 0, 1, c, sumExp, shift)) + shift
		lse[r] = l
		loss[r] = l - float64(row[y[r]])
	}
}

// crossEntropyGrad is the first-order backward of CrossEntropyFromLogits:
// (exp(x - lse) - onehot) · g / N, one row at a time.
func crossEntropyGrad(logits, labels, lse, g *Tensor) *Tensor {
	n, c := logits.shape[0], logits.shape[1]
	x := logits.contiguousData()
	out := rawIn(poolOf("CrossEntropyFromLogits", g, x), x.dtype, x.shape)
	scale := g.Item() / float64(n)
	y := labels.i64[labels.offset : labels.offset+n]
	l := lse.f64[lse.offset : lse.offset+n]
	switch {
	case !bigRows(n, c) && x.dtype == Float32:
		crossEntropyGradRows(x.f32[x.offset:], out.f32, y, l, scale, 0, n, c)
	case !bigRows(n, c):
		crossEntropyGradRows(x.f64[x.offset:], out.f64, y, l, scale, 0, n, c)
	case x.dtype == Float32:
		xs, o := x.f32[x.offset:], out.f32
		eachRows(n, c, func(r0, r1 int) { crossEntropyGradRows(xs, o, y, l, scale, r0, r1, c) })
	default:
		xs, o := x.f64[x.offset:], out.f64
		eachRows(n, c, func(r0, r1 int) { crossEntropyGradRows(xs, o, y, l, scale, r0, r1, c) })
	}
	return out
}

func crossEntropyGradRows[T kernels.Float](x, out []T, y []int64, lse []float64, scale float64, r0, r1, c int) {
	for r := r0; r < r1; r++ {
		row, dst := x[r*c:r*c+c], out[r*c:r*c+c]
		l := lse[r]
		for i, v := range row {
			dst[i] = T(math.Exp(float64(v)-l) * scale)
		}
		k := y[r]
		dst[k] = T((math.Exp(float64(row[k])-l) - 1) * scale)
	}
}
