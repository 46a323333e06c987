package backprop

import (
	"fmt"
	"slices"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Linear returns x·wᵀ + b, as torch.nn.functional.linear: x is [..., in], w
// is [out, in] and b is [out], or nil for no bias; the result is
// [..., out]. The bias is where the product starts: the result is filled
// with it and the GEMM adds x·wᵀ on top (beta = 1, as PyTorch's addmm),
// which saves a pass over the result and a node. Its gradient is the sum of
// the upstream gradient over the rows.
func Linear(x, w, b *Tensor) *Tensor {
	checkBinary("Linear", x, w)
	if len(w.shape) != 2 || len(x.shape) == 0 || x.shape[len(x.shape)-1] != w.shape[1] {
		panic(fmt.Sprintf("backprop: Linear: input of shape %v and weight of shape %v: want [..., in] and [out, in]", x.shape, w.shape))
	}
	if b == nil {
		return x.MatMul(w.T())
	}
	checkBinary("Linear", x, b)
	if len(b.shape) != 1 || b.shape[0] != w.shape[0] {
		panic(fmt.Sprintf("backprop: Linear: bias of shape %v for weight of shape %v: want [%d]", b.shape, w.shape, w.shape[0]))
	}
	in, outF := w.shape[1], w.shape[0]
	switch len(x.shape) {
	case 1:
		return Linear(x.Unsqueeze(0), w, b).Squeeze(0)
	case 2:
	default:
		lead := x.shape[:len(x.shape)-1]
		y := Linear(x.Reshape(-1, in), w, b)
		return y.Reshape(slices.Concat(lead, []int{outF})...)
	}
	n := x.shape[0]
	out := rawIn(poolOf("Linear", x, w, b), x.dtype, []int{n, outF})
	fillRows(out, b)
	gemm2d(out, x, w.transposed(), n, outF, in, 1)
	return recordRule(ruleLinear, out, x, w, b)
}

// linearGrad: d(x·wᵀ + b) is g·w for x, gᵀ·x for w, and g itself for b
// (the engine sums it over the rows, as for any broadcast input).
func linearGrad(c *BackwardContext, g *Tensor) []*Tensor {
	var gx, gw *Tensor
	if c.NeedsGrad(0) {
		gx = g.MatMul(c.Input(1))
	}
	if c.NeedsGrad(1) {
		gw = g.Transpose(0, 1).MatMul(c.Input(0))
	}
	return c.three(gx, gw, g)
}

// linearGradFused is linearGrad on the GEMM kernel. A weight gradient that
// may go straight into the weight's Grad buffer is computed there.
func linearGradFused(c *BackwardContext, g *Tensor) []*Tensor {
	var gx, gw *Tensor
	x, w := c.InputValue(0), c.InputValue(1)
	if c.NeedsGrad(0) {
		gx = mm2d(g, w)
	}
	if c.NeedsGrad(1) {
		if buf := c.leafGradBuffer(1); buf != nil {
			gemm2d(buf, g.transposed(), x, w.shape[0], w.shape[1], x.shape[0], 0)
			gw = buf
		} else {
			gw = mm2d(g.transposed(), x)
		}
	}
	return c.three(gx, gw, g)
}

func init() {
	define(ruleLinear, derivative{op: "Linear", rule: linearGrad, fused: linearGradFused})
}

// fillRows sets every row of the contiguous matrix out to the vector b.
// out may be a view into a longer buffer: only its own rows, from its
// offset on, are written.
func fillRows(out, b *Tensor) {
	b = b.contiguousData()
	n := out.shape[1]
	lo, hi := out.offset, out.offset+out.Numel()
	if out.dtype == Float32 {
		src := b.f32[b.offset : b.offset+n]
		for r := lo; r < hi; r += n {
			copy(out.f32[r:r+n], src)
		}
		return
	}
	src := b.f64[b.offset : b.offset+n]
	for r := lo; r < hi; r += n {
		copy(out.f64[r:r+n], src)
	}
}

// gemm2d computes out = a·b + beta·out for the contiguous [m, n] out
// (beta 0 or 1: with k == 0 that is zeros or out as it is).
func gemm2d(out, a, b *Tensor, m, n, k int, beta float64) {
	if out.Numel() == 0 {
		return
	}
	if k == 0 {
		if beta == 0 {
			out.fill(0)
		}
		return
	}
	a, la := operandLayout(a)
	b, lb := operandLayout(b)
	if out.dtype == Float32 {
		kernels.Gemm(la.trans, lb.trans, m, n, k, 1, a.f32[a.offset:], la.ld, b.f32[b.offset:], lb.ld, float32(beta), out.f32[out.offset:], n)
	} else {
		kernels.Gemm(la.trans, lb.trans, m, n, k, 1, a.f64[a.offset:], la.ld, b.f64[b.offset:], lb.ld, beta, out.f64[out.offset:], n)
	}
}
