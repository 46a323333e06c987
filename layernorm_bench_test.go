package backprop_test

import (
	"testing"

	bp "github.com/gobackprop/backprop"
)

// LayerNorm forward and forward+backward in float32 at the GPT's size
// (batch 32 x context 64 rows of width 128, with weight and bias):
//
//	go test -run NONE -bench LayerNorm -cpu 1 .
func BenchmarkLayerNorm(b *testing.B) {
	rng := bp.NewRNG(1)
	x := rng.Normal(0, 1, 2048, 128)
	w := rng.Normal(1, 0.1, 128).SetRequiresGrad(true)
	bias := rng.Normal(0, 0.1, 128).SetRequiresGrad(true)
	p := bp.NewPool()
	b.Run("forward", func(b *testing.B) {
		benchOp(b, 2*4*x.Numel(), p, func() *bp.Tensor {
			return bp.LayerNorm(x.InPool(p), []int{128}, w, bias, 1e-5)
		})
	})
	b.Run("forward+backward", func(b *testing.B) {
		xr := x.Detach().SetRequiresGrad(true)
		g := bp.OnesLike(x)
		benchOp(b, 5*4*x.Numel(), p, func() *bp.Tensor {
			y := bp.LayerNorm(xr.InPool(p), []int{128}, w, bias, 1e-5)
			y.BackwardWith(g, bp.BackwardOptions{})
			return y
		})
	})
}
