package backprop

import (
	"fmt"
	"math"
	"slices"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Reductions over any set of axes. With no axes they reduce over all of
// them; negative axes count from the end; an axis given twice panics. The
// ...Keep variants keep reduced axes with length 1 (PyTorch's keepdim), so
// the result broadcasts against the input.
//
// Every reduction visits each output's inputs in the row-major order of the
// reduced axes, whatever the input's layout, and sums accumulate in float64
// in blocks of sumBlock, in kernels.Lanes partial sums: a float32 sum of
// millions of values stays accurate to float32 precision, and the result is
// bit-for-bit the same for a transposed, sliced or contiguous copy of the
// same values. Large reductions share their outputs (or, for a single
// output, their blocks) among goroutines, which changes nothing in the
// result either: every addition's order is fixed by the shape alone.

// valuesInto writes float64 values into the contiguous float tensor t,
// rounding them once for float32.
func valuesInto(t *Tensor, v []float64) {
	if t.dtype == Float64 {
		copy(t.f64[t.offset:], v)
		return
	}
	d := t.f32[t.offset : t.offset+len(v)]
	for i, x := range v {
		d[i] = float32(x)
	}
}

// outShape is the shape of a reduction's result.
func (p *reducePlan) outShape(shape, ax []int, keep bool) []int {
	if keep {
		return p.keep
	}
	return dropShape(shape, ax)
}

// withShape returns a view of the contiguous tensor t with another shape of
// the same size, outside autograd.
func withShape(t *Tensor, shape []int) *Tensor {
	v := t.view(shape, nil, t.offset)
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		v.strides[i] = s
		s *= shape[i]
	}
	return v
}

// mustNonEmpty panics when a reduction that has no identity (max, argmax)
// would reduce an axis of length 0.
func mustNonEmpty(op string, p *reducePlan, shape, ax []int) {
	if p.nRed > 0 {
		return
	}
	for _, d := range ax {
		if shape[d] == 0 {
			panic(fmt.Sprintf("backprop: %s: cannot reduce axis %d of length 0 (shape %v)", op, d, shape))
		}
	}
}

// Sum sums over axes (all when none), dropping them. The sum of an empty
// axis is 0.
func (a *Tensor) Sum(axes ...int) *Tensor { return a.sum(axes, false) }

// SumKeep sums over axes (all when none), keeping them with length 1.
func (a *Tensor) SumKeep(axes ...int) *Tensor { return a.sum(axes, true) }

func (a *Tensor) sum(axes []int, keep bool) *Tensor {
	a.mustFloat("Sum")
	var buf [maxPlanDims]int
	ax := reduceAxesInto(buf[:0], "Sum", axes, len(a.shape))
	out := a.sumValues("Sum", ax, keep, 1)
	if !recording(out, a) {
		return out
	}
	inShape, ks := a.shape, keepShape(a.shape, ax)
	return record("Sum", out, []*Tensor{a}, sumGrad(ks, inShape))
}

// sumGrad is the derivative of Sum.
func sumGrad(ks []int, inShape []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.Reshape(ks...).Expand(inShape...))
	}
}

// keepShape is shape with the given (normalized) axes set to 1.
func keepShape(shape, axes []int) []int {
	ks := slices.Clone(shape)
	for _, a := range axes {
		ks[a] = 1
	}
	return ks
}

// sumValues returns the sums over ax divided by div (rounded once), not
// recorded.
func (a *Tensor) sumValues(op string, ax []int, keep bool, div float64) *Tensor {
	var p reducePlan
	x := p.init(op, a, ax)
	out := rawIn(poolOf(op, a), a.dtype, p.outShape(a.shape, ax, keep))
	v := getF64(p.nOut)
	p.sums(x, sumPlain, nil, v)
	if div != 1 {
		for i := range v {
			v[i] /= div
		}
	}
	valuesInto(out, v)
	putF64(v)
	return out
}

// Mean averages over axes (all when none), dropping them. The mean of an
// empty axis is NaN, as in PyTorch.
func (a *Tensor) Mean(axes ...int) *Tensor { return a.mean(axes, false) }

// MeanKeep is Mean keeping the reduced axes with length 1.
func (a *Tensor) MeanKeep(axes ...int) *Tensor { return a.mean(axes, true) }

func (a *Tensor) mean(axes []int, keep bool) *Tensor {
	a.mustFloat("Mean")
	var buf [maxPlanDims]int
	ax := reduceAxesInto(buf[:0], "Mean", axes, len(a.shape))
	n := 1
	for _, d := range ax {
		n *= a.shape[d]
	}
	nf := float64(n)
	out := a.sumValues("Mean", ax, keep, nf)
	if !recording(out, a) {
		return out
	}
	inShape, ks := a.shape, keepShape(a.shape, ax)
	return record("Mean", out, []*Tensor{a}, meanGrad(ks, nf, inShape))
}

// meanGrad is the derivative of Mean.
func meanGrad(ks []int, nf float64, inShape []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.Reshape(ks...).DivScalar(nf).Expand(inShape...))
	}
}

