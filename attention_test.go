package backprop_test

import (
	"math"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/kernels"
)

// attnReference is scaled dot-product attention written with the public
// ops: softmax(q·kᵀ·scale + mask)·v.
func attnReference(q, k, v *bp.Tensor, opt bp.AttentionOptions) *bp.Tensor {
	e := q.Size(-1)
	scale := opt.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(e))
	}
	s := q.MatMul(k.Transpose(-2, -1)).MulScalar(scale)
	l, sk := q.Size(-2), k.Size(-2)
	if opt.Causal {
		s = s.MaskedFill(bp.Int64.Ones(l, sk).Triu(1), math.Inf(-1))
	}
	if m := opt.Mask; m != nil {
		if m.DType() == bp.Int64 {
			s = s.MaskedFill(m.Eq(bp.Int64.Scalar(0)), math.Inf(-1))
		} else {
			s = s.Add(m)
		}
	}
	return s.Softmax(-1).MatMul(v)
}

// attnCases are the variants every attention test runs: plain, causal,
// a boolean (Int64) mask broadcast over heads, an additive mask, both,
// another scale, and cross-attention with L != S.
func attnCases() []struct {
	name    string
	l, s    int
	opt     bp.AttentionOptions
	maskGen func() *bp.Tensor
} {
	boolMask := func() *bp.Tensor {
		// [2, 1, 4, 5]: batch 0 hides key 4, batch 1 hides keys 0 and 2
		// from query 1.
		m := bp.Int64.Ones(2, 1, 4, 5)
		d := m.I64()
		d[4], d[9], d[14], d[19] = 0, 0, 0, 0
		d[20+5+0], d[20+5+2] = 0, 0
		return m
	}
	addMask := func() *bp.Tensor { return rnd(99, 4, 5) }
	type tc = struct {
		name    string
		l, s    int
		opt     bp.AttentionOptions
		maskGen func() *bp.Tensor
	}
	return []tc{
		{"plain", 4, 5, bp.AttentionOptions{}, nil},
		{"causal", 4, 4, bp.AttentionOptions{Causal: true}, nil},
		{"causal L<S", 4, 5, bp.AttentionOptions{Causal: true}, nil},
		{"bool mask", 4, 5, bp.AttentionOptions{}, boolMask},
		{"additive mask", 4, 5, bp.AttentionOptions{Scale: 0.7}, addMask},
		{"causal and mask", 4, 5, bp.AttentionOptions{Causal: true}, boolMask},
	}
}

func TestAttentionMatchesComposite(t *testing.T) {
	for _, c := range attnCases() {
		for _, dt := range []bp.DType{bp.Float64, bp.Float32} {
			q := rnd(1, 2, 3, c.l, 6).To(dt)
			k := rnd(2, 2, 3, c.s, 6).To(dt)
			v := rnd(3, 2, 3, c.s, 7).To(dt)
			opt := c.opt
			if c.maskGen != nil {
				opt.Mask = c.maskGen()
				if opt.Mask.DType() != bp.Int64 {
					opt.Mask = opt.Mask.To(dt)
				}
			}
			got := bp.ScaledDotProductAttention(q, k, v, opt)
			want := attnReference(q, k, v, opt)
			if gs, ws := got.Shape(), want.Shape(); !equalInts(gs, ws) {
				t.Fatalf("%s: shape %v, want %v", c.name, gs, ws)
			}
			tol := 1e-14
			if dt == bp.Float32 {
				tol = 2e-6
			}
			g, w := got.Float64s(), want.Float64s()
			for i := range g {
				if math.Abs(g[i]-w[i]) > tol*(1+math.Abs(w[i])) {
					t.Fatalf("%s %v: [%d] = %v, composite %v", c.name, dt, i, g[i], w[i])
				}
			}
		}
	}
	// Non-contiguous inputs (a head split by Transpose, as attention
	// layers make them).
	q := rnd(4, 2, 5, 3, 4).Transpose(1, 2)
	k := rnd(5, 2, 5, 3, 4).Transpose(1, 2)
	v := rnd(6, 2, 5, 3, 4).Transpose(1, 2)
	opt := bp.AttentionOptions{Causal: true}
	if g, w := bp.ScaledDotProductAttention(q, k, v, opt).Float64s(), attnReference(q, k, v, opt).Float64s(); !closeAll(g, w, 1e-14) {
		t.Errorf("non-contiguous: %v, want %v", g, w)
	}
	// A fully masked row is NaN, as in PyTorch's reference.
	m := bp.Int64.Ones(2, 3)
	m.I64()[0], m.I64()[1], m.I64()[2] = 0, 0, 0
	out := bp.ScaledDotProductAttention(rnd(1, 2, 4), rnd(2, 3, 4), rnd(3, 3, 4), bp.AttentionOptions{Mask: m})
	if !math.IsNaN(out.At(0, 0)) || math.IsNaN(out.At(1, 0)) {
		t.Errorf("fully masked row: %v", out.Float64s())
	}
}

