package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// splitAttention is PackedSelfAttention's definition: split, attend, merge.
func splitAttention(qkv *bp.Tensor, heads int, opt bp.AttentionOptions) *bp.Tensor {
	n, l, e := qkv.Size(0), qkv.Size(1), qkv.Size(2)/3
	x := qkv.Reshape(n, l, 3, heads, e/heads).Permute(2, 0, 3, 1, 4)
	y := bp.ScaledDotProductAttention(x.Select(0, 0), x.Select(0, 1), x.Select(0, 2), opt)
	return y.Transpose(1, 2).Reshape(n, l, e)
}

func TestPackedSelfAttentionBitIdentical(t *testing.T) {
	boolMask := bp.Int64.Ones(5, 5)
	boolMask.I64()[3] = 0
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		for _, opt := range []bp.AttentionOptions{
			{}, {Causal: true}, {Mask: boolMask}, {Mask: rnd(3, 2, 1, 5, 5).To(dt), Causal: true}, {Scale: 0.3},
		} {
			run := func(packed bool) [][]float64 {
				x := rnd(1, 2, 5, 3*6).To(dt).SetRequiresGrad(true)
				var y *bp.Tensor
				if packed {
					y = bp.PackedSelfAttention(x, 3, opt)
				} else {
					y = splitAttention(x, 3, opt)
				}
				// A strided output gradient, as the next layer may send.
				g := rnd(2, 5, 2, 6).To(dt).Transpose(0, 1)
				y.BackwardWith(g, bp.BackwardOptions{})
				return [][]float64{y.Float64s(), x.Grad().Float64s()}
			}
			a, b := run(true), run(false)
			for j := range a {
				for i := range a[j] {
					if a[j][i] != b[j][i] {
						t.Fatalf("%v %+v: result %d [%d]: packed %v, split %v", dt, opt, j, i, a[j][i], b[j][i])
					}
				}
			}
		}
	}
}

func TestPackedSelfAttentionGrad(t *testing.T) {
	f := func(xs ...*bp.Tensor) *bp.Tensor {
		return bp.PackedSelfAttention(xs[0], 2, bp.AttentionOptions{Causal: true})
	}
	checkGrad2(t, "PackedSelfAttention causal", f, rnd(4, 2, 3, 3*4))
	// A float mask with a gradient takes the composite form.
	fm := func(xs ...*bp.Tensor) *bp.Tensor {
		return bp.PackedSelfAttention(xs[0], 1, bp.AttentionOptions{Mask: xs[1]})
	}
	checkGrad2(t, "PackedSelfAttention float mask", fm, rnd(5, 1, 3, 3*2), rnd(6, 3, 3))
	// The composite agrees with the fused form.
	x, m := rnd(7, 2, 4, 3*4), rnd(8, 4, 4)
	a := bp.PackedSelfAttention(x, 2, bp.AttentionOptions{Mask: m.Detach().SetRequiresGrad(true)}).Float64s()
	b := bp.PackedSelfAttention(x, 2, bp.AttentionOptions{Mask: m}).Float64s()
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			t.Fatalf("composite [%d] = %v, fused %v", i, a[i], b[i])
		}
	}
}

func TestPackedSelfAttentionBadInput(t *testing.T) {
	mustPanic(t, "backprop: PackedSelfAttention: input of shape [2 3 10] is not [N, L, 3E] with E a multiple of 2 heads", func() {
		bp.PackedSelfAttention(rnd(1, 2, 3, 10), 2, bp.AttentionOptions{})
	})
	mustPanic(t, "backprop: PackedSelfAttention: input of shape [2 12] is not [N, L, 3E] with E a multiple of 2 heads", func() {
		bp.PackedSelfAttention(rnd(1, 2, 12), 2, bp.AttentionOptions{})
	})
}
