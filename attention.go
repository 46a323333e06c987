package backprop

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gobackprop/backprop/internal/kernels"
)

// AttentionOptions are the options of ScaledDotProductAttention.
type AttentionOptions struct {
	// Mask, when set, broadcasts to the scores' shape [..., L, S]. A float
	// mask is added to the scaled scores (use -Inf to exclude a position),
	// as PyTorch's float attn_mask; an Int64 mask is PyTorch's boolean one:
	// nonzero where a query may attend to a key, zero where it may not.
	// A float mask that requires a gradient gets one.
	Mask *Tensor
	// Causal lets query i attend only to keys j <= i (the top-left aligned
	// lower triangle, PyTorch's is_causal). It may be combined with Mask.
	// With fewer queries than keys that are the last positions of the
	// sequence (decoding with a key/value cache), it is not the causal rule
	// wanted: there every query may see every cached key, so leave it off
	// for one new query, or pass a Mask.
	Causal bool
	// Scale multiplies the scores QKᵀ; 0 means 1/√E, E being the size of
	// the queries' last axis.
	Scale float64
}

// ScaledDotProductAttention returns softmax(Q·Kᵀ·scale + mask)·V, as
// torch.nn.functional.scaled_dot_product_attention: q is [..., L, E], k is
// [..., S, E] and v is [..., S, Ev] with the same leading (batch, head)
// axes, and the result is [..., L, Ev]. A row whose every key is masked
// out gives NaN, as PyTorch's reference implementation does.
//
// It is one fused op. For each matrix of the batch (in parallel over the
// batch, each on one goroutine, so the result does not depend on the
// thread count) it computes the L×S scores in a scratch block, takes each
// row's softmax there and multiplies by V; it keeps only the output and
// each row's log-sum-exp, never the [..., L, S] probabilities. The
// backward pass recomputes the probabilities block by block from them and
// returns dQ, dK and dV. With CreateGraph the backward is written with
// differentiable ops (and so materializes the probabilities), which makes
// second derivatives work; so does a float mask that requires a gradient,
// which sends the whole op through that composite form.
func ScaledDotProductAttention(q, k, v *Tensor, opt AttentionOptions) *Tensor {
	const op = "ScaledDotProductAttention"
	d := sdpaCheck(q, k, v, opt)
	if opt.Mask != nil && opt.Mask.requiresGrad && !opt.Mask.noGrad {
		return sdpaComposite(q, k, v, opt.Mask, opt.Causal, d.scale)
	}
	pool := poolOf(op, q, k, v, opt.Mask)
	qc, lq := sdpaOperandOf(q, d.batch)
	kc, lk := sdpaOperandOf(k, d.batch)
	vc, lv := sdpaOperandOf(v, d.batch)
	batch := q.shape[:len(q.shape)-2]
	out := rawIn(pool, q.dtype, slices.Concat(batch, []int{d.l, d.ev}))
	lse := rawIn(pool, Float64, slices.Concat(batch, []int{d.l}))
	mask := sdpaMaskOf(opt.Mask, batch, d)
	io := sdpaIO{q: lq, k: lk, v: lv, o: sdpaDense(out, d.batch)}
	if q.dtype == Float32 {
		sdpaForward(&d, &mask, qc.f32, kc.f32, vc.f32, out.f32, &io, lse.f64)
	} else {
		sdpaForward(&d, &mask, qc.f64, kc.f64, vc.f64, out.f64, &io, lse.f64)
	}
	var saved []*Tensor
	if opt.Mask != nil {
		saved = []*Tensor{lse, opt.Mask}
	} else {
		saved = []*Tensor{lse}
	}
	return recordSaved(op, out, []*Tensor{q, k, v}, saved, attentionGrad(&d, opt.Mask != nil))
}

// attentionGrad is attention's backward: the fused kernel recomputes the
// probabilities from the saved log-sum-exp; with CreateGraph the composite
// formula, softmax(q·kᵀ·s + mask)·v, is differentiated instead, so the
// gradient can be differentiated again.
func attentionGrad(d *sdpaDims, hasMask bool) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		var m *Tensor
		if hasMask {
			m = c.Saved(1)
		}
		if c.CreateGraph() {
			return sdpaCompositeGrads(c, g, m, d.causal, d.scale)
		}
		return sdpaBackward(c, g, m, d)
	}
}

