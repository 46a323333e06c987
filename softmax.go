package backprop

import (
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Softmax and LogSoftmax. Both shift by the maximum along the axis before
// exponentiating, so large inputs do not overflow; the reductions inside
// them are those of reduce.go (float64 sums, fixed order). Over the last
// axis of a contiguous tensor, the usual case, each row is done in one
// sweep (on several goroutines for large tensors), computing exactly what
// the general path computes, so the result does not depend on the layout.

// Softmax returns exp(x) / Σ exp(x) along axis (negative counts from the
// end), computed stably: every slice along axis sums to 1.
func (a *Tensor) Softmax(axis int) *Tensor {
	a.mustFloat("Softmax")
	return softmaxAxes(a, reduceAxes("Softmax", []int{axis}, len(a.shape)))
}

// softmaxAxes is the softmax over several (normalized) axes at once; it is
// the gradient of LogSumExp over them.
func softmaxAxes(a *Tensor, ax []int) *Tensor {
	var out *Tensor
	if rows, n, ok := lastAxisRows(a, ax); ok {
		out = rawIn(poolOf("Softmax", a), a.dtype, a.shape)
		softmaxInto(out, a, rows, n, false)
	} else {
		var p reducePlan
		x := p.init("Softmax", a, ax)
		if p.empty {
			out = newIn(poolOf("Softmax", a), a.dtype, a.shape)
		} else {
			m := p.extremes("Softmax", x, true)
			shift := getF64(p.nOut)
			for i := range shift {
				shift[i] = m.getFlat(i)
			}
			exp, norm := softmaxExp64, softmaxNorm64
			if a.dtype == Float32 {
				exp, norm = softmaxExp32, softmaxNorm32
			}
			out = mapKeep("Softmax", a, p.keep, shift, exp)
			var q reducePlan
			q.init("Softmax", out, ax)
			q.sums(out, sumPlain, nil, shift)
			out = mapKeep("Softmax", out, p.keep, shift, norm)
			putF64(shift)
		}
	}
	return record("Softmax", out, []*Tensor{a}, softmaxGrad(ax))
}

// softmaxGrad is the derivative of Softmax.
func softmaxGrad(ax []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		// The Jacobian of y = softmax(x) is diag(y) - y yᵀ on each slice,
		// so the VJP is y * (g - Σ g y). y is the op's own output, so the
		// formula is differentiable again through this same node.
		y := c.Output()
		return c.one(y.Mul(g.Sub(g.Mul(y).SumKeep(ax...))))
	}
}

// LogSoftmax returns x - log Σ exp(x) along axis, computed stably (it
// stays finite where Softmax would round to 0: LogSoftmax of [1000, 0] is
// [0, -1000]). Use it rather than Softmax followed by a log.
func (a *Tensor) LogSoftmax(axis int) *Tensor {
	a.mustFloat("LogSoftmax")
	ax := reduceAxes("LogSoftmax", []int{axis}, len(a.shape))
	var out *Tensor
	if rows, n, ok := lastAxisRows(a, ax); ok {
		out = rawIn(poolOf("LogSoftmax", a), a.dtype, a.shape)
		softmaxInto(out, a, rows, n, true)
	} else if a.dtype == Float32 && a.Numel() > 0 {
		out = logSoftmax32(a, ax)
	} else {
		var p reducePlan
		x := p.init("LogSoftmax", a, ax)
		lse := getF64(p.nOut)
		logSumExpValues("LogSoftmax", x, &p, lse)
		out = mapKeep("LogSoftmax", a, p.keep, lse, func(x, lse float64) float64 { return x - lse })
		putF64(lse)
	}
	return record("LogSoftmax", out, []*Tensor{a}, logSoftmaxGrad(ax))
}

// logSoftmaxGrad is the derivative of LogSoftmax.
func logSoftmaxGrad(ax []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		// y = x - lse(x), so dy/dx = I - softmax(x) 1ᵀ on each slice.
		return c.one(g.Sub(softmaxAxes(c.Input(0), ax).Mul(g.SumKeep(ax...))))
	}
}

// lastAxisRows reports whether a reduction over ax is one over the last
// axis of a contiguous a, and then its rows and row length.
func lastAxisRows(a *Tensor, ax []int) (rows, n int, ok bool) {
	nd := len(a.shape)
	if nd == 0 || len(ax) != 1 || ax[0] != nd-1 || !a.IsContiguous() || a.Numel() == 0 {
		return 0, 0, false
	}
	n = a.shape[nd-1]
	return a.Numel() / n, n, true
}

// eachRows calls fn on ranges of rows of n elements, on several goroutines
// when there are many elements (callers call fn(0, rows) themselves when
// bigRows is false, so that small ops build no closure). Rows are
// independent, so the split changes nothing in the result.
func eachRows(rows, n int, fn func(r0, r1 int)) {
	if !bigRows(rows, n) {
		fn(0, rows)
		return
	}
	tasks := min(rows, blocks(rows*n))
	kernels.Parallel(tasks, func(t int) {
		r0, r1 := taskRange(rows, t, tasks)
		fn(r0, r1)
	})
}

