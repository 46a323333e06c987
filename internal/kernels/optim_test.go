package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The optimizer kernels (assembly on amd64, the Go loops with -tags purego)
// against per-element reference formulas written out here, bit for bit, at
// every length up to 70 (around the 16- and 8-wide loops and their tails),
// at lengths that take the parallel path, and on values that include NaN,
// ±Inf and ±0. The explicit conversions keep the references unfused under
// any GOAMD64.

var optimTestLens = func() []int {
	var ns []int
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, optimParMin-1, optimParMin, 3*optimChunk+13)
}()

// optimInputs returns k slices of n values, mostly random, some special.
func optimInputs(rng *rand.Rand, n, k int) [][]float32 {
	s := make([][]float32, k)
	for i := range s {
		s[i] = specialValues(rng, n)
	}
	return s
}

func clone32(s []float32) []float32 { return append([]float32(nil), s...) }

func checkSame32(t *testing.T, what string, n int, got, want []float32) {
	t.Helper()
	for i := range want {
		if !sameF32(got[i], want[i]) {
			t.Fatalf("%s n=%d: element %d is %v (%#x), want %v (%#x)", what, n, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func TestSGDKernelsFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const mom, damp1, negLR = float32(0.9), float32(0.75), float32(-0.01)
	for _, n := range optimTestLens {
		in := optimInputs(rng, n, 3)
		p, g, buf := in[0], in[1], in[2]

		wp := clone32(p)
		for i := range wp {
			wp[i] = wp[i] + float32(negLR*g[i])
		}
		gp := clone32(p)
		SGDPlain(gp, g, negLR)
		checkSame32(t, "SGDPlain p", n, gp, wp)

		wp, wb := clone32(p), clone32(buf)
		for i := range wp {
			wb[i] = float32(wb[i]*mom) + float32(damp1*g[i])
			wp[i] = wp[i] + float32(negLR*wb[i])
		}
		gp, gb := clone32(p), clone32(buf)
		SGDMomentum(gp, g, gb, mom, damp1, negLR)
		checkSame32(t, "SGDMomentum buf", n, gb, wb)
		checkSame32(t, "SGDMomentum p", n, gp, wp)
	}
}

func adamRef32(p, g, m, v []float32, a AdamArgs[float32]) {
	for i := range p {
		gi := g[i]
		if a.WeightDecay != 0 {
			gi = gi + float32(a.WeightDecay*p[i])
		}
		if a.Decay != 1 {
			p[i] = p[i] * a.Decay
		}
		m[i] = float32(m[i]*a.Beta1) + float32(a.Beta1c*gi)
		v[i] = float32(v[i]*a.Beta2) + float32(float32(a.Beta2c*gi)*gi)
		d := sqrt32(v[i])/a.BC2Sqrt + a.Eps
		p[i] = p[i] + float32(a.NegStep*m[i])/d
	}
}

func TestAdamKernelFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	base := AdamArgs[float32]{Beta1: 0.9, Beta1c: 0.1, Beta2: 0.999, Beta2c: 0.001, Decay: 1, NegStep: -0.0123, BC2Sqrt: 0.0447, Eps: 1e-8}
	for cfg := range 4 {
		a := base
		if cfg&1 != 0 {
			a.WeightDecay = 0.01
		}
		if cfg&2 != 0 {
			a.Decay = 0.99
		}
		for _, n := range optimTestLens {
			in := optimInputs(rng, n, 4)
			p, g, m, v := in[0], in[1], in[2], in[3]
			for i := range v {
				if rng.IntN(2) == 0 {
					v[i] = float32(math.Abs(float64(v[i]))) // mostly valid, some negative → NaN
				}
			}
			wp, wm, wv := clone32(p), clone32(m), clone32(v)
			adamRef32(wp, g, wm, wv, a)
			gp, gm, gv := clone32(p), clone32(m), clone32(v)
			Adam(gp, g, gm, gv, a)
			what := []string{"Adam", "Adam+wd", "AdamW", "Adam+wd+decay"}[cfg]
			checkSame32(t, what+" m", n, gm, wm)
			checkSame32(t, what+" v", n, gv, wv)
			checkSame32(t, what+" p", n, gp, wp)
		}
	}
}

func TestRMSpropKernelFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const alpha, alpha1, eps, mom, negLR = float32(0.99), float32(0.01), float32(1e-8), float32(0.9), float32(-0.01)
	for _, withMom := range []bool{false, true} {
		for _, n := range optimTestLens {
			in := optimInputs(rng, n, 4)
			p, g, sq, buf := in[0], in[1], in[2], in[3]
			wp, wsq, wbuf := clone32(p), clone32(sq), clone32(buf)
			for i := range wp {
				wsq[i] = float32(wsq[i]*alpha) + float32(float32(alpha1*g[i])*g[i])
				d := sqrt32(wsq[i]) + eps
				if withMom {
					wbuf[i] = float32(wbuf[i]*mom) + g[i]/d
					wp[i] = wp[i] + float32(negLR*wbuf[i])
				} else {
					wp[i] = wp[i] + float32(negLR*g[i])/d
				}
			}
			gp, gsq, gbuf := clone32(p), clone32(sq), clone32(buf)
			if withMom {
				RMSprop(gp, g, gsq, gbuf, alpha, alpha1, eps, mom, negLR)
			} else {
				RMSprop(gp, g, gsq, nil, alpha, alpha1, eps, mom, negLR)
			}
			what := "RMSprop"
			if withMom {
				what += "+momentum"
			}
			checkSame32(t, what+" sq", n, gsq, wsq)
			checkSame32(t, what+" buf", n, gbuf, wbuf)
			checkSame32(t, what+" p", n, gp, wp)
		}
	}
}

// float64 runs the Go loops; check them against the same formulas.
func TestOptimKernelsFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 17, optimParMin + 3} {
		r := func() []float64 {
			s := make([]float64, n)
			for i := range s {
				s[i] = rng.NormFloat64()
			}
			return s
		}
		p, g, b1, b2 := r(), r(), r(), r()
		for i := range b2 {
			b2[i] = math.Abs(b2[i])
		}
		cl := func(s []float64) []float64 { return append([]float64(nil), s...) }
		same := func(what string, got, want []float64) {
			t.Helper()
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s n=%d: element %d is %v, want %v", what, n, i, got[i], want[i])
				}
			}
		}

		gp, gb := cl(p), cl(b1)
		SGDMomentum(gp, g, gb, 0.9, 1, -0.1)
		wp, wb := cl(p), cl(b1)
		for i := range wp {
			wb[i] = float64(wb[i]*0.9) + float64(1*g[i])
			wp[i] += float64(-0.1 * wb[i])
		}
		same("SGDMomentum64 p", gp, wp)
		same("SGDMomentum64 buf", gb, wb)

		a := AdamArgs[float64]{Beta1: 0.9, Beta1c: 0.1, Beta2: 0.999, Beta2c: 0.001, WeightDecay: 0.01, Decay: 0.999, NegStep: -0.01, BC2Sqrt: 0.03, Eps: 1e-8}
		gp, gm, gv := cl(p), cl(b1), cl(b2)
		Adam(gp, g, gm, gv, a)
		wp, wm, wv := cl(p), cl(b1), cl(b2)
		for i := range wp {
			gi := g[i] + float64(a.WeightDecay*wp[i])
			wp[i] *= a.Decay
			wm[i] = float64(wm[i]*a.Beta1) + float64(a.Beta1c*gi)
			wv[i] = float64(wv[i]*a.Beta2) + float64(a.Beta2c*gi*gi)
			wp[i] += a.NegStep * wm[i] / (math.Sqrt(wv[i])/a.BC2Sqrt + a.Eps)
		}
		same("Adam64 p", gp, wp)
		same("Adam64 m", gm, wm)
		same("Adam64 v", gv, wv)
	}
}