// sdpaDims are the sizes of one attention problem.
type sdpaDims struct {
	batch       int // matrices in the batch
	l, s, e, ev int
	scale       float64
	causal      bool
	batchShape  []int
}

func sdpaCheck(q, k, v *Tensor, opt AttentionOptions) sdpaDims {
	const op = "ScaledDotProductAttention"
	q.mustFloat(op)
	if k == nil {
		panic(nilTensor(op, "k"))
	}
	if v == nil {
		panic(nilTensor(op, "v"))
	}
	if k.dtype != q.dtype || v.dtype != q.dtype {
		panic(fmt.Sprintf("backprop: %s: dtypes %v (q), %v (k) and %v (v) differ", op, q.dtype, k.dtype, v.dtype))
	}
	nd := len(q.shape)
	if nd < 2 || len(k.shape) != nd || len(v.shape) != nd ||
		!slices.Equal(q.shape[:nd-2], k.shape[:nd-2]) || !slices.Equal(q.shape[:nd-2], v.shape[:nd-2]) ||
		q.shape[nd-1] != k.shape[nd-1] || k.shape[nd-2] != v.shape[nd-2] {
		panic(fmt.Sprintf("backprop: %s: shapes %v (q), %v (k) and %v (v) do not fit [..., L, E], [..., S, E], [..., S, Ev]", op, q.shape, k.shape, v.shape))
	}
	d := sdpaDims{l: q.shape[nd-2], s: k.shape[nd-2], e: q.shape[nd-1], ev: v.shape[nd-1], causal: opt.Causal}
	d.batchShape = q.shape[:nd-2]
	d.batch = numel(d.batchShape)
	d.scale = opt.Scale
	if d.scale == 0 {
		d.scale = 1 / math.Sqrt(float64(d.e))
	}
	if math.IsNaN(d.scale) || math.IsInf(d.scale, 0) {
		panic(fmt.Sprintf("backprop: %s: scale %v is not finite", op, opt.Scale))
	}
	if m := opt.Mask; m != nil {
		want := slices.Concat(d.batchShape, []int{d.l, d.s})
		if s, ok := tryBroadcast(m.shape, want); !ok || !slices.Equal(s, want) {
			panic(fmt.Sprintf("backprop: %s: mask of shape %v does not broadcast to the scores' shape %v", op, m.shape, want))
		}
		if m.dtype.IsFloat() && m.dtype != q.dtype {
			panic(fmt.Sprintf("backprop: %s: float mask is %v, queries are %v", op, m.dtype, q.dtype))
		}
	}
	return d
}

// sdpaComposite is the attention written with differentiable ops: the
// reference the fused op is tested against, and its form where it needs
// to be differentiated more than once.
func sdpaComposite(q, k, v, mask *Tensor, causal bool, scale float64) *Tensor {
	return sdpaProbs(q, k, mask, causal, scale).MatMul(v)
}

// sdpaProbs returns softmax(q·kᵀ·scale + mask) with differentiable ops.
func sdpaProbs(q, k, mask *Tensor, causal bool, scale float64) *Tensor {
	nd := len(q.shape)
	s := q.MatMul(k.Transpose(nd-2, nd-1)).MulScalar(scale)
	l, sk := q.shape[nd-2], k.shape[nd-2]
	if causal {
		s = s.MaskedFill(Int64.Ones(l, sk).Triu(1), math.Inf(-1))
	}
	if mask != nil {
		if mask.dtype.IsFloat() {
			s = s.Add(mask)
		} else {
			s = s.MaskedFill(mask.Eq(Int64.Scalar(0)), math.Inf(-1))
		}
	}
	return s.Softmax(-1)
}

// sdpaCompositeGrads is the backward of the fused op written with
// differentiable ops (for CreateGraph): with P the probabilities,
// dV = Pᵀ·G, dP = G·Vᵀ, dS = P∘(dP - Σ_j dP∘P), dQ = dS·K·scale and
// dK = dSᵀ·Q·scale.
func sdpaCompositeGrads(c *BackwardContext, g, mask *Tensor, causal bool, scale float64) []*Tensor {
	q, k, v := c.Input(0), c.Input(1), c.Input(2)
	nd := len(q.shape)
	p := sdpaProbs(q, k, mask, causal, scale)
	var gq, gk, gv *Tensor
	if c.NeedsGrad(2) {
		gv = p.Transpose(nd-2, nd-1).MatMul(g)
	}
	if c.NeedsGrad(0) || c.NeedsGrad(1) {
		dp := g.MatMul(v.Transpose(nd-2, nd-1))
		ds := p.Mul(dp.Sub(dp.Mul(p).SumKeep(nd - 1)))
		if c.NeedsGrad(0) {
			gq = ds.MatMul(k).MulScalar(scale)
		}
		if c.NeedsGrad(1) {
			gk = ds.Transpose(nd-2, nd-1).MatMul(q).MulScalar(scale)
		}
	}
	return c.three(gq, gk, gv)
}

