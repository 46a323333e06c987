package backprop

import (
	"fmt"
	"math"
	"slices"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Reduction says how a loss combines its per-element values, as PyTorch's
// reduction= argument. The zero value is the mean, PyTorch's default.
type Reduction int

const (
	ReduceMean Reduction = iota // the (weighted) mean
	ReduceSum                   // the sum
	ReduceNone                  // one value per target
)

// CrossEntropyOptions are the options of CrossEntropy. The zero value is
// torch.nn.functional.cross_entropy's defaults, except that no target is
// ignored unless Ignore is set (PyTorch ignores -100 by default, which is
// an error here).
type CrossEntropyOptions struct {
	// Weight, when set, is a [C] tensor of per-class weights (the logits'
	// dtype). It takes no part in differentiation.
	Weight *Tensor
	// With Ignore set, targets equal to IgnoreIndex contribute nothing to
	// the loss or its gradient, and do not count in the mean's divisor.
	Ignore      bool
	IgnoreIndex int64
	Reduction   Reduction
	// LabelSmoothing ε in [0, 1] mixes the target with the uniform
	// distribution over the C classes, as PyTorch's label_smoothing: the
	// loss is (1-ε)·(the loss above) + (ε/C)·Σ_c w[c]·(-log p_c), reduced
	// the same way (for class targets, the mean divides by the same sum of
	// weights).
	LabelSmoothing float64
}

// CrossEntropy is the softmax cross-entropy of logits against Int64 class
// targets with PyTorch's shapes and semantics: logits [N, C] with targets
// [N], logits [N, C, d1, ...] (the class axis is axis 1) with targets
// [N, d1, ...], or unbatched logits [C] with a 0-d target. Targets may also
// be class probabilities: a float tensor of the logits' shape, giving
// -Σ_c w[c]·t_c·log p_c per position (the mean divides by the number of
// positions; IgnoreIndex does not apply). Each class target t
// (in [0, C), or IgnoreIndex) gives the loss w[t]·(log Σ_c e^x_c - x_t),
// w[t] being its class weight (1 without Weight, 0 when ignored). The mean
// divides their sum by the sum of the weights of the targets not ignored
// (NaN when that is zero, as in PyTorch); ReduceNone returns the losses in
// the targets' shape.
//
// Class targets are computed by one fused op over the rows of classes (as
// CrossEntropyFromLogits, which it calls for the plain [N, C] mean), so
// the softmax is never materialized in the forward pass; label smoothing
// and probability targets add a LogSoftmax. Second derivatives work.
func CrossEntropy(logits, target *Tensor, opt CrossEntropyOptions) *Tensor {
	const op = "CrossEntropy"
	logits.mustFloat(op)
	nd := len(logits.shape)
	if nd == 0 {
		panic(fmt.Sprintf("backprop: %s: logits are 0-d; want [C], [N, C] or [N, C, d1, ...]", op))
	}
	if target.dtype != Int64 && (target.dtype != logits.dtype || !slices.Equal(target.shape, logits.shape)) {
		panic(fmt.Sprintf("backprop: %s: targets are %v of shape %v; want int64 class indices, or %v probabilities of the logits' shape %v", op, target.dtype, target.shape, logits.dtype, logits.shape))
	}
	if eps := opt.LabelSmoothing; !(eps >= 0 && eps <= 1) {
		panic(fmt.Sprintf("backprop: %s: label smoothing %v is not in [0, 1]", op, eps))
	}
	var want []int
	c := logits.shape[0]
	if nd > 1 {
		c = logits.shape[1]
		want = slices.Concat(logits.shape[:1], logits.shape[2:])
	}
	if target.dtype != Int64 {
		return crossEntropyProbs(logits, target, opt, c, want)
	}
	if !slices.Equal(target.shape, want) {
		panic(fmt.Sprintf("backprop: %s: targets of shape %v for logits of shape %v; want shape %v", op, target.shape, logits.shape, want))
	}
	if w := opt.Weight; w != nil {
		if w.dtype != logits.dtype || len(w.shape) != 1 || w.shape[0] != c {
			panic(fmt.Sprintf("backprop: %s: weight is %v of shape %v; want %v [%d]", op, w.dtype, w.shape, logits.dtype, c))
		}
	}
	if opt.Reduction < ReduceMean || opt.Reduction > ReduceNone {
		panic(fmt.Sprintf("backprop: %s: unknown reduction %d", op, opt.Reduction))
	}
	if nd == 2 && opt.Weight == nil && !opt.Ignore && opt.Reduction == ReduceMean && opt.LabelSmoothing == 0 && c > 0 {
		return CrossEntropyFromLogits(logits, target)
	}
	rows := classRows(logits, c)
	m := rows.shape[0]
	tg := target.contiguousData()
	y := tg.i64[tg.offset : tg.offset+m]
	w := make([]float64, m)
	den := 0.0
	var cw *Tensor
	if opt.Weight != nil {
		cw = opt.Weight.contiguousData()
	}
	for r, t := range y {
		if opt.Ignore && t == opt.IgnoreIndex {
			continue
		}
		if t < 0 || t >= int64(c) {
			panic(fmt.Sprintf("backprop: %s: target %d out of range for %d classes (logits shape %v)", op, t, c, logits.shape))
		}
		w[r] = 1
		if cw != nil {
			w[r] = cw.getFlat(cw.offset + int(t))
		}
		den += w[r]
	}
	per := crossEntropyWeightedRows(rows, y, w)
	if eps := opt.LabelSmoothing; eps > 0 {
		// The uniform part: -Σ_c w[c]·log p_c on the rows not ignored.
		keep := newIn(poolOf(op, rows), rows.dtype, []int{m, 1})
		for r, t := range y {
			if !opt.Ignore || t != opt.IgnoreIndex {
				keep.setFlat(r, 1)
			}
		}
		lp := rows.LogSoftmax(1).Mul(keep)
		if opt.Weight != nil {
			lp = lp.Mul(opt.Weight.Detach())
		}
		per = per.MulScalar(1 - eps).Sub(lp.Sum(1).MulScalar(eps / float64(c)))
	}
	return reduceLoss(per, opt.Reduction, den, want)
}

// reduceLoss applies the reduction to the per-position losses: the mean
// divides by den.
func reduceLoss(per *Tensor, r Reduction, den float64, shape []int) *Tensor {
	switch r {
	case ReduceSum:
		return per.Sum()
	case ReduceNone:
		return per.Reshape(shape...)
	}
	return per.Sum().DivScalar(den)
}

// classRows returns logits as rows of classes, [M, C] with the class axis
// last: [C] is one row, [N, C] is itself, and [N, C, d1, ...] has its class
// axis moved last.
func classRows(logits *Tensor, c int) *Tensor {
	nd := len(logits.shape)
	switch {
	case nd == 1:
		return logits.Reshape(1, c)
	case nd > 2:
		perm := make([]int, 0, nd)
		perm = append(perm, 0)
		for i := 2; i < nd; i++ {
			perm = append(perm, i)
		}
		perm = append(perm, 1)
		return logits.Permute(perm...).Reshape(-1, c)
	}
	return logits
}

// crossEntropyProbs is CrossEntropy against class probabilities, written
// with differentiable ops (in the logits and in the targets).
func crossEntropyProbs(logits, target *Tensor, opt CrossEntropyOptions, c int, shape []int) *Tensor {
	rows, t := classRows(logits, c), classRows(target, c)
	if eps := opt.LabelSmoothing; eps > 0 {
		t = t.MulScalar(1 - eps).AddScalar(eps / float64(c))
	}
	lp := rows.LogSoftmax(1).Mul(t)
	if opt.Weight != nil {
		lp = lp.Mul(opt.Weight.Detach())
	}
	return reduceLoss(lp.Sum(1).Neg(), opt.Reduction, float64(rows.shape[0]), shape)
}

// crossEntropyWeightedRows returns the [M] losses w[r]·(lse(x_r) - x_r[y_r])
// of the rows of x [M, C] (rows with w[r] = 0 give 0 and need no valid
// target).
func crossEntropyWeightedRows(logits *Tensor, y []int64, w []float64) *Tensor {
	const op = "CrossEntropy"
	m, c := logits.shape[0], logits.shape[1]
	pool := poolOf(op, logits)
	x := logits.contiguousData()
	out := rawIn(pool, logits.dtype, []int{m})
	lse := rawIn(pool, Float64, []int{m})
	l := lse.f64
	loss := getF64(m)
	if x.dtype == Float32 {
		xs := x.f32[x.offset:]
		eachRows(m, c, func(r0, r1 int) { crossEntropyWeightedFwd(xs, y, w, l, loss, r0, r1, c) })
	} else {
		xs := x.f64[x.offset:]
		eachRows(m, c, func(r0, r1 int) { crossEntropyWeightedFwd(xs, y, w, l, loss, r0, r1, c) })
	}
	for r, v := range loss {
		out.setFlat(r, v)
	}
	putF64(loss)
	return recordSaved(op, out, []*Tensor{logits}, []*Tensor{lse}, func(ctx *BackwardContext, g *Tensor) []*Tensor {
		if ctx.CreateGraph() {
			xi := ctx.Input(0)
			target := newIn(poolOf(op, xi, g), xi.dtype, xi.shape)
			scale := newIn(poolOf(op, xi, g), xi.dtype, []int{m, 1})
			for r, v := range w {
				if v != 0 {
					target.setFlat(r*c+int(y[r]), 1)
					scale.setFlat(r, v)
				}
			}
			return ctx.one(xi.Softmax(1).Sub(target).Mul(scale).Mul(g.Reshape(m, 1)))
		}
		return ctx.one(crossEntropyWeightedGrad(ctx.n.inputs[0], y, w, ctx.Saved(0), g))
	})
}

func crossEntropyWeightedFwd[T kernels.Float](x []T, y []int64, w, lse, loss []float64, r0, r1, c int) {
	for r := r0; r < r1; r++ {
		if w[r] == 0 || c == 0 {
			lse[r], loss[r] = 0, 0
			continue
		}
		row := x[r*c : r*c+c]
		shift := float64(kernels.MaxRun(row, 0, 1, c, row[0]))
		if math.IsInf(shift, 0) {
			shift = 0
		}
		l := math.Log(blockedSum(row, 0, 1, c, sumExp, shift)) + shift
		lse[r] = l
		loss[r] = w[r] * (l - float64(row[y[r]]))
	}
}

// crossEntropyWeightedGrad is the first-order backward:
// (softmax(x_r) - onehot(y_r))·w[r]·g[r], row by row.
func crossEntropyWeightedGrad(logits *Tensor, y []int64, w []float64, lse, g *Tensor) *Tensor {
	m, c := logits.shape[0], logits.shape[1]
	x := logits.contiguousData()
	gc := g.contiguousData()
	out := rawIn(poolOf("CrossEntropy", g, x), x.dtype, x.shape)
	gs := getF64(m)
	for r := range gs {
		gs[r] = gc.getFlat(gc.offset+r) * w[r]
	}
	l := lse.f64[lse.offset : lse.offset+m]
	if x.dtype == Float32 {
		xs, o := x.f32[x.offset:], out.f32
		eachRows(m, c, func(r0, r1 int) { crossEntropyWeightedBwd(xs, o, y, gs, l, r0, r1, c) })
	} else {
		xs, o := x.f64[x.offset:], out.f64
		eachRows(m, c, func(r0, r1 int) { crossEntropyWeightedBwd(xs, o, y, gs, l, r0, r1, c) })
	}
	putF64(gs)
	return out
}

func crossEntropyWeightedBwd[T kernels.Float](x, out []T, y []int64, gs, lse []float64, r0, r1, c int) {
	for r := r0; r < r1; r++ {
		dst := out[r*c : r*c+c]
		scale := gs[r]
		if scale == 0 {
			clear(dst)
			continue
		}
		row := x[r*c : r*c+c]
		l := lse[r]
		for i, v := range row {
			dst[i] = T(math.Exp(float64(v)-l) * scale)
		}
		k := y[r]
		dst[k] = T((math.Exp(float64(row[k])-l) - 1) * scale)
	}
}
