package backprop

import (
	"fmt"
	"math"
	"slices"

	"github.com/gobackprop/backprop/internal/kernels"
)

// LayerNorm normalizes x over its trailing axes of the given shape (their
// mean and biased variance), then multiplies by weight and adds bias when
// they are not nil, as torch.nn.functional.layer_norm: weight and bias, if
// given, have that shape and x's dtype.
//
// It is one fused op: the forward pass keeps only each row's mean and
// reciprocal standard deviation (in float64, as it computes the statistics),
// and the backward pass returns the three gradients from them in one sweep.
// Written with Sub, Div, Mul and Add it was about a tenth of a small
// transformer's training step, mostly in allocating and walking the
// intermediate tensors. With CreateGraph the backward is written with
// differentiable ops, so second derivatives work.
func LayerNorm(x *Tensor, shape []int, weight, bias *Tensor, eps float64) *Tensor {
	const op = "LayerNorm"
	x.mustTensor(op)
	x.mustFloat(op)
	k := len(shape)
	if k == 0 || len(x.shape) < k || !slices.Equal(x.shape[len(x.shape)-k:], shape) {
		panic(fmt.Sprintf("backprop: %s: input of shape %v does not end in the normalized shape %v", op, x.shape, shape))
	}
	for _, p := range []*Tensor{weight, bias} {
		if p != nil && (!slices.Equal(p.shape, shape) || p.dtype != x.dtype) {
			panic(fmt.Sprintf("backprop: %s: weight or bias %v %v does not match the normalized shape %v of %v input", op, p.dtype, p.shape, shape, x.dtype))
		}
	}
	if math.IsNaN(eps) || math.IsInf(eps, 0) || eps < 0 {
		panic(fmt.Sprintf("backprop: %s: eps %v is not finite and >= 0", op, eps))
	}
	n := numel(shape)
	rows := 0
	if n > 0 {
		rows = x.Numel() / n
	}
	pool := poolOf(op, x, weight, bias)
	xc := x.contiguousData()
	out := rawIn(pool, x.dtype, x.shape)
	stats := rawIn(pool, Float64, []int{rows, 2}) // mean, 1/std per row
	inputs := []*Tensor{x}
	wi, bi := -1, -1
	if weight != nil {
		wi = len(inputs)
		inputs = append(inputs, weight)
	}
	if bias != nil {
		bi = len(inputs)
		inputs = append(inputs, bias)
	}
	if x.dtype == Float32 {
		layerNormForward(xc.f32[xc.offset:], paramData(weight).f32Of(), paramData(bias).f32Of(), out.f32, stats.f64, rows, n, eps)
	} else {
		layerNormForward(xc.f64[xc.offset:], paramData(weight).f64Of(), paramData(bias).f64Of(), out.f64, stats.f64, rows, n, eps)
	}
	shp := slices.Clone(shape)
	return recordSaved(op, out, inputs, []*Tensor{stats}, func(c *BackwardContext, g *Tensor) []*Tensor {
		grads := c.buf[:len(inputs)]
		clear(grads)
		if c.CreateGraph() {
			layerNormCompositeGrads(c, g, shp, wi, bi, eps, grads)
			return grads
		}
		layerNormBackward(c, g, rows, n, wi, bi, grads)
		return grads
	})
}

// paramSlice is a weight or bias read in place (nil when absent).
type paramSlice struct{ t *Tensor }

func paramData(p *Tensor) paramSlice {
	if p == nil {
		return paramSlice{}
	}
	return paramSlice{p.contiguousData()}
}

func (p paramSlice) f32Of() []float32 {
	if p.t == nil {
		return nil
	}
	return p.t.f32[p.t.offset : p.t.offset+p.t.Numel()]
}

func (p paramSlice) f64Of() []float64 {
	if p.t == nil {
		return nil
	}
	return p.t.f64[p.t.offset : p.t.offset+p.t.Numel()]
}

// layerNormBlock is how many rows one task of the kernels takes: chosen
// from nothing but a constant, so the split never depends on the threads.
const layerNormBlock = 32

func layerNormForward[T kernels.Float](x, w, b, out []T, stats []float64, rows, n int, eps float64) {
	kernels.Parallel((rows+layerNormBlock-1)/layerNormBlock, func(blk int) {
		for r := blk * layerNormBlock; r < min(rows, (blk+1)*layerNormBlock); r++ {
			xr, yr := x[r*n:(r+1)*n], out[r*n:(r+1)*n]
			mean, ss := rowMoments(xr)
			rstd := 1 / math.Sqrt(ss/float64(n)+eps)
			stats[2*r], stats[2*r+1] = mean, rstd
			switch {
			case w != nil && b != nil:
				w, b := w[:len(xr)], b[:len(xr)]
				for j, v := range xr {
					yr[j] = T((float64(v)-mean)*rstd*float64(w[j]) + float64(b[j]))
				}
			case w != nil:
				for j, v := range xr {
					yr[j] = T((float64(v) - mean) * rstd * float64(w[j]))
				}
			case b != nil:
				for j, v := range xr {
					yr[j] = T((float64(v)-mean)*rstd + float64(b[j]))
				}
			default:
				for j, v := range xr {
					yr[j] = T((float64(v) - mean) * rstd)
				}
			}
		}
	})
}

