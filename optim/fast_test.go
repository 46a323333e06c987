package optim_test

import (
	"math"
	"math/rand/v2"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/optim"
)

// The float32 steps that go to the vector kernels (internal/kernels) give,
// over several steps, exactly the bits of the scalar update rules written
// out here in float32 with constants rounded as the optimizers round them.
// One parameter is short (the kernels' scalar tail), one long enough to be
// split over the workers. The explicit conversions keep the references
// unfused under any GOAMD64.

// fastRef is a reference optimizer over flat float32 values: step updates
// p in place from g at update t (from 1), keeping its own buffers.
type fastRef func(p, g []float32, t int)

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func sgdRef(lr, momentum, dampening float64) func(n int) fastRef {
	return func(n int) fastRef {
		buf := make([]float32, n)
		mom, damp1, negLR := float32(momentum), float32(1-dampening), float32(-lr)
		return func(p, g []float32, t int) {
			for i := range p {
				d := g[i]
				if momentum != 0 {
					if t == 1 {
						buf[i] = d
					} else {
						buf[i] = float32(buf[i]*mom) + float32(damp1*d)
					}
					d = buf[i]
				}
				p[i] = p[i] + float32(negLR*d)
			}
		}
	}
}

func adamRef(lr, beta1, beta2, eps, wd float64, decoupled bool) func(n int) fastRef {
	return func(n int) fastRef {
		m, v := make([]float32, n), make([]float32, n)
		return func(p, g []float32, t int) {
			negStep := float32(-(lr / (1 - math.Pow(beta1, float64(t)))))
			bc2sqrt := float32(math.Sqrt(1 - math.Pow(beta2, float64(t))))
			b1, b1c, b2, b2c, e := float32(beta1), float32(1-beta1), float32(beta2), float32(1-beta2), float32(eps)
			for i := range p {
				gi := g[i]
				if decoupled {
					p[i] = p[i] * float32(1-lr*wd)
				} else if wd != 0 {
					// The gradient reads p before any other change.
					gi = gi + float32(float32(wd)*p[i])
				}
				m[i] = float32(m[i]*b1) + float32(b1c*gi)
				v[i] = float32(v[i]*b2) + float32(float32(b2c*gi)*gi)
				p[i] = p[i] + float32(negStep*m[i])/(sqrt32(v[i])/bc2sqrt+e)
			}
		}
	}
}

func rmspropRef(lr, alpha, eps, momentum float64) func(n int) fastRef {
	return func(n int) fastRef {
		sq, buf := make([]float32, n), make([]float32, n)
		a, a1, e, mom, negLR := float32(alpha), float32(1-alpha), float32(eps), float32(momentum), float32(-lr)
		return func(p, g []float32, t int) {
			for i := range p {
				sq[i] = float32(sq[i]*a) + float32(float32(a1*g[i])*g[i])
				d := sqrt32(sq[i]) + e
				if momentum > 0 {
					buf[i] = float32(buf[i]*mom) + g[i]/d
					p[i] = p[i] + float32(negLR*buf[i])
				} else {
					p[i] = p[i] + float32(negLR*g[i])/d
				}
			}
		}
	}
}

func TestFastPathsMatchScalarRules(t *testing.T) {
	cases := []struct {
		name string
		opt  func([]optim.Param) optim.Optimizer
		ref  func(n int) fastRef
	}{
		{"SGD", func(ps []optim.Param) optim.Optimizer { return optim.NewSGD(ps, 0.1) }, sgdRef(0.1, 0, 0)},
		{"SGD momentum", func(ps []optim.Param) optim.Optimizer {
			return optim.NewSGD(ps, 0.05, optim.Momentum(0.9))
		}, sgdRef(0.05, 0.9, 0)},
		{"SGD dampening", func(ps []optim.Param) optim.Optimizer {
			return optim.NewSGD(ps, 0.05, optim.Momentum(0.8), optim.Dampening(0.3))
		}, sgdRef(0.05, 0.8, 0.3)},
		{"Adam", func(ps []optim.Param) optim.Optimizer { return optim.NewAdam(ps, 0.01) }, adamRef(0.01, 0.9, 0.999, 1e-8, 0, false)},
		{"Adam weight decay", func(ps []optim.Param) optim.Optimizer {
			return optim.NewAdam(ps, 0.01, optim.Betas(0.8, 0.99), optim.WeightDecay(0.1))
		}, adamRef(0.01, 0.8, 0.99, 1e-8, 0.1, false)},
		{"AdamW", func(ps []optim.Param) optim.Optimizer {
			return optim.NewAdamW(ps, 0.01, optim.Eps(1e-6))
		}, adamRef(0.01, 0.9, 0.999, 1e-6, 0.01, true)},
		{"RMSprop", func(ps []optim.Param) optim.Optimizer { return optim.NewRMSprop(ps, 0.01) }, rmspropRef(0.01, 0.99, 1e-8, 0)},
		{"RMSprop momentum", func(ps []optim.Param) optim.Optimizer {
			return optim.NewRMSprop(ps, 0.01, optim.Momentum(0.5), optim.Alpha(0.9))
		}, rmspropRef(0.01, 0.9, 1e-8, 0.5)},
	}
	sizes := []int{37, 40003}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(1, 2))
		randn := func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
			return s
		}
		var ps []optim.Param
		var want [][]float32
		var refs []fastRef
		for k, n := range sizes {
			init := randn(n)
			ps = append(ps, optim.Param{Name: string(rune('a' + k)), T: bp.FromFloat32s(append([]float32(nil), init...), n).SetRequiresGrad(true)})
			want = append(want, init)
			refs = append(refs, c.ref(n))
		}
		opt := c.opt(ps)
		for step := 1; step <= 4; step++ {
			for k, n := range sizes {
				g := randn(n)
				ps[k].T.SetGrad(bp.FromFloat32s(g, n))
				refs[k](want[k], g, step)
			}
			opt.Step()
			for k := range sizes {
				got := ps[k].T.Float32s()
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[k][i]) {
						t.Fatalf("%s step %d, param of %d: element %d is %v, want %v", c.name, step, sizes[k], i, got[i], want[k][i])
					}
				}
			}
		}
	}
}

// Step over the MLP benchmark's 670,000 float32 parameters, in one tensor.
func benchOptStep(b *testing.B, mk func([]optim.Param) optim.Optimizer) {
	const n = 670000
	w := bp.Float32.Full(0.5, n).SetRequiresGrad(true)
	w.SetGrad(bp.Float32.Full(0.01, n))
	o := mk([]optim.Param{{Name: "w", T: w}})
	o.Step()
	b.ResetTimer()
	for range b.N {
		o.Step()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
}

func BenchmarkStepSGDMomentum(b *testing.B) {
	benchOptStep(b, func(p []optim.Param) optim.Optimizer { return optim.NewSGD(p, 0.01, optim.Momentum(0.9)) })
}

func BenchmarkStepSGD(b *testing.B) {
	benchOptStep(b, func(p []optim.Param) optim.Optimizer { return optim.NewSGD(p, 0.01) })
}

func BenchmarkStepAdam(b *testing.B) {
	benchOptStep(b, func(p []optim.Param) optim.Optimizer { return optim.NewAdam(p, 0.001) })
}

func BenchmarkStepAdamW(b *testing.B) {
	benchOptStep(b, func(p []optim.Param) optim.Optimizer { return optim.NewAdamW(p, 0.001) })
}

func BenchmarkStepRMSprop(b *testing.B) {
	benchOptStep(b, func(p []optim.Param) optim.Optimizer { return optim.NewRMSprop(p, 0.001) })
}
