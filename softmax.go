package backprop

import "math"

// Softmax and LogSoftmax. Both shift by the maximum along the axis before
// exponentiating, so large inputs do not overflow; the reductions inside
// them are those of reduce.go (float64 sums, fixed order).

// Softmax returns exp(x) / Σ exp(x) along axis (negative counts from the
// end), computed stably: every slice along axis sums to 1.
func (a *Tensor) Softmax(axis int) *Tensor {
	a.mustFloat("Softmax")
	return softmaxAxes(a, reduceAxes("Softmax", []int{axis}, len(a.shape)))
}

// softmaxAxes is the softmax over several (normalized) axes at once; it is
// the gradient of LogSumExp over them.
func softmaxAxes(a *Tensor, ax []int) *Tensor {
	p := newReducePlan(a, ax)
	var out *Tensor
	if p.empty {
		out = empty(a.dtype, a.shape)
	} else {
		m := p.extremes(a, true)
		shift := make([]float64, p.nOut)
		for i := range shift {
			shift[i] = m.getFlat(i)
		}
		out = mapKeep(a, p.keep, shift, func(x, c float64) float64 { return math.Exp(x - c) })
		q := newReducePlan(out, ax)
		s := q.sums(out, sumPlain, nil)
		out = mapKeep(out, p.keep, s, func(e, s float64) float64 { return e / s })
	}
	return record("Softmax", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		// The Jacobian of y = softmax(x) is diag(y) - y yᵀ on each slice,
		// so the VJP is y * (g - Σ g y). y is the op's own output, so the
		// formula is differentiable again through this same node.
		y := c.Output()
		return []*Tensor{y.Mul(g.Sub(g.Mul(y).SumKeep(ax...)))}
	})
}

// LogSoftmax returns x - log Σ exp(x) along axis, computed stably (it
// stays finite where Softmax would round to 0: LogSoftmax of [1000, 0] is
// [0, -1000]). Use it rather than Softmax followed by a log.
func (a *Tensor) LogSoftmax(axis int) *Tensor {
	a.mustFloat("LogSoftmax")
	ax := reduceAxes("LogSoftmax", []int{axis}, len(a.shape))
	p := newReducePlan(a, ax)
	out := mapKeep(a, p.keep, logSumExpValues(a, p), func(x, lse float64) float64 { return x - lse })
	return record("LogSoftmax", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		// y = x - lse(x), so dy/dx = I - softmax(x) 1ᵀ on each slice.
		return []*Tensor{g.Sub(softmaxAxes(c.Input(0), ax).Mul(g.SumKeep(ax...)))}
	})
}