// layerNormBackward is the fused first-order backward. With x̂ the
// normalized input and gy = g∘w: dx = rstd·(gy - mean(gy) - x̂·mean(gy∘x̂))
// per row, dw = Σ_rows g∘x̂ and db = Σ_rows g.
func layerNormBackward(c *BackwardContext, g *Tensor, rows, n, wi, bi int, grads []*Tensor) {
	const op = "LayerNorm"
	x := c.n.inputs[0]
	stats := c.n.saved[0].f64
	pool := poolOf(op, g, x)
	gc, xc := g.contiguousData(), x.contiguousData()
	var w *Tensor
	if wi >= 0 {
		w = c.n.inputs[wi]
	}
	var dx, dw, db *Tensor
	if c.NeedsGrad(0) {
		dx = rawIn(pool, x.dtype, x.shape)
	}
	if wi >= 0 && c.NeedsGrad(wi) {
		dw = rawIn(pool, x.dtype, w.shape)
	}
	if bi >= 0 && c.NeedsGrad(bi) {
		db = rawIn(pool, x.dtype, c.n.inputs[bi].shape)
	}
	if x.dtype == Float32 {
		layerNormGrad(gc.f32[gc.offset:], xc.f32[xc.offset:], paramData(w).f32Of(), stats, rows, n, f32Or(dx), f32Or(dw), f32Or(db))
	} else {
		layerNormGrad(gc.f64[gc.offset:], xc.f64[xc.offset:], paramData(w).f64Of(), stats, rows, n, f64Or(dx), f64Or(dw), f64Or(db))
	}
	grads[0] = dx
	if dw != nil {
		grads[wi] = dw
	}
	if db != nil {
		grads[bi] = db
	}
}

func f32Or(t *Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.f32[t.offset : t.offset+t.Numel()]
}

func f64Or(t *Tensor) []float64 {
	if t == nil {
		return nil
	}
	return t.f64[t.offset : t.offset+t.Numel()]
}

func layerNormGrad[T kernels.Float](g, x, w []T, stats []float64, rows, n int, dx, dw, db []T) {
	if dx != nil {
		kernels.Parallel((rows+layerNormBlock-1)/layerNormBlock, func(blk int) {
			for r := blk * layerNormBlock; r < min(rows, (blk+1)*layerNormBlock); r++ {
				gr, xr, dr := g[r*n:(r+1)*n], x[r*n:(r+1)*n], dx[r*n:(r+1)*n]
				mean, rstd := stats[2*r], stats[2*r+1]
				sa, sb := rowGradSums(gr, xr, w, mean, rstd)
				sa /= float64(n)
				sb /= float64(n)
				gr, dr = gr[:len(xr)], dr[:len(xr)]
				if w == nil {
					for j, v := range xr {
						dr[j] = T(rstd * (float64(gr[j]) - sa - (float64(v)-mean)*rstd*sb))
					}
					continue
				}
				w := w[:len(xr)]
				for j, v := range xr {
					gy := float64(gr[j]) * float64(w[j])
					dr[j] = T(rstd * (gy - sa - (float64(v)-mean)*rstd*sb))
				}
			}
		})
	}
	if dw == nil && db == nil {
		return
	}
	// The parameter gradients sum over rows, in row order on one goroutine
	// so the bits never depend on the thread count.
	acc := make([]float64, 2*n)
	aw, ab := acc[:n], acc[n:]
	r := 0
	// Two rows a pass, added in row order: the same sums, with half the
	// loads and stores of the accumulators.
	for ; r+2 <= rows; r += 2 {
		g0, x0 := g[r*n:(r+1)*n], x[r*n:(r+1)*n]
		g1, x1 := g[(r+1)*n:(r+2)*n], x[(r+1)*n:(r+2)*n]
		m0, s0 := stats[2*r], stats[2*r+1]
		m1, s1 := stats[2*r+2], stats[2*r+3]
		g0, g1, x1 = g0[:len(x0)], g1[:len(x0)], x1[:len(x0)]
		aw, ab := aw[:len(x0)], ab[:len(x0)]
		for j, v := range x0 {
			gv0, gv1 := float64(g0[j]), float64(g1[j])
			aw[j] = aw[j] + gv0*(float64(v)-m0)*s0 + gv1*(float64(x1[j])-m1)*s1
			ab[j] = ab[j] + gv0 + gv1
		}
	}
	for ; r < rows; r++ {
		gr, xr := g[r*n:(r+1)*n], x[r*n:(r+1)*n]
		mean, rstd := stats[2*r], stats[2*r+1]
		for j, v := range xr {
			gv := float64(gr[j])
			aw[j] += gv * (float64(v) - mean) * rstd
			ab[j] += gv
		}
	}
	for j := range n {
		if dw != nil {
			dw[j] = T(aw[j])
		}
		if db != nil {
			db[j] = T(ab[j])
		}
	}
}

