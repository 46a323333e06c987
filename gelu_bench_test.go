package backprop_test

import (
	"testing"

	bp "github.com/gobackprop/backprop"
)

// GELU forward and forward+backward in float32 at the GPT's MLP
// activation size (batch 32 x context 64 rows of width 512):
//
//	go test -run NONE -bench GELU -cpu 1 .
func BenchmarkGELU(b *testing.B) {
	x := bp.NewRNG(1).Normal(0, 1, 2048, 512)
	p := bp.NewPool()
	b.Run("forward", func(b *testing.B) {
		benchOp(b, 2*4*x.Numel(), p, func() *bp.Tensor { return x.InPool(p).GELU() })
	})
	b.Run("forward+backward", func(b *testing.B) {
		xr := x.Detach().SetRequiresGrad(true)
		g := bp.OnesLike(x)
		benchOp(b, 5*4*x.Numel(), p, func() *bp.Tensor {
			y := xr.InPool(p).GELU()
			y.BackwardWith(g, bp.BackwardOptions{})
			return y
		})
	})
	b.Run("tanh/forward", func(b *testing.B) {
		benchOp(b, 2*4*x.Numel(), p, func() *bp.Tensor { return x.InPool(p).GELUTanh() })
	})
}