// The parallel path allocates nothing (optimizer steps are allocation
// free) and gives the same bits on any number of threads.
func TestOptimKernelsParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := 5*optimChunk + 7
	in := optimInputs(rng, n, 4)
	a := AdamArgs[float32]{Beta1: 0.9, Beta1c: 0.1, Beta2: 0.999, Beta2c: 0.001, Decay: 1, NegStep: -0.01, BC2Sqrt: 0.03, Eps: 1e-8}
	run := func(th int) [][]float32 {
		defer SetThreads(0)
		SetThreads(th)
		p, m, v, b := clone32(in[0]), clone32(in[2]), clone32(in[3]), clone32(in[3])
		Adam(p, in[1], m, v, a)
		SGDMomentum(p, in[1], b, 0.9, 1, -0.01)
		return [][]float32{p, m, v, b}
	}
	one, two := run(1), run(2)
	for k := range one {
		checkSame32(t, "threads 1 vs 2", n, two[k], one[k])
	}
	p, g, m, v := clone32(in[0]), in[1], clone32(in[2]), clone32(in[3])
	Adam(p, g, m, v, a) // fill the job pool
	if allocs := testing.AllocsPerRun(10, func() {
		Adam(p, g, m, v, a)
		SGDMomentum(p, g, m, 0.9, 1, -0.01)
		SGDPlain(p, g, -0.01)
		RMSprop(p, g, v, m, 0.99, 0.01, 1e-8, 0.9, -0.01)
	}); allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per update", allocs)
	}
}

func TestOptimKernelsShortSlices(t *testing.T) {
	p := make([]float32, 10)
	defer func() {
		if recover() == nil {
			t.Error("short gradient: no panic")
		}
	}()
	SGDPlain(p, make([]float32, 9), 1)
}