// layerNormCompositeGrads is the backward written with differentiable ops
// (for CreateGraph), the same formulas as layerNormGrad.
func layerNormCompositeGrads(c *BackwardContext, g *Tensor, shape []int, wi, bi int, eps float64, grads []*Tensor) {
	x := c.Input(0)
	nd, k := len(x.shape), len(shape)
	axes := make([]int, k)
	for i := range axes {
		axes[i] = nd - k + i
	}
	lead := make([]int, nd-k)
	for i := range lead {
		lead[i] = i
	}
	xc := x.Sub(x.MeanKeep(axes...))
	std := xc.Square().MeanKeep(axes...).AddScalar(eps).Sqrt()
	xhat := xc.Div(std)
	gy := g
	if wi >= 0 {
		gy = g.Mul(c.Input(wi))
	}
	if c.NeedsGrad(0) {
		grads[0] = gy.Sub(gy.MeanKeep(axes...)).Sub(xhat.Mul(gy.Mul(xhat).MeanKeep(axes...))).Div(std)
	}
	sumLead := func(t *Tensor) *Tensor {
		if len(lead) == 0 {
			return t
		}
		return t.Sum(lead...)
	}
	if wi >= 0 && c.NeedsGrad(wi) {
		grads[wi] = sumLead(g.Mul(xhat))
	}
	if bi >= 0 && c.NeedsGrad(bi) {
		grads[bi] = sumLead(g)
	}
}

// rowMoments returns the mean of xr and the sum of squared deviations
// from it, in float64. Each sum runs in four interleaved partial sums:
// one chain of dependent additions would cost an addition's latency per
// element.
func rowMoments[T kernels.Float](xr []T) (mean, ss float64) {
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(xr); j += 4 {
		s0 += float64(xr[j])
		s1 += float64(xr[j+1])
		s2 += float64(xr[j+2])
		s3 += float64(xr[j+3])
	}
	for ; j < len(xr); j++ {
		s0 += float64(xr[j])
	}
	mean = ((s0 + s1) + (s2 + s3)) / float64(len(xr))
	s0, s1, s2, s3 = 0, 0, 0, 0
	j = 0
	for ; j+4 <= len(xr); j += 4 {
		d0, d1 := float64(xr[j])-mean, float64(xr[j+1])-mean
		d2, d3 := float64(xr[j+2])-mean, float64(xr[j+3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; j < len(xr); j++ {
		d := float64(xr[j]) - mean
		s0 += d * d
	}
	return mean, (s0 + s1) + (s2 + s3)
}

// rowGradSums returns Σ gy and Σ gy·x̂ over one row, gy = g∘w (g when w
// is nil) and x̂ = (x - mean)·rstd, each in two interleaved partial sums
// (see rowMoments).
func rowGradSums[T kernels.Float](gr, xr, w []T, mean, rstd float64) (sa, sb float64) {
	gr = gr[:len(xr)]
	var a0, a1, b0, b1 float64
	j := 0
	if w == nil {
		for ; j+2 <= len(xr); j += 2 {
			g0, g1 := float64(gr[j]), float64(gr[j+1])
			a0 += g0
			a1 += g1
			b0 += g0 * (float64(xr[j]) - mean) * rstd
			b1 += g1 * (float64(xr[j+1]) - mean) * rstd
		}
		for ; j < len(xr); j++ {
			g0 := float64(gr[j])
			a0 += g0
			b0 += g0 * (float64(xr[j]) - mean) * rstd
		}
		return a0 + a1, b0 + b1
	}
	w = w[:len(xr)]
	for ; j+2 <= len(xr); j += 2 {
		g0, g1 := float64(gr[j])*float64(w[j]), float64(gr[j+1])*float64(w[j+1])
		a0 += g0
		a1 += g1
		b0 += g0 * (float64(xr[j]) - mean) * rstd
		b1 += g1 * (float64(xr[j+1]) - mean) * rstd
	}
	for ; j < len(xr); j++ {
		g0 := float64(gr[j]) * float64(w[j])
		a0 += g0
		b0 += g0 * (float64(xr[j]) - mean) * rstd
	}
	return a0 + a1, b0 + b1
}