// softmaxInto writes the (log-)softmax of the rows of the contiguous a into
// out.
func softmaxInto(out, a *Tensor, rows, n int, log bool) {
	switch {
	case !bigRows(rows, n) && a.dtype == Float32:
		softmaxRows(a.f32[a.offset:], out.f32, 0, rows, n, log)
	case !bigRows(rows, n):
		softmaxRows(a.f64[a.offset:], out.f64, 0, rows, n, log)
	case a.dtype == Float32:
		x, o := a.f32[a.offset:], out.f32
		eachRows(rows, n, func(r0, r1 int) { softmaxRows(x, o, r0, r1, n, log) })
	default:
		x, o := a.f64[a.offset:], out.f64
		eachRows(rows, n, func(r0, r1 int) { softmaxRows(x, o, r0, r1, n, log) })
	}
}

// bigRows reports whether rows of n elements are worth several goroutines.
func bigRows(rows, n int) bool { return rows*n > parallelElems && rows > 1 }

// The elementwise steps of the general Softmax path. float32 uses the
// operations of softmaxRows32 (its arguments are float32 values, so the
// conversions back are exact); float64 computes in float64.
func softmaxExp64(x, m float64) float64    { return math.Exp(x - m) }
func softmaxNorm64(e, s float64) float64   { return e / s }
func softmaxExp32(x, m float64) float64    { return float64(kernels.Exp32(float32(x) - float32(m))) }
func softmaxNorm32(e, s float64) float64   { return float64(float32(e) * float32(1/s)) }
func logSoftmaxSub32(x, c float64) float64 { return float64(float32(x) - float32(c)) }

// logSoftmax32 is the general LogSoftmax path for a non-empty float32
// tensor, with the operations of softmaxRows32: (x - m) - log Σ e^(x-m),
// each step in float32 but the sum (in float64, as reduce.go adds). Its
// exponentials are Exp32 ones, so it cannot use logSumExpValues.
func logSoftmax32(a *Tensor, ax []int) *Tensor {
	var p reducePlan
	x := p.init("LogSoftmax", a, ax)
	m := p.extremes("LogSoftmax", x, true)
	c := getF64(p.nOut)
	defer putF64(c)
	for i := range c {
		c[i] = float64(logSoftmaxShift(float32(m.getFlat(i))))
	}
	e := mapKeep("LogSoftmax", a, p.keep, c, softmaxExp32)
	t := mapKeep("LogSoftmax", a, p.keep, c, logSoftmaxSub32)
	var q reducePlan
	q.init("LogSoftmax", e, ax)
	q.sums(e, sumPlain, nil, c)
	for i := range c {
		c[i] = float64(float32(math.Log(c[i])))
	}
	return mapKeep("LogSoftmax", t, p.keep, c, logSoftmaxSub32)
}

// logSoftmaxShift is the shift of a log-softmax slice whose maximum is m:
// an infinite m is not used (it would make inf - inf), which gives -inf
// for a slice of -inf values and NaN where +inf meets +inf, as the float64
// path.
func logSoftmaxShift(m float32) float32 {
	if math.IsInf(float64(m), 0) {
		return 0
	}
	return m
}

// softmaxRows writes the softmax (or with log, the log-softmax) of rows
// r0..r1-1 of x (rows of n, contiguous) into out, with the very operations
// of the general path: the shift is the row's maximum, exponentials are
// computed in float64, the sums are blockedSum's. float32 rows go to
// softmaxRows32.
func softmaxRows[T kernels.Float](x, out []T, r0, r1, n int, log bool) {
	if x32, ok := any(x).([]float32); ok {
		softmaxRows32(x32, any(out).([]float32), r0, r1, n, log)
		return
	}
	for r := r0; r < r1; r++ {
		row := x[r*n : r*n+n]
		dst := out[r*n : r*n+n]
		m := float64(kernels.MaxRun(row, 0, 1, n, row[0]))
		if log {
			shift := m
			if math.IsInf(shift, 0) {
				shift = 0
			}
			lse := math.Log(blockedSum(row, 0, 1, n, sumExp, shift)) + shift
			for i, v := range row {
				dst[i] = T(float64(v) - lse)
			}
			continue
		}
		for i, v := range row {
			dst[i] = T(math.Exp(float64(v) - m))
		}
		s := blockedSum(dst, 0, 1, n, sumPlain, 0)
		for i, e := range dst {
			dst[i] = T(float64(e) / s)
		}
	}
}

// softmaxRows32 is softmaxRows for float32, vectorized: e = Exp32(x - m)
// into out, then its float64 sum, then one float32 step per value (a
// product by the rounded reciprocal, or (x - m) - log sum: PyTorch's
// order, which keeps the result's relative precision where it is near 0).
func softmaxRows32(x, out []float32, r0, r1, n int, log bool) {
	var c [1]float32
	for r := r0; r < r1; r++ {
		row := x[r*n : r*n+n]
		dst := out[r*n : r*n+n]
		m := kernels.MaxRun(row, 0, 1, n, row[0])
		if log {
			m = logSoftmaxShift(m)
		}
		kernels.ExpShiftF32(dst, row, m)
		s := blockedSum(dst, 0, 1, n, sumPlain, 0)
		if !log {
			c[0] = float32(1 / s)
			kernels.MulRun(dst, dst, 0, 1, c[:], 0, 0)
			continue
		}
		c[0] = m
		kernels.SubRun(dst, row, 0, 1, c[:], 0, 0)
		c[0] = float32(math.Log(s))
		kernels.SubRun(dst, dst, 0, 1, c[:], 0, 0)
	}
}