// sdpaMask is a mask read in place, by strides: base[b] is where the
// scores mask of matrix b starts, si and sj its row and column strides.
type sdpaMask struct {
	t      *Tensor
	base   []int
	si, sj int
}

func sdpaMaskOf(m *Tensor, batch []int, d sdpaDims) sdpaMask {
	if m == nil {
		return sdpaMask{}
	}
	shape := slices.Concat(batch, []int{d.l, d.s})
	st := broadcastStrides(m, shape)
	nb := len(batch)
	mk := sdpaMask{t: m, base: make([]int, d.batch), si: st[nb], sj: st[nb+1]}
	idx := make([]int, nb)
	off := m.offset
	for b := range d.batch {
		mk.base[b] = off
		for ax := nb - 1; ax >= 0; ax-- {
			idx[ax]++
			off += st[ax]
			if idx[ax] < batch[ax] {
				break
			}
			off -= st[ax] * batch[ax]
			idx[ax] = 0
		}
	}
	return mk
}

// live is how many leading scores of row i take part: all S, or with the
// causal rule the first i+1. The rest have probability 0, and the loops
// below neither exponentiate nor mask them.
func (d *sdpaDims) live(i int) int {
	if d.causal {
		return min(i+1, d.s)
	}
	return d.s
}

// maskRow applies the mask to the live scores of row i of matrix b.
func maskRow[T kernels.Float](m *sdpaMask, row []T, b, i int) {
	ninf := T(math.Inf(-1))
	p, sj := m.base[b]+i*m.si, m.sj
	switch m.t.dtype {
	case Float32:
		for j := range row {
			row[j] += T(m.t.f32[p+j*sj])
		}
	case Float64:
		for j := range row {
			row[j] += T(m.t.f64[p+j*sj])
		}
	default:
		for j := range row {
			if m.t.i64[p+j*sj] == 0 {
				row[j] = ninf
			}
		}
	}
}

// sdpaScratch holds one goroutine's score blocks, and c, a one-value
// operand for the kernels (on the stack it would escape).
type sdpaScratch[T kernels.Float] struct {
	s, dp []T
	c     [1]T
}

var (
	sdpaScratch32 = sync.Pool{New: func() any { return new(sdpaScratch[float32]) }}
	sdpaScratch64 = sync.Pool{New: func() any { return new(sdpaScratch[float64]) }}
)

func getSDPAScratch[T kernels.Float](n int) *sdpaScratch[T] {
	var sc *sdpaScratch[T]
	var zero T
	if _, ok := any(zero).(float32); ok {
		sc = sdpaScratch32.Get().(*sdpaScratch[T])
	} else {
		sc = sdpaScratch64.Get().(*sdpaScratch[T])
	}
	if cap(sc.s) < n {
		sc.s, sc.dp = make([]T, n), make([]T, n)
	}
	sc.s, sc.dp = sc.s[:n], sc.dp[:n]
	return sc
}

func putSDPAScratch[T kernels.Float](sc *sdpaScratch[T]) {
	if _, ok := any(sc).(*sdpaScratch[float32]); ok {
		sdpaScratch32.Put(sc)
	} else {
		sdpaScratch64.Put(sc)
	}
}

// sdpaOperand is an operand of the fused kernels read in place: matrix b
// of the batch starts at base[b] of the storage and its rows are ld apart,
// each row contiguous. Attention's inputs are usually strided views (heads
// of one projection, [N, L, H, E] seen as [N, H, L, E]); copying them
// contiguous was a tenth of a transformer's training step.
type sdpaOperand struct {
	base []int
	ld   int
}

