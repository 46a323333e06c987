package backprop

import (
	"cmp"
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
// in blocks of sumBlock: a float32 sum of millions of values stays accurate
// to float32 precision, and the result is bit-for-bit the same for a
// transposed, sliced or contiguous copy of the same values.

// keepShape is shape with the given (normalized) axes set to 1.
func keepShape(shape, axes []int) []int {
	ks := slices.Clone(shape)
	for _, a := range axes {
		ks[a] = 1
	}
	return ks
}

// dropShape is shape without the given (normalized, sorted) axes.
func dropShape(shape, axes []int) []int {
	var out []int
	for i, s := range shape {
		if !slices.Contains(axes, i) {
			out = append(out, s)
		}
	}
	return out
}

// reduceAxes normalizes the axes of a reduction (none means all). A 0-d
// tensor accepts axis 0 or -1, as PyTorch does, and reduces nothing.
func reduceAxes(op string, axes []int, nd int) []int {
	if nd > 0 {
		return normAxes(op, axes, nd)
	}
	for i, a := range axes {
		if a != 0 && a != -1 {
			panic(fmt.Sprintf("backprop: %s: axis %d out of range for 0 dimensions (a scalar accepts 0 or -1)", op, a))
		}
		if i > 0 {
			panic(fmt.Sprintf("backprop: %s: axis 0 given twice", op))
		}
	}
	return nil
}

// sumBlock is the number of consecutive inputs of one output that are
// summed before the partial sum joins the total: the rounding error then
// grows with sumBlock + n/sumBlock rather than with n.
const sumBlock = 1024

// reducePlan is the walk of a reduction over one input layout. Axes of
// length 1 are dropped, the rest ordered so the walk moves through memory
// with small steps (the reduced axes keep their relative order, so each
// output still sees its inputs in row-major order), and neighbours that
// are contiguous in both input and output are merged.
type reducePlan struct {
	size  []int // axis lengths, outermost first
	inSt  []int // input strides
	outSt []int // output strides, 0 on reduced axes
	rSt   []int // strides of r, the index among an output's inputs; 0 on kept axes

	innerRed bool  // the innermost axis is reduced: each run feeds one output
	offset   int   // the input's offset
	empty    bool  // the input has no elements
	keep     []int // output shape with reduced axes of length 1
	nOut     int   // number of outputs
	nRed     int   // number of inputs per output
}

func newReducePlan(a *Tensor, ax []int) *reducePlan {
	nd := len(a.shape)
	red := make([]bool, nd)
	for _, d := range ax {
		red[d] = true
	}
	keep := keepShape(a.shape, ax)
	outSt := contiguousStrides(keep)
	p := &reducePlan{keep: keep, offset: a.offset, nOut: numel(keep), empty: a.Numel() == 0}
	rSt := make([]int, nd)
	n := 1
	for d := nd - 1; d >= 0; d-- {
		if red[d] {
			rSt[d] = n
			n *= a.shape[d]
		}
	}
	p.nRed = n

	var redAx, keptAx []int
	for d, s := range a.shape {
		switch {
		case s == 1:
		case red[d]:
			redAx = append(redAx, d)
		default:
			keptAx = append(keptAx, d)
		}
	}
	absSt := func(d int) int { return max(a.strides[d], -a.strides[d]) }
	slices.SortStableFunc(keptAx, func(i, j int) int { return cmp.Compare(absSt(j), absSt(i)) })
	// Merge the two lists, larger strides first; on a tie the kept axis goes
	// outside so that each run feeds one output.
	order := make([]int, 0, len(redAx)+len(keptAx))
	for len(redAx) > 0 || len(keptAx) > 0 {
		if len(keptAx) == 0 || (len(redAx) > 0 && absSt(redAx[0]) > absSt(keptAx[0])) {
			order, redAx = append(order, redAx[0]), redAx[1:]
		} else {
			order, keptAx = append(order, keptAx[0]), keptAx[1:]
		}
	}
	var isRed []bool
	for _, d := range order {
		sz, is, os, rs := a.shape[d], a.strides[d], outSt[d], rSt[d]
		if red[d] {
			os = 0
		}
		if m := len(p.size) - 1; m >= 0 && isRed[m] == red[d] &&
			p.inSt[m] == is*sz && p.outSt[m] == os*sz && p.rSt[m] == rs*sz {
			p.size[m] *= sz
			p.inSt[m], p.outSt[m], p.rSt[m] = is, os, rs
			continue
		}
		p.size = append(p.size, sz)
		p.inSt = append(p.inSt, is)
		p.outSt = append(p.outSt, os)
		p.rSt = append(p.rSt, rs)
		isRed = append(isRed, red[d])
	}
	if len(p.size) == 0 { // a single element
		p.size, p.inSt, p.outSt, p.rSt = []int{1}, []int{0}, []int{0}, []int{0}
		isRed = []bool{true}
	}
	p.innerRed = isRed[len(isRed)-1]
	return p
}

// each calls fn once per run of the innermost axis, with the input offset
// and stride, the output offset and stride, and r, the index among the
// reduced elements of the run's first input. When p.innerRed the run is n
// inputs of output pout with indices r, r+1, ...; otherwise it is one input
// (index r) of each of n outputs.
func (p *reducePlan) each(fn func(pin, sin, pout, sout, r, n int)) {
	if p.empty {
		return
	}
	last := len(p.size) - 1
	n, sin, sout := p.size[last], p.inSt[last], p.outSt[last]
	idx := make([]int, last)
	pin, pout, r := p.offset, 0, 0
	for {
		fn(pin, sin, pout, sout, r, n)
		d := last - 1
		for ; d >= 0; d-- {
			idx[d]++
			pin += p.inSt[d]
			pout += p.outSt[d]
			r += p.rSt[d]
			if idx[d] < p.size[d] {
				break
			}
			pin -= p.inSt[d] * p.size[d]
			pout -= p.outSt[d] * p.size[d]
			r -= p.rSt[d] * p.size[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

type sumMode uint8

const (
	sumPlain sumMode = iota // Σ x
	sumSqDev                // Σ (x - c)²
	sumExp                  // Σ exp(x - c)
)

// sums returns the per-output sums of a (float) in float64, in the order
// described at the top of the file. center holds c per output for the
// modes that use it.
func (p *reducePlan) sums(a *Tensor, mode sumMode, center []float64) []float64 {
	if a.dtype == Float32 {
		return reduceSums(p, a.f32, mode, center)
	}
	return reduceSums(p, a.f64, mode, center)
}

func reduceSums[T kernels.Float](p *reducePlan, x []T, mode sumMode, center []float64) []float64 {
	total := make([]float64, p.nOut)
	part := make([]float64, p.nOut)
	p.each(func(pin, sin, pout, sout, r, n int) {
		if p.innerRed {
			acc := part[pout]
			for n > 0 {
				m := min(n, sumBlock-r%sumBlock)
				switch mode {
				case sumPlain:
					acc = kernels.SumRun(x, pin, sin, m, acc)
				case sumSqDev:
					acc = kernels.SumSqDevRun(x, pin, sin, m, center[pout], acc)
				default:
					acc = kernels.SumExpRun(x, pin, sin, m, center[pout], acc)
				}
				pin, n, r = pin+m*sin, n-m, r+m
				if r%sumBlock == 0 {
					total[pout] += acc
					acc = 0
				}
			}
			part[pout] = acc
			return
		}
		switch mode {
		case sumPlain:
			kernels.AccumCol(part, pout, sout, x, pin, sin, n)
		case sumSqDev:
			kernels.AccumSqDevCol(part, pout, sout, x, pin, sin, n, center)
		default:
			kernels.AccumExpCol(part, pout, sout, x, pin, sin, n, center)
		}
		if (r+1)%sumBlock == 0 {
			for i := range n {
				o := pout + i*sout
				total[o] += part[o]
				part[o] = 0
			}
		}
	})
	for i, v := range part {
		total[i] += v
	}
	return total
}

// extremes returns the per-output maximum (or minimum) of a, NaN where an
// input is NaN. p.nRed must be positive.
func (p *reducePlan) extremes(a *Tensor, isMax bool) *Tensor {
	out := empty(a.dtype, p.keep)
	if a.dtype == Float32 {
		reduceExtremes(p, a.f32, out.f32, isMax)
	} else {
		reduceExtremes(p, a.f64, out.f64, isMax)
	}
	return out
}

func reduceExtremes[T kernels.Float](p *reducePlan, x, out []T, isMax bool) {
	p.each(func(pin, sin, pout, sout, r, n int) {
		if p.innerRed {
			acc := out[pout]
			if r == 0 {
				acc = x[pin]
			}
			if isMax {
				out[pout] = kernels.MaxRun(x, pin, sin, n, acc)
			} else {
				out[pout] = kernels.MinRun(x, pin, sin, n, acc)
			}
			return
		}
		if isMax {
			kernels.MaxCol(out, pout, sout, x, pin, sin, n, r == 0)
		} else {
			kernels.MinCol(out, pout, sout, x, pin, sin, n, r == 0)
		}
	})
}

// valuesTensor makes a tensor of dtype dt and the given shape from float64
// values, which it owns (Float64) or rounds (Float32).
func valuesTensor(dt DType, shape []int, v []float64) *Tensor {
	shape = cloneInts(shape)
	t := &Tensor{dtype: dt, shape: shape, strides: contiguousStrides(shape)}
	if dt == Float64 {
		t.f64 = v
		return t
	}
	t.f32 = make([]float32, len(v))
	for i, x := range v {
		t.f32[i] = float32(x)
	}
	return t
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
	shape = cloneInts(shape)
	return t.view(shape, contiguousStrides(shape), t.offset)
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
	ax := reduceAxes("Sum", axes, len(a.shape))
	p := newReducePlan(a, ax)
	out := valuesTensor(a.dtype, p.outShape(a.shape, ax, keep), p.sums(a, sumPlain, nil))
	inShape, ks := a.shape, p.keep
	return record("Sum", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Reshape(ks...).Expand(inShape...)}
	})
}

// Mean averages over axes (all when none), dropping them. The mean of an
// empty axis is NaN, as in PyTorch.
func (a *Tensor) Mean(axes ...int) *Tensor { return a.mean(axes, false) }

// MeanKeep is Mean keeping the reduced axes with length 1.
func (a *Tensor) MeanKeep(axes ...int) *Tensor { return a.mean(axes, true) }

func (a *Tensor) mean(axes []int, keep bool) *Tensor {
	a.mustFloat("Mean")
	ax := reduceAxes("Mean", axes, len(a.shape))
	p := newReducePlan(a, ax)
	v := p.sums(a, sumPlain, nil)
	n := float64(p.nRed)
	for i := range v {
		v[i] /= n // rounded once, for float32 too
	}
	out := valuesTensor(a.dtype, p.outShape(a.shape, ax, keep), v)
	inShape, ks := a.shape, p.keep
	return record("Mean", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Reshape(ks...).DivScalar(n).Expand(inShape...)}
	})
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
	p := newReducePlan(a, ax)
	mean := p.sums(a, sumPlain, nil)
	for i := range mean {
		mean[i] /= float64(p.nRed)
	}
	v := p.sums(a, sumSqDev, mean)
	div := float64(max(0, p.nRed-correction))
	for i := range v {
		v[i] /= div
	}
	out := valuesTensor(a.dtype, p.outShape(a.shape, ax, keepdim), v)
	ks := p.keep
	return record("Var", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		// d/dx Σ(x-m)²/div = 2(x-m)/div: the mean's own derivative drops
		// out because the deviations sum to zero. Written with the mean as
		// an op, so that the second derivative keeps that term.
		x := c.Input(0)
		dev := x.Sub(x.MeanKeep(ax...))
		return []*Tensor{g.Reshape(ks...).MulScalar(2 / div).Mul(dev)}
	})
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
	p := newReducePlan(a, ax)
	mustNonEmpty(op, p, a.shape, ax)
	out := p.extremes(a, isMax)
	if !keep {
		out = withShape(out, dropShape(a.shape, ax))
	}
	ks := p.keep
	return record(op, out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		w := extremumWeights(c.Input(0).Detach(), c.Output().Detach().Reshape(ks...), ax)
		return []*Tensor{g.Reshape(ks...).Mul(w)}
	})
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
	p := newReducePlan(mask, ax)
	count := valuesTensor(mask.dtype, p.keep, p.sums(mask, sumPlain, nil))
	binaryInto(mask, mask, count, divT[float32], divT[float64])
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
	ax := reduceAxes(op, []int{axis}, len(a.shape))
	p := newReducePlan(a, ax)
	mustNonEmpty(op, p, a.shape, ax)
	out := empty(Int64, dropShape(a.shape, ax))
	switch a.dtype {
	case Float32:
		reduceArg(p, a.f32, out.i64, isMax)
	case Float64:
		reduceArg(p, a.f64, out.i64, isMax)
	default:
		reduceArg(p, a.i64, out.i64, isMax)
	}
	return out
}

