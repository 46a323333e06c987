package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// Causal self-attention at the GPT's shapes (batch 32, 4 heads, context
// 64, head size 32), float32: the fused op against the same attention
// written with MatMul, MaskedFill and Softmax.
//
//	go test -run NONE -bench Attention -cpu 1 .
func BenchmarkAttention(b *testing.B) {
	rng := bp.NewRNG(1)
	q, k, v := rng.Normal(0, 1, 32, 4, 64, 32), rng.Normal(0, 1, 32, 4, 64, 32), rng.Normal(0, 1, 32, 4, 64, 32)
	mask := bp.Int64.Ones(64, 64).Triu(1)
	composite := func(q, k, v *bp.Tensor) *bp.Tensor {
		s := q.MatMul(k.Transpose(-2, -1)).MulScalar(1 / math.Sqrt(32))
		return s.MaskedFill(mask, math.Inf(-1)).Softmax(-1).MatMul(v)
	}
	fused := func(q, k, v *bp.Tensor) *bp.Tensor {
		return bp.ScaledDotProductAttention(q, k, v, bp.AttentionOptions{Causal: true})
	}
	for _, impl := range []struct {
		name string
		f    func(q, k, v *bp.Tensor) *bp.Tensor
	}{{"fused", fused}, {"composite", composite}} {
		p := bp.NewPool()
		b.Run(impl.name+"/forward", func(b *testing.B) {
			benchOp(b, 0, p, func() *bp.Tensor { return impl.f(q.InPool(p), k, v) })
		})
		b.Run(impl.name+"/forward+backward", func(b *testing.B) {
			qr, kr, vr := q.Detach().SetRequiresGrad(true), k.Detach().SetRequiresGrad(true), v.Detach().SetRequiresGrad(true)
			g := bp.OnesLike(q)
			benchOp(b, 0, p, func() *bp.Tensor {
				y := impl.f(qr.InPool(p), kr, vr)
				y.BackwardWith(g, bp.BackwardOptions{})
				return y
			})
		})
	}
}