// Var is the unbiased variance over axes (all when none), dropping them:
// the sum of squared deviations from the mean divided by n-1, torch.var's
// default. See VarWith.
func (a *Tensor) Var(axes ...int) *Tensor { return a.VarWith(1, false, axes...) }

// VarKeep is Var keeping the reduced axes with length 1.
func (a *Tensor) VarKeep(axes ...int) *Tensor { return a.VarWith(1, true, axes...) }

// VarWith is the variance over axes (all when none) with the sum of squared
// deviations divided by max(0, n - correction): correction 1 is the
// unbiased estimate, 0 the population variance (what BatchNorm uses). When
// correction >= n the result is inf or NaN, as in PyTorch. keepdim keeps the
// reduced axes with length 1.
func (a *Tensor) VarWith(correction int, keepdim bool, axes ...int) *Tensor {
	a.mustFloat("Var")
	ax := reduceAxes("Var", axes, len(a.shape))
	var p reducePlan
	x := p.init("Var", a, ax)
	mean, v := getF64(p.nOut), getF64(p.nOut)
	p.sums(x, sumPlain, nil, mean)
	for i := range mean {
		mean[i] /= float64(p.nRed)
	}
	p.sums(x, sumSqDev, mean, v)
	div := float64(max(0, p.nRed-correction))
	for i := range v {
		v[i] /= div
	}
	out := rawIn(poolOf("Var", a), a.dtype, p.outShape(a.shape, ax, keepdim))
	valuesInto(out, v)
	putF64(mean)
	putF64(v)
	ks := p.keep
	return record("Var", out, []*Tensor{a}, varGrad(ax, ks, div))
}

// varGrad is the derivative of Var.
func varGrad(ax []int, ks []int, div float64) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		// d/dx Σ(x-m)²/div = 2(x-m)/div: the mean's own derivative drops
		// out because the deviations sum to zero. Written with the mean as
		// an op, so that the second derivative keeps that term.
		x := c.Input(0)
		dev := x.Sub(x.MeanKeep(ax...))
		return c.one(g.Reshape(ks...).MulScalar(2 / div).Mul(dev))
	}
}

// Max is the largest value over axes (all when none), dropping them
// (torch.amax). NaN propagates. The gradient is split evenly among tied
// maxima. Reducing an axis of length 0 panics.
func (a *Tensor) Max(axes ...int) *Tensor { return a.extremum("Max", true, axes, false) }

// MaxKeep is Max keeping the reduced axes with length 1.
func (a *Tensor) MaxKeep(axes ...int) *Tensor { return a.extremum("Max", true, axes, true) }

// Min is the smallest value over axes (all when none), dropping them
// (torch.amin); see Max.
func (a *Tensor) Min(axes ...int) *Tensor { return a.extremum("Min", false, axes, false) }

// MinKeep is Min keeping the reduced axes with length 1.
func (a *Tensor) MinKeep(axes ...int) *Tensor { return a.extremum("Min", false, axes, true) }

func (a *Tensor) extremum(op string, isMax bool, axes []int, keep bool) *Tensor {
	a.mustFloat(op)
	ax := reduceAxes(op, axes, len(a.shape))
	var p reducePlan
	x := p.init(op, a, ax)
	mustNonEmpty(op, &p, a.shape, ax)
	out := p.extremes(op, x, isMax)
	if !keep {
		out = withShape(out, dropShape(a.shape, ax))
	}
	ks := p.keep
	return record(op, out, []*Tensor{a}, extremumGrad(ks, ax))
}

// extremumGrad is the derivative of Max and Min: g shared among the inputs
// that equal their output.
func extremumGrad(ks []int, ax []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		w := extremumWeights(c.Input(0).Detach(), c.Output().Detach().Reshape(ks...), ax)
		return c.one(g.Reshape(ks...).Mul(w))
	}
}

// extremumWeights is where the gradient of a max or min goes: 1/k at each
// of the k inputs that equal their output (NaN matching NaN), 0 elsewhere.
// It is a constant: the choice of positions has no derivative.
func extremumWeights(x, yKeep *Tensor, ax []int) *Tensor {
	hit32 := func(v, m float32) float32 {
		if v == m || (v != v && m != m) {
			return 1
		}
		return 0
	}
	hit64 := func(v, m float64) float64 {
		if v == m || (v != v && m != m) {
			return 1
		}
		return 0
	}
	mask := binaryMap("Max", x, yKeep, hit32, hit64)
	count := mask.sumValues("Max", ax, true, 1)
	binaryInto(mask, mask, count, kernels.DivRun[float32], kernels.DivRun[float64])
	return mask
}

// ArgMax returns the index of the largest value along axis, which is
// dropped, as an Int64 tensor: the first index on ties, and the first NaN
// if there is one (as torch.argmax). It is not differentiable and never
// recorded. It works on Int64 tensors too. An axis of length 0 panics.
func (a *Tensor) ArgMax(axis int) *Tensor { return a.argExtremum("ArgMax", true, axis) }