// sdpaIO are the layouts of the fused kernels' operands: inputs q, k, v,
// output o, its gradient g and the input gradients dq, dk, dv.
type sdpaIO struct{ q, k, v, o, g, dq, dk, dv sdpaOperand }

// sdpaDense is the layout of a contiguous batch of matrices.
func sdpaDense(t *Tensor, batch int) sdpaOperand {
	nd := len(t.shape)
	rows, cols := t.shape[nd-2], t.shape[nd-1]
	op := sdpaOperand{base: make([]int, batch), ld: cols}
	for b := range op.base {
		op.base[b] = t.offset + b*rows*cols
	}
	return op
}

// sdpaOperandOf returns t (or a contiguous copy, when its rows are not
// contiguous or overlap) and its layout over the batch of matrices.
func sdpaOperandOf(t *Tensor, batch int) (*Tensor, sdpaOperand) {
	nd := len(t.shape)
	rows, cols := t.shape[nd-2], t.shape[nd-1]
	ld := t.strides[nd-2]
	if rows <= 1 {
		ld = cols
	}
	if (cols > 1 && t.strides[nd-1] != 1) || ld < cols {
		t = t.contiguousData()
		ld = cols
	}
	op := sdpaOperand{base: make([]int, batch), ld: ld}
	bs, st := t.shape[:nd-2], t.strides[:nd-2]
	idx := make([]int, len(bs))
	off := t.offset
	for b := range batch {
		op.base[b] = off
		for ax := len(bs) - 1; ax >= 0; ax-- {
			idx[ax]++
			off += st[ax]
			if idx[ax] < bs[ax] {
				break
			}
			off -= st[ax] * bs[ax]
			idx[ax] = 0
		}
	}
	return t, op
}

// sdpaScores sets s to matrix b's scaled scores, masked where live.
func sdpaScores[T kernels.Float](d *sdpaDims, m *sdpaMask, q, k, s []T, lq, lk *sdpaOperand, b int) {
	l, sk, e := d.l, d.s, d.e
	kernels.Gemm(false, true, l, sk, e, T(d.scale), q[lq.base[b]:], lq.ld, k[lk.base[b]:], lk.ld, 0, s, sk)
	if m.t != nil {
		for i := range l {
			maskRow(m, s[i*sk:i*sk+d.live(i)], b, i)
		}
	}
}

// scaleRun sets x[i] *= c, vectorized for float32.
func (sc *sdpaScratch[T]) scaleRun(x []T, c T) {
	sc.c[0] = c
	kernels.MulRun(x, x, 0, 1, sc.c[:], 0, 0)
}

// shiftScaleRun sets x[i] = (x[i] - c)·y[i], vectorized for float32.
func (sc *sdpaScratch[T]) shiftScaleRun(x []T, c T, y []T) {
	sc.c[0] = c
	kernels.SubRun(x, x, 0, 1, sc.c[:], 0, 0)
	kernels.MulRun(x, x, 0, 1, y, 0, 1)
}

// dot64 is Σ a[i]·b[i] in float64, in four interleaved partial sums.
func dot64[T kernels.Float](a, b []T) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// expShift sets row[j] = e^(row[j] - c), vectorized for float32.
func expShift[T kernels.Float](row []T, c float64) {
	if r32, ok := any(row).([]float32); ok {
		kernels.ExpShiftF32(r32, r32, float32(c))
		return
	}
	for j, x := range row {
		row[j] = T(math.Exp(float64(x) - c))
	}
}

func sdpaForward[T kernels.Float](d *sdpaDims, m *sdpaMask, q, k, v, out []T, io *sdpaIO, lse []float64) {
	lq, lk, lv, lo := &io.q, &io.k, &io.v, &io.o
	l, sk, ev := d.l, d.s, d.ev
	kernels.Parallel(d.batch, func(b int) {
		sc := getSDPAScratch[T](l * sk)
		s := sc.s
		sdpaScores(d, m, q, k, s, lq, lk, b)
		for i := range l {
			row := s[i*sk : (i+1)*sk]
			n := d.live(i)
			live := row[:n]
			clear(row[n:])
			// The softmax of the live scores, with Softmax's steps: the
			// shift is the maximum, the sum blockedSum's.
			mx := float64(kernels.MaxRun(live, 0, 1, n, T(math.Inf(-1))))
			expShift(live, mx)
			sum := blockedSum(live, 0, 1, n, sumPlain, 0)
			lse[b*l+i] = mx + math.Log(sum)
			sc.scaleRun(live, T(1/sum))
		}
		kernels.Gemm(false, false, l, ev, sk, 1, s, sk, v[lv.base[b]:], lv.ld, 0, out[lo.base[b]:], lo.ld)
		putSDPAScratch(sc)
	})
}

