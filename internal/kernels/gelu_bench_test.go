package kernels

import (
	"math/rand/v2"
	"testing"
)

// The GELU kernels alone, on 64K float32 values (in L2):
//
//	go test -run NONE -bench 'GELU|Exp32Run' .
func BenchmarkGELUKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	dst := make([]float32, len(x))
	for _, k := range []struct {
		name string
		f    func()
	}{
		{"GELU", func() { GELURun(dst, x, 0, 1) }},
		{"GELUBackward", func() { GELUBackwardRun(dst, x, 0, 1, x, 0, 1) }},
		{"Exp", func() { ExpRun(dst, x, 0, 1) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(8 * len(x)))
			for b.Loop() {
				k.f()
			}
		})
	}
}