func closeAll(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol*(1+math.Abs(b[i])) {
			return false
		}
	}
	return true
}

func TestAttentionGrad(t *testing.T) {
	for _, c := range attnCases() {
		var mask *bp.Tensor
		if c.maskGen != nil {
			mask = c.maskGen()
		}
		f := func(xs ...*bp.Tensor) *bp.Tensor {
			opt := c.opt
			opt.Mask = mask
			return bp.ScaledDotProductAttention(xs[0], xs[1], xs[2], opt)
		}
		q, k, v := rnd(1, 2, 3, c.l, 3), rnd(2, 2, 3, c.s, 3), rnd(3, 2, 3, c.s, 2)
		checkGrad2(t, "attention "+c.name, f, q, k, v)

		// The fused backward against the composite's, float32 too.
		for _, dt := range []bp.DType{bp.Float64, bp.Float32} {
			opt := c.opt
			opt.Mask = mask
			if mask != nil && mask.DType() != bp.Int64 {
				opt.Mask = mask.To(dt)
			}
			var grads [2][]*bp.Tensor
			for i, fn := range []func(q, k, v *bp.Tensor, o bp.AttentionOptions) *bp.Tensor{bp.ScaledDotProductAttention, attnReference} {
				xs := []*bp.Tensor{q.To(dt), k.To(dt), v.To(dt)}
				for j := range xs {
					xs[j] = xs[j].Detach().SetRequiresGrad(true)
				}
				fn(xs[0], xs[1], xs[2], opt).Tanh().Sum().Backward()
				grads[i] = []*bp.Tensor{xs[0].Grad(), xs[1].Grad(), xs[2].Grad()}
			}
			tol := 1e-13
			if dt == bp.Float32 {
				tol = 1e-5
			}
			for j, name := range []string{"dQ", "dK", "dV"} {
				if g, w := grads[0][j].Float64s(), grads[1][j].Float64s(); !closeAll(g, w, tol) {
					t.Errorf("%s %v: fused %s %v, composite %v", c.name, dt, name, g, w)
				}
			}
		}
	}
	// An additive mask that requires a gradient gets it.
	q, k, v := rnd(1, 2, 3, 3), rnd(2, 2, 4, 3), rnd(3, 2, 4, 2)
	checkGrad2(t, "attention with a differentiable mask", func(xs ...*bp.Tensor) *bp.Tensor {
		return bp.ScaledDotProductAttention(xs[0], xs[1], xs[2], bp.AttentionOptions{Mask: xs[3], Causal: true})
	}, q, k, v, rnd(4, 3, 4))
}

// The fused op computes each matrix of the batch on one goroutine: the
// thread count changes no bit.
func TestAttentionThreadIndependent(t *testing.T) {
	defer kernels.SetThreads(0)
	var ref [][]float32
	for _, th := range []int{1, 2, 5} {
		kernels.SetThreads(th)
		q := rnd(1, 3, 4, 16, 8).To(bp.Float32).SetRequiresGrad(true)
		k := rnd(2, 3, 4, 16, 8).To(bp.Float32).SetRequiresGrad(true)
		v := rnd(3, 3, 4, 16, 8).To(bp.Float32).SetRequiresGrad(true)
		out := bp.ScaledDotProductAttention(q, k, v, bp.AttentionOptions{Causal: true})
		out.Square().Sum().Backward()
		got := [][]float32{out.Float32s(), q.Grad().Float32s(), k.Grad().Float32s(), v.Grad().Float32s()}
		if ref == nil {
			ref = got
			continue
		}
		for i := range got {
			for j := range got[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(ref[i][j]) {
					t.Fatalf("threads %d: tensor %d element %d is %v, with 1 thread %v", th, i, j, got[i][j], ref[i][j])
				}
			}
		}
	}
}

