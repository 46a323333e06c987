package backprop_test

import (
	"fmt"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// MatMul throughput in float32. Square sizes, then the products of one
// training step of a 784-512-512 MLP at batch 128: the two forward layers,
// and the backward products, whose transposed operands are views (X.T(),
// W.T()) that the kernel reads in place. Compare with
// internal/kernels' BenchmarkGonumSgemm (same shapes) and with
// ../shared/bench. Short runs suffice: -bench MatMul -benchtime=3x.

func benchMatMul(b *testing.B, x, w *bp.Tensor, m, n, k int) {
	b.ReportAllocs()
	for b.Loop() {
		x.MatMul(w)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkMatMul(b *testing.B) {
	rng := bp.NewRNG(1)
	for _, n := range []int{128, 256, 512, 1024} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			x, w := rng.Normal(0, 1, n, n), rng.Normal(0, 1, n, n)
			benchMatMul(b, x, w, n, n, n)
		})
	}
	const batch, in, hid = 128, 784, 512
	x := rng.Normal(0, 1, batch, in)
	h := rng.Normal(0, 1, batch, hid)
	w1 := rng.Normal(0, 1, in, hid)
	w2 := rng.Normal(0, 1, hid, hid)
	g := rng.Normal(0, 1, batch, hid)
	b.Run("X*W1/128x784x512", func(b *testing.B) { benchMatMul(b, x, w1, batch, hid, in) })
	b.Run("H*W2/128x512x512", func(b *testing.B) { benchMatMul(b, h, w2, batch, hid, hid) })
	b.Run("XT*G/784x128x512", func(b *testing.B) { benchMatMul(b, x.T(), g, in, hid, batch) })
	b.Run("G*W1T/128x512x784", func(b *testing.B) { benchMatMul(b, g, w1.T(), batch, in, hid) })
}
