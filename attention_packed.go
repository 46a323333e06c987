package backprop

import (
	"fmt"
	"slices"
)

// PackedSelfAttention is multi-head self-attention on a packed projection:
// qkv is [N, L, 3E], each row the queries, keys and values of one position
// side by side, each of them heads blocks of E/heads features. It returns
// the heads' attention outputs merged back to [N, L, E]: the same as
// splitting qkv into q, k and v, viewing each as [N, heads, L, E/heads],
// calling ScaledDotProductAttention (with opt, whose Mask broadcasts to
// [N, heads, L, L]) and merging the heads, and the same bits.
//
// It reads the heads in place and writes the merged output and the packed
// input gradient directly, where the split form copies the heads, merges
// them with a copy and, going back, sends each of q, k and v a gradient
// the size of all three (the backward of a slice) to be added up.
func PackedSelfAttention(qkv *Tensor, heads int, opt AttentionOptions) *Tensor {
	const op = "PackedSelfAttention"
	qkv.mustTensor(op)
	qkv.mustFloat(op)
	if len(qkv.shape) != 3 || heads <= 0 || qkv.shape[2]%(3*heads) != 0 {
		panic(fmt.Sprintf("backprop: %s: input of shape %v is not [N, L, 3E] with E a multiple of %d heads", op, qkv.shape, heads))
	}
	n, l, e := qkv.shape[0], qkv.shape[1], qkv.shape[2]/3
	if opt.Mask != nil && opt.Mask.requiresGrad && !opt.Mask.noGrad {
		return packedComposite(qkv, heads, opt)
	}
	hd := e / heads
	pool := poolOf(op, qkv, opt.Mask)
	qc := qkv.contiguousData()
	// The checks of the split form (the mask's shape), on an unrecorded
	// view of the queries.
	q := qc.view([]int{n, heads, l, hd}, []int{l * 3 * e, hd, 3 * e, 1}, qc.offset)
	d := sdpaCheck(q, q, q, opt)
	io := packedIO(qc.offset, n, l, e, heads)
	out := rawIn(pool, qkv.dtype, []int{n, l, e})
	io.o = packedOperand(out.offset, n, l, e, heads, 0, e)
	lse := rawIn(pool, Float64, []int{n, heads, l})
	mask := sdpaMaskOf(opt.Mask, d.batchShape, d)
	if qkv.dtype == Float32 {
		sdpaForward(&d, &mask, qc.f32, qc.f32, qc.f32, out.f32, &io, lse.f64)
	} else {
		sdpaForward(&d, &mask, qc.f64, qc.f64, qc.f64, out.f64, &io, lse.f64)
	}
	saved := []*Tensor{lse}
	if opt.Mask != nil {
		saved = append(saved, opt.Mask)
	}
	return recordSaved(op, out, []*Tensor{qkv}, saved, func(c *BackwardContext, g *Tensor) []*Tensor {
		if c.CreateGraph() {
			var m *Tensor
			if len(c.n.saved) > 1 {
				m = c.Saved(1)
			}
			o := opt
			o.Mask = m
			// Differentiate the composite form, recorded afresh.
			x := c.Input(0)
			return c.one(packedCompositeGrad(x, g, heads, o))
		}
		return c.one(packedBackward(c, g, &d, heads))
	})
}

// packedBackward is the fused first-order backward: the packed gradient
// [N, L, 3E], each part written once by its head's matrix products.
func packedBackward(c *BackwardContext, g *Tensor, d *sdpaDims, heads int) *Tensor {
	const op = "PackedSelfAttention"
	x := c.n.inputs[0]
	n, l, e := x.shape[0], x.shape[1], x.shape[2]/3
	xc := x.contiguousData()
	gc := g.contiguousData()
	o := c.n.out
	var m *Tensor
	if len(c.n.saved) > 1 {
		m = c.n.saved[1]
	}
	mk := sdpaMaskOf(m, d.batchShape, *d)
	dx := rawIn(poolOf(op, g, x), x.dtype, x.shape)
	io := packedIO(xc.offset, n, l, e, heads)
	io.o = packedOperand(o.offset, n, l, e, heads, 0, e)
	io.g = packedOperand(gc.offset, n, l, e, heads, 0, e)
	dio := packedIO(dx.offset, n, l, e, heads)
	io.dq, io.dk, io.dv = dio.q, dio.k, dio.v
	ls := c.n.saved[0].f64
	if x.dtype == Float32 {
		sdpaGrad(d, &mk, gc.f32, xc.f32, xc.f32, xc.f32, o.f32, &io, ls, dx.f32, dx.f32, dx.f32)
	} else {
		sdpaGrad(d, &mk, gc.f64, xc.f64, xc.f64, xc.f64, o.f64, &io, ls, dx.f64, dx.f64, dx.f64)
	}
	return dx
}