func TestAttentionPanics(t *testing.T) {
	q := rnd(1, 2, 3, 4)
	mustPanic(t, "ScaledDotProductAttention: shapes [2 3 4] (q), [2 3 5] (k)", func() {
		bp.ScaledDotProductAttention(q, rnd(1, 2, 3, 5), rnd(1, 2, 3, 5), bp.AttentionOptions{})
	})
	mustPanic(t, "do not fit", func() { bp.ScaledDotProductAttention(q, rnd(1, 3, 3, 4), rnd(1, 3, 3, 4), bp.AttentionOptions{}) })
	mustPanic(t, "mask of shape [4 3] does not broadcast to the scores' shape [2 3 3]", func() {
		bp.ScaledDotProductAttention(q, q, q, bp.AttentionOptions{Mask: bp.Int64.Ones(4, 3)})
	})
	mustPanic(t, "dtypes float64 (q), float32 (k)", func() {
		bp.ScaledDotProductAttention(q, q.To(bp.Float32), q, bp.AttentionOptions{})
	})
	mustPanic(t, "float mask is float32, queries are float64", func() {
		bp.ScaledDotProductAttention(q, q, q, bp.AttentionOptions{Mask: bp.Zeros(3, 3)})
	})
}

// A transformer-style step in a Pool: attention, GELU and the N-d
// cross-entropy give the heap's values and gradients, and a second step
// after Reset takes its storage back from the pool.
func TestSequenceOpsInPool(t *testing.T) {
	rng := bp.NewRNG(3)
	x := rng.Normal(0, 1, 2, 2, 8, 4)
	w := rng.Normal(0, 1, 4, 4).SetRequiresGrad(true)
	tg := bp.FromInts([]int{0, 1, 2, 3, 0, 1, 2, 3, 3, 2, 1, 0, 3, 2, 1, 0}, 2, 8)
	step := func(p *bp.Pool) (float64, []float32) {
		w.ClearGrad()
		in := x
		if p != nil {
			in = x.InPool(p)
		}
		h := in.MatMul(w)
		a := bp.ScaledDotProductAttention(h, h, h, bp.AttentionOptions{Causal: true}).GELU()
		// [2, 2, 8, 4] -> logits [2, 4, 8] (classes on axis 1) by heads summed.
		logits := a.Sum(1).Transpose(1, 2)
		loss := bp.CrossEntropy(logits, tg, bp.CrossEntropyOptions{Ignore: true, IgnoreIndex: 3})
		loss.Backward()
		l := loss.Item()
		if p != nil {
			p.Reset()
		}
		return l, w.Grad().Float32s()
	}
	l0, g0 := step(nil)
	p := bp.NewPool()
	for i := range 2 {
		l, g := step(p)
		if l != l0 || !slices.Equal(g, g0) {
			t.Fatalf("pooled step %d: loss %v, gradient %v; heap %v, %v", i, l, g, l0, g0)
		}
	}
	// The second pooled step reuses the first one's buffers.
	if s := p.Stats(); s.Reused == 0 {
		t.Errorf("the pool reused nothing: %+v", s)
	}
}

