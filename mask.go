package backprop

import (
	"fmt"
)

// Masks: triangular parts of matrices and filling by a mask, the pieces a
// causal attention is written with.
//
// Masks are plain tensors. The library has no bool dtype, so an op that
// reads a mask (MaskedFill, Where, an attention mask) takes a tensor of
// any dtype and treats every nonzero element as true (NaN is nonzero), as
// Where does; Int64 0/1 tensors are the usual choice, and the comparisons
// (Gt, Eq, ...) and Tril/Triu of Ones make them.

// Tril returns the lower triangle of the last two axes of a (a batch of
// matrices over the leading axes), as torch.tril: element (i, j) is kept
// where j - i <= diagonal and zero elsewhere. diagonal 0 keeps the main
// diagonal, a positive one keeps as many diagonals above it and a negative
// one drops as many below. Any dtype; differentiable for floats (the
// gradient is Tril of the upstream gradient).
func (a *Tensor) Tril(diagonal int) *Tensor { return triangle("Tril", a, diagonal, true) }

// Triu returns the upper triangle of the last two axes of a, as torch.triu:
// element (i, j) is kept where j - i >= diagonal and zero elsewhere. See
// Tril.
func (a *Tensor) Triu(diagonal int) *Tensor { return triangle("Triu", a, diagonal, false) }

func triangle(op string, a *Tensor, diagonal int, lower bool) *Tensor {
	a.mustTensor(op)
	nd := len(a.shape)
	if nd < 2 {
		panic(fmt.Sprintf("backprop: %s: tensor of shape %v has fewer than 2 dimensions", op, a.shape))
	}
	out := rawIn(poolOf(op, a), a.dtype, a.shape)
	out.copyFrom(a.contiguousData())
	rows, cols := a.shape[nd-2], a.shape[nd-1]
	mats := 0
	if rows*cols > 0 {
		mats = a.Numel() / (rows * cols)
	}
	for m := range mats {
		base := m * rows * cols
		for i := range rows {
			// The zeroed columns of row i: j > i+diagonal (Tril) or
			// j < i+diagonal (Triu).
			lo, hi := 0, cols
			if lower {
				lo = min(max(i+diagonal+1, 0), cols)
			} else {
				hi = min(max(i+diagonal, 0), cols)
			}
			p := base + i*cols
			switch out.dtype {
			case Float32:
				clear(out.f32[p+lo : p+hi])
			case Float64:
				clear(out.f64[p+lo : p+hi])
			default:
				clear(out.i64[p+lo : p+hi])
			}
		}
	}
	if !a.dtype.IsFloat() {
		out.noGrad = a.noGrad
		return out
	}
	return record(op, out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(triangle(op, g, diagonal, lower))
	})
}

// MaskedFill returns a copy of a with value wherever mask is nonzero, as
// torch.Tensor.masked_fill (out of place). mask has any dtype (see the
// note on masks above), takes no part in differentiation, and must
// broadcast to a's shape, which is the result's. The gradient flows to a
// where mask is zero.
func (a *Tensor) MaskedFill(mask *Tensor, value float64) *Tensor {
	mustTensors("MaskedFill", a, mask)
	a.mustFloat("MaskedFill")
	if s, ok := tryBroadcast(mask.shape, a.shape); !ok || !equalShape(s, a.shape) {
		panic(fmt.Sprintf("backprop: MaskedFill: mask of shape %v does not broadcast to the tensor's shape %v", mask.shape, a.shape))
	}
	return Where(mask, scalarLike(a, value), a)
}