// packedOperand is the layout of one of q, k, v (part 0, 1, 2 of a row of
// width ld) or of the merged output (ld = E), per (sample, head) matrix.
func packedOperand(off, n, l, e, heads, part, ld int) sdpaOperand {
	hd := e / heads
	op := sdpaOperand{base: make([]int, n*heads), ld: ld}
	for i := range n {
		for h := range heads {
			op.base[i*heads+h] = off + i*l*ld + part*e + h*hd
		}
	}
	return op
}

func packedIO(off, n, l, e, heads int) sdpaIO {
	return sdpaIO{
		q: packedOperand(off, n, l, e, heads, 0, 3*e),
		k: packedOperand(off, n, l, e, heads, 1, 3*e),
		v: packedOperand(off, n, l, e, heads, 2, 3*e),
	}
}

// packedHeads returns q, k, v [N, heads, L, E/heads] as views of qkv
// (recorded, so gradients flow through them).
func packedHeads(qkv *Tensor, heads int) (q, k, v *Tensor) {
	n, l, e := qkv.shape[0], qkv.shape[1], qkv.shape[2]/3
	x := qkv.Reshape(n, l, 3, heads, e/heads).Permute(2, 0, 3, 1, 4)
	return x.Select(0, 0), x.Select(0, 1), x.Select(0, 2)
}

// packedComposite is the split form, written with differentiable ops.
func packedComposite(qkv *Tensor, heads int, opt AttentionOptions) *Tensor {
	q, k, v := packedHeads(qkv, heads)
	var y *Tensor
	if opt.Mask != nil && opt.Mask.requiresGrad && !opt.Mask.noGrad {
		y = sdpaComposite(q, k, v, opt.Mask, opt.Causal, sdpaCheck(q, k, v, opt).scale)
	} else {
		y = ScaledDotProductAttention(q, k, v, opt)
	}
	sh := qkv.shape
	return y.Transpose(1, 2).Reshape(sh[0], sh[1], sh[2]/3)
}

// packedCompositeGrad is the gradient of the split form at x for the
// output gradient g, as a recorded graph (for CreateGraph).
func packedCompositeGrad(x, g *Tensor, heads int, opt AttentionOptions) *Tensor {
	sh := slices.Clone(x.shape)
	n, l, e := sh[0], sh[1], sh[2]/3
	q, k, v := x.Narrow(2, 0, e), x.Narrow(2, e, e), x.Narrow(2, 2*e, e)
	split := func(t *Tensor) *Tensor { return t.Reshape(n, l, heads, e/heads).Transpose(1, 2) }
	merge := func(t *Tensor) *Tensor { return t.Transpose(1, 2).Reshape(n, l, e) }
	qh, kh, vh := split(q), split(k), split(v)
	d := sdpaCheck(qh, kh, vh, opt)
	p := sdpaProbs(qh, kh, opt.Mask, opt.Causal, d.scale)
	gh := split(g)
	gv := p.Transpose(2, 3).MatMul(gh)
	dp := gh.MatMul(vh.Transpose(2, 3))
	ds := p.Mul(dp.Sub(dp.Mul(p).SumKeep(3)))
	gq := ds.MatMul(kh).MulScalar(d.scale)
	gk := ds.Transpose(2, 3).MatMul(qh).MulScalar(d.scale)
	return Concat(2, merge(gq), merge(gk), merge(gv))
}