// Longer causal matrices (many rows of different live lengths): values
// and all three gradients match the composite's, with and without a mask,
// for an even and an odd length.
func TestAttentionLongCausal(t *testing.T) {
	for _, l := range []int{32, 37} {
		for _, withMask := range []bool{false, true} {
			opt := bp.AttentionOptions{Causal: true}
			if withMask {
				m := bp.Int64.Ones(2, 1, l, l)
				d := m.I64()
				for i := range d {
					if i%7 == 3 && i%l != 0 { // never a whole row
						d[i] = 0
					}
				}
				opt.Mask = m
			}
			var outs [2][]float64
			var grads [2][][]float64
			for i, fn := range []func(q, k, v *bp.Tensor, o bp.AttentionOptions) *bp.Tensor{bp.ScaledDotProductAttention, attnReference} {
				q := rnd(1, 2, 3, l, 5).SetRequiresGrad(true)
				k := rnd(2, 2, 3, l, 5).SetRequiresGrad(true)
				v := rnd(3, 2, 3, l, 4).SetRequiresGrad(true)
				out := fn(q, k, v, opt)
				out.Mul(rnd(4, 2, 3, l, 4)).Sum().Backward()
				outs[i] = out.Float64s()
				grads[i] = [][]float64{q.Grad().Float64s(), k.Grad().Float64s(), v.Grad().Float64s()}
			}
			if !closeAll(outs[0], outs[1], 1e-13) {
				t.Errorf("L=%d mask %v: output differs from the composite", l, withMask)
			}
			for j, name := range []string{"dQ", "dK", "dV"} {
				if !closeAll(grads[0][j], grads[1][j], 1e-12) {
					t.Errorf("L=%d mask %v: %s differs from the composite", l, withMask, name)
				}
			}
		}
	}
}

// Strided inputs are read in place; the results and gradients must be the
// bits of the same attention on contiguous copies, for every layout the
// kernels take in place or copy: heads of one packed projection, a
// broadcast batch axis, a transposed last axis, a single query row, and a
// strided output gradient.
func TestAttentionStridedInputsBitIdentical(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		qkv := rnd(7, 2, 5, 3, 3, 4).To(dt) // [N, L, 3, H, E]
		qkv = qkv.Permute(2, 0, 3, 1, 4)    // [3, N, H, L, E]
		cases := []struct {
			name    string
			q, k, v *bp.Tensor
		}{
			{"packed heads", qkv.Select(0, 0), qkv.Select(0, 1), qkv.Select(0, 2)},
			{"broadcast batch", rnd(8, 2, 1, 5, 4).To(dt).Expand(2, 3, 5, 4), rnd(9, 2, 3, 6, 4).To(dt), rnd(10, 1, 3, 6, 2).To(dt).Expand(2, 3, 6, 2)},
			{"transposed last axis", rnd(11, 2, 4, 5).To(dt).Transpose(1, 2), rnd(12, 2, 4, 6).To(dt).Transpose(1, 2), rnd(13, 2, 6, 3).To(dt)},
			{"one query", rnd(14, 3, 8, 4).To(dt).Narrow(1, 2, 1), rnd(15, 3, 6, 4).To(dt), rnd(16, 3, 6, 4).To(dt)},
		}
		for _, c := range cases {
			for _, causal := range []bool{false, true} {
				opt := bp.AttentionOptions{Causal: causal}
				run := func(contig bool) [][]float64 {
					in := []*bp.Tensor{c.q, c.k, c.v}
					leaves := make([]*bp.Tensor, 3)
					for i, x := range in {
						leaves[i] = x.Contiguous().Detach().SetRequiresGrad(true)
						if contig {
							in[i] = leaves[i]
						} else {
							in[i] = x.Detach().SetRequiresGrad(true)
							leaves[i] = in[i]
						}
					}
					out := bp.ScaledDotProductAttention(in[0], in[1], in[2], opt)
					sh := out.Shape()
					// A gradient with contiguous rows further apart than
					// their length, as a head merge's backward sends.
					nd := len(sh)
					gsh := append([]int(nil), sh...)
					gsh[0], gsh[nd-2] = gsh[nd-2], gsh[0]
					gs := rnd(17, gsh...).To(dt).Transpose(0, nd-2)
					if contig {
						gs = gs.Contiguous()
					}
					out.BackwardWith(gs, bp.BackwardOptions{})
					return [][]float64{out.Float64s(), leaves[0].Grad().Float64s(), leaves[1].Grad().Float64s(), leaves[2].Grad().Float64s()}
				}
				a, b := run(false), run(true)
				for j := range a {
					for i := range a[j] {
						if a[j][i] != b[j][i] && !(math.IsNaN(a[j][i]) && math.IsNaN(b[j][i])) {
							t.Fatalf("%v %s causal=%v: result %d [%d] strided %v, contiguous %v", dt, c.name, causal, j, i, a[j][i], b[j][i])
						}
					}
				}
			}
		}
	}
}