// ArgMin is ArgMax for the smallest value.
func (a *Tensor) ArgMin(axis int) *Tensor { return a.argExtremum("ArgMin", false, axis) }

func (a *Tensor) argExtremum(op string, isMax bool, axis int) *Tensor {
	a.mustTensor(op)
	ax := reduceAxes(op, []int{axis}, len(a.shape))
	var p reducePlan
	x := p.init(op, a, ax)
	mustNonEmpty(op, &p, a.shape, ax)
	out := rawIn(poolOf(op, a), Int64, dropShape(a.shape, ax))
	switch a.dtype {
	case Float32:
		reduceArg(&p, x.f32, out.i64, isMax)
	case Float64:
		reduceArg(&p, x.f64, out.i64, isMax)
	default:
		reduceArg(&p, x.i64, out.i64, isMax)
	}
	out.noGrad = a.noGrad
	return out
}

func reduceArg[T kernels.Ordered](p *reducePlan, x []T, idx []int64, isMax bool) {
	var best []T
	if !p.innerRed {
		best = make([]T, p.nOut)
	}
	p.each(-1, 0, 0, func(pin, sin, pout, sout, r, n int) {
		switch {
		case p.innerRed && isMax:
			idx[pout] = int64(kernels.ArgMaxRun(x, pin, sin, n))
		case p.innerRed:
			idx[pout] = int64(kernels.ArgMinRun(x, pin, sin, n))
		case isMax:
			kernels.ArgMaxCol(best, idx, pout, sout, x, pin, sin, n, r)
		default:
			kernels.ArgMinCol(best, idx, pout, sout, x, pin, sin, n, r)
		}
	})
}

// logSumExpValues writes log Σ exp(x) per output into dst in float64,
// shifted by each output's maximum so no term overflows. An infinite
// maximum is not used as the shift (it would make inf - inf), which gives
// -inf for an output whose inputs are all -inf and inf when one is +inf, as
// PyTorch. x is the tensor p.init returned.
func logSumExpValues(op string, x *Tensor, p *reducePlan, dst []float64) {
	shift := getF64(p.nOut)
	defer putF64(shift)
	clear(shift)
	if p.nRed > 0 {
		m := p.extremes(op, x, true)
		for i := range shift {
			if v := m.getFlat(i); !math.IsInf(v, 0) {
				shift[i] = v
			}
		}
	}
	p.sums(x, sumExp, shift, dst)
	for i := range dst {
		dst[i] = math.Log(dst[i]) + shift[i]
	}
}

// LogSumExp is log Σ exp(x) over axes (all when none), dropping them,
// computed stably by shifting by the maximum. Its gradient is the softmax
// over the same axes. An empty axis gives -inf.
func (a *Tensor) LogSumExp(axes ...int) *Tensor { return a.logSumExp(axes, false) }

// LogSumExpKeep is LogSumExp keeping the reduced axes with length 1.
func (a *Tensor) LogSumExpKeep(axes ...int) *Tensor { return a.logSumExp(axes, true) }

func (a *Tensor) logSumExp(axes []int, keep bool) *Tensor {
	a.mustFloat("LogSumExp")
	ax := reduceAxes("LogSumExp", axes, len(a.shape))
	var p reducePlan
	x := p.init("LogSumExp", a, ax)
	v := getF64(p.nOut)
	logSumExpValues("LogSumExp", x, &p, v)
	out := rawIn(poolOf("LogSumExp", a), a.dtype, p.outShape(a.shape, ax, keep))
	valuesInto(out, v)
	putF64(v)
	ks := p.keep
	return record("LogSumExp", out, []*Tensor{a}, logSumExpGrad(ks, ax))
}

// logSumExpGrad is the derivative of LogSumExp.
func logSumExpGrad(ks []int, ax []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.Reshape(ks...).Mul(softmaxAxes(c.Input(0), ax)))
	}
}

// mapKeep returns f(x, c) elementwise over a, where c is a float64 per
// output of a reduction with keep shape keep (broadcast along the reduced
// axes). It computes in float64 and rounds once.
func mapKeep(op string, a *Tensor, keep []int, c []float64, f func(x, c float64) float64) *Tensor {
	out := rawIn(poolOf(op, a), a.dtype, a.shape)
	cs := contiguousStrides(keep)
	for d := range cs {
		if keep[d] == 1 {
			cs[d] = 0
		}
	}
	eachRun(a.shape, []int{0, a.offset, 0}, [][]int{out.strides, a.strides, cs}, func(p []int, n int, s []int) {
		if a.dtype == Float32 {
			dst := out.f32[p[0] : p[0]+n]
			for i := range dst {
				dst[i] = float32(f(float64(a.f32[p[1]+i*s[1]]), c[p[2]+i*s[2]]))
			}
			return
		}
		dst := out.f64[p[0] : p[0]+n]
		for i := range dst {
			dst[i] = f(a.f64[p[1]+i*s[1]], c[p[2]+i*s[2]])
		}
	})
	return out
}