func reduceArg[T kernels.Ordered](p *reducePlan, x []T, idx []int64, isMax bool) {
	var best []T
	if !p.innerRed {
		best = make([]T, p.nOut)
	}
	p.each(func(pin, sin, pout, sout, r, n int) {
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

// logSumExpValues returns log Σ exp(x) per output in float64, shifted by
// each output's maximum so no term overflows. An infinite maximum is not
// used as the shift (it would make inf - inf), which gives -inf for an
// output whose inputs are all -inf and inf when one is +inf, as PyTorch.
func logSumExpValues(a *Tensor, p *reducePlan) []float64 {
	shift := make([]float64, p.nOut)
	if p.nRed > 0 {
		m := p.extremes(a, true)
		for i := range shift {
			if v := m.getFlat(i); !math.IsInf(v, 0) {
				shift[i] = v
			}
		}
	}
	s := p.sums(a, sumExp, shift)
	for i := range s {
		s[i] = math.Log(s[i]) + shift[i]
	}
	return s
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
	p := newReducePlan(a, ax)
	out := valuesTensor(a.dtype, p.outShape(a.shape, ax, keep), logSumExpValues(a, p))
	ks := p.keep
	return record("LogSumExp", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Reshape(ks...).Mul(softmaxAxes(c.Input(0), ax))}
	})
}

// mapKeep returns f(x, c) elementwise over a, where c is a float64 per
// output of a reduction with keep shape keep (broadcast along the reduced
// axes). It computes in float64 and rounds once.
func mapKeep(a *Tensor, keep []int, c []float64, f func(x, c float64) float64) *Tensor {
	out := empty(a.dtype, a.shape)
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