// sdpaBackward is the fused first-order backward: per matrix of the batch
// it recomputes P = exp(S - lse) and returns dQ, dK and dV.
func sdpaBackward(c *BackwardContext, g, mask *Tensor, d *sdpaDims) []*Tensor {
	const op = "ScaledDotProductAttention"
	q, k, v, o := c.InputValue(0), c.InputValue(1), c.InputValue(2), c.OutputValue()
	lse := c.Saved(0) // float64, never requiring a gradient: not copied
	m := sdpaMaskOf(mask, d.batchShape, *d)
	pool := poolOf(op, g, q, k, v)
	gc, lg := sdpaOperandOf(g, d.batch)
	qc, lq := sdpaOperandOf(q, d.batch)
	kc, lk := sdpaOperandOf(k, d.batch)
	vc, lv := sdpaOperandOf(v, d.batch)
	dq, dk, dv := rawIn(pool, q.dtype, q.shape), rawIn(pool, k.dtype, k.shape), rawIn(pool, v.dtype, v.shape)
	io := sdpaIO{q: lq, k: lk, v: lv, g: lg, o: sdpaDense(o, d.batch),
		dq: sdpaDense(dq, d.batch), dk: sdpaDense(dk, d.batch), dv: sdpaDense(dv, d.batch)}
	if q.dtype == Float32 {
		sdpaGrad(d, &m, gc.f32, qc.f32, kc.f32, vc.f32, o.f32, &io, lse.f64, dq.f32, dk.f32, dv.f32)
	} else {
		sdpaGrad(d, &m, gc.f64, qc.f64, kc.f64, vc.f64, o.f64, &io, lse.f64, dq.f64, dk.f64, dv.f64)
	}
	return c.three(dq, dk, dv)
}

func sdpaGrad[T kernels.Float](d *sdpaDims, m *sdpaMask, g, q, k, v, o []T, io *sdpaIO, lse []float64, dq, dk, dv []T) {
	l, sk, e, ev := d.l, d.s, d.e, d.ev
	lg, lq, lk, lv, lo := &io.g, &io.q, &io.k, &io.v, &io.o
	kernels.Parallel(d.batch, func(b int) {
		sc := getSDPAScratch[T](l * sk)
		p, dp := sc.s, sc.dp
		sdpaScores(d, m, q, k, p, lq, lk, b)
		for i := range l {
			n := d.live(i)
			expShift(p[i*sk:i*sk+n], lse[b*l+i])
			clear(p[i*sk+n : (i+1)*sk])
		}
		gb, ob := g[lg.base[b]:], o[lo.base[b]:]
		// dV = Pᵀ·G and dP = G·Vᵀ.
		kernels.Gemm(true, false, sk, ev, l, 1, p, sk, gb, lg.ld, 0, dv[io.dv.base[b]:], io.dv.ld)
		kernels.Gemm(false, true, l, sk, ev, 1, gb, lg.ld, v[lv.base[b]:], lv.ld, 0, dp, sk)
		// dS = P∘(dP - D), D_i = Σ_j P_ij dP_ij = Σ_c G_ic O_ic.
		for i := range l {
			di := dot64(gb[i*lg.ld:i*lg.ld+ev], ob[i*lo.ld:i*lo.ld+ev])
			n := d.live(i)
			sc.shiftScaleRun(dp[i*sk:i*sk+n], T(di), p[i*sk:i*sk+n])
			clear(dp[i*sk+n : (i+1)*sk])
		}
		// dQ = dS·K·scale and dK = dSᵀ·Q·scale.
		kernels.Gemm(false, false, l, e, sk, T(d.scale), dp, sk, k[lk.base[b]:], lk.ld, 0, dq[io.dq.base[b]:], io.dq.ld)
		kernels.Gemm(true, false, sk, e, l, T(d.scale), dp, sk, q[lq.base[b]:], lq.ld, 0, dk[io.dk.base[b]:], io.dk.ld)
		putSDPAScratch(sc)
	})
}
