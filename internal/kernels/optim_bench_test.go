package kernels

import (
	"math/rand/v2"
	"testing"
)

// The optimizer updates over the MLP benchmark's 670,000 float32
// parameters: "kernel" is the exported kernel (assembly, parallel), "go"
// the portable loop on one goroutine, for comparison. Run with
// -benchtime=200x or so; each op is about a millisecond or less.
func BenchmarkOptimKernels(b *testing.B) {
	const n = 670000
	rng := rand.New(rand.NewPCG(1, 1))
	in := optimInputs(rng, n, 4)
	for i := range in[0] { // finite values: no NaN slow paths
		for _, s := range in {
			s[i] = float32(rng.NormFloat64())
		}
		in[3][i] = in[3][i] * in[3][i]
	}
	p, g, a, v := in[0], in[1], in[2], in[3]
	adam := AdamArgs[float32]{Beta1: 0.9, Beta1c: 0.1, Beta2: 0.999, Beta2c: 0.001, Decay: 1, NegStep: -1e-6, BC2Sqrt: 0.5, Eps: 1e-8}
	c := adam.pack()
	rms := [9]float32{0.99, 0.01, 1e-8, 0, -1e-6}
	cases := []struct {
		name string
		f    func()
	}{
		{"SGDPlain/kernel", func() { SGDPlain(p, g, -1e-6) }},
		{"SGDPlain/go", func() { sgdPlainGo(p, g, -1e-6) }},
		{"SGDMomentum/kernel", func() { SGDMomentum(p, g, a, 0.5, 1, -1e-6) }},
		{"SGDMomentum/go", func() { sgdMomentumGo(p, g, a, 0.5, 1, -1e-6) }},
		{"Adam/kernel", func() { Adam(p, g, a, v, adam) }},
		{"Adam/go", func() { adamGo(p, g, a, v, &c) }},
		{"RMSprop/kernel", func() { RMSprop(p, g, v, nil, 0.99, 0.01, 1e-8, 0, -1e-6) }},
		{"RMSprop/go", func() { rmspropGo(p, g, v, nil, &rms) }},
	}
	for _, k := range cases {
		b.Run(k.name, func(b *testing.B) {
			k.f()
			b.ResetTimer()
			for range b.N {
				k.f()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
		})
	}
}
