package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulpAt is the spacing of float32 values at |v|.
func ulpAt(v float64) float64 { return math.Abs(v) / ulpErr(0, v) }

// geluSpecials adds GELU's own regime changes to the transcendentals'.
func geluSpecials() []float32 {
	v := transcSpecials()
	for _, b := range []float32{geluWMax, -geluWMax, erfZMax, -erfZMax, erfSmall, -erfSmall, 14, -14, 10, -10, 0.7518, -0.7518} {
		f := b
		for range 4 {
			f = math.Nextafter32(f, float32(math.Inf(-1)))
		}
		for range 8 {
			v = append(v, f)
			f = math.Nextafter32(f, float32(math.Inf(1)))
		}
	}
	return v
}

// The GELU run kernels (the assembly where there is one) give the Go
// functions' bits at every length, offset and stride.
func TestGELURunsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sp := geluSpecials()
	inputs := func(n int) []float32 {
		x := transcInputs(rng, n)
		for i := range x {
			if rng.IntN(3) == 0 {
				x[i] = sp[rng.IntN(len(sp))]
			}
		}
		return x
	}
	lengths := []int{1000, 4099}
	for n := range 40 {
		lengths = append(lengths, n)
	}
	check := func(name string, got []float32, want func(i int) float32) {
		t.Helper()
		for i, g := range got {
			if w := want(i); !same(g, w) {
				t.Fatalf("%s: [%d] = %v (%#x), scalar %v (%#x)", name, i, g, math.Float32bits(g), w, math.Float32bits(w))
			}
		}
	}
	for _, n := range lengths {
		for _, sx := range []int{1, 2} {
			x := inputs(2 + n*sx)
			g := inputs(2 + n*sx)
			dst := make([]float32, n)
			GELURun(dst, x, 2, sx)
			check("GELURun", dst, func(i int) float32 { return GELU32(x[2+i*sx]) })
			GELUDerivRun(dst, x, 2, sx)
			check("GELUDerivRun", dst, func(i int) float32 { return GELUDeriv32(x[2+i*sx]) })
			GELUBackwardRun(dst, g, 1, sx, x, 2, sx)
			check("GELUBackwardRun", dst, func(i int) float32 { return float32(g[1+i*sx] * GELUDeriv32(x[2+i*sx])) })
			GELUBackwardRun(dst, g, 1, 0, x, 2, sx) // a broadcast gradient
			check("GELUBackwardRun broadcast", dst, func(i int) float32 { return float32(g[1] * GELUDeriv32(x[2+i*sx])) })
		}
	}
	// Every special value in every lane (sixteen: the AVX-512 loop's).
	for k := range 16 {
		x := append(make([]float32, k), sp...)
		dst := make([]float32, len(x))
		GELURun(dst, x, 0, 1)
		check("GELURun specials", dst, func(i int) float32 { return GELU32(x[i]) })
		GELUDerivRun(dst, x, 0, 1)
		check("GELUDerivRun specials", dst, func(i int) float32 { return GELUDeriv32(x[i]) })
	}
}

// sweep calls f on about n float32 values spread evenly (by bit pattern,
// so every binade gets its share) over [lo, hi], lo >= 0, and their
// negatives.
func sweep(lo, hi float32, n int, f func(x float32)) {
	a, b := math.Float32bits(lo), math.Float32bits(hi)
	step := max((b-a)/uint32(n), 1)
	for u := a; u <= b && u >= a; u += step {
		x := math.Float32frombits(u)
		f(x)
		f(-x)
	}
}

// The accuracy of the float32 functions against float64 math, over the
// whole range where their results are not 0, 1 or 2. These bounds are
// what the fits and the float32 evaluation give; see gelu.go.
func TestErfGELUAccuracy(t *testing.T) {
	n := 400000
	if testing.Short() {
		n = 40000
	}
	type worst struct {
		ulp float64
		at  float32
	}
	var erf, erfc, gelu, deriv worst
	note := func(w *worst, e float64, x float32) {
		if e > w.ulp || e != e {
			w.ulp, w.at = e, x
		}
	}
	sweep(0x1p-126, 12, n, func(x float32) {
		note(&erf, ulpErr(Erf32(x), math.Erf(float64(x))), x)
		note(&erfc, ulpErr(Erfc32(x), math.Erfc(float64(x))), x)
	})
	sweep(0x1p-126, 20, n, func(x float32) {
		note(&gelu, ulpErr(GELU32(x), gelu64(float64(x))), x)
		// The derivative Φ(x) + x·φ(x) crosses 0 near x = -0.75: its
		// error is measured in ulps of its larger term, which is what
		// any evaluation of that sum rounds.
		v := float64(x)
		scale := max(0.5*math.Erfc(-v/math.Sqrt2), math.Abs(v)*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi))
		note(&deriv, math.Abs(float64(GELUDeriv32(x))-geluDeriv64(v))/ulpAt(scale), x)
	})
	t.Logf("max error: Erf32 %.2f ulp at %v, Erfc32 %.2f ulp at %v, GELU32 %.2f ulp at %v, GELUDeriv32 %.2f ulp (of its larger term) at %v",
		erf.ulp, erf.at, erfc.ulp, erfc.at, gelu.ulp, gelu.at, deriv.ulp, deriv.at)
	for _, c := range []struct {
		name  string
		w     worst
		bound float64
	}{{"Erf32", erf, 1.5}, {"Erfc32", erfc, 3}, {"GELU32", gelu, 3}, {"GELUDeriv32", deriv, 3}} {
		if !(c.w.ulp <= c.bound) {
			t.Errorf("%s: %.2f ulp at %v, want at most %v", c.name, c.w.ulp, c.w.at, c.bound)
		}
	}
}

func TestErfGELUSpecialValues(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		name    string
		f       func(float32) float32
		in, out float32
	}{
		{"Erf", Erf32, 0, 0}, {"Erf", Erf32, negZero, negZero}, {"Erf", Erf32, inf, 1}, {"Erf", Erf32, -inf, -1},
		{"Erf", Erf32, 5, 1}, {"Erf", Erf32, nan, nan},
		{"Erfc", Erfc32, inf, 0}, {"Erfc", Erfc32, -inf, 2}, {"Erfc", Erfc32, 11, 0},
		{"Erfc", Erfc32, nan, nan},
		{"GELU", GELU32, 0, 0}, {"GELU", GELU32, inf, inf}, {"GELU", GELU32, 30, 30}, {"GELU", GELU32, -30, negZero},
		{"GELU", GELU32, nan, nan}, {"GELU", GELU32, -inf, negZero},
		{"GELUDeriv", GELUDeriv32, 30, 1}, {"GELUDeriv", GELUDeriv32, -30, 0},
		{"GELUDeriv", GELUDeriv32, inf, 1}, {"GELUDeriv", GELUDeriv32, -inf, 0}, {"GELUDeriv", GELUDeriv32, nan, nan},
	}
	// Near 0 the tail formula is within an ulp or two of 1 and 1/2.
	if e := ulpErr(Erfc32(0), 1); e > 2 {
		t.Errorf("Erfc32(0) = %v, %.1f ulp from 1", Erfc32(0), e)
	}
	if e := ulpErr(GELUDeriv32(0), 0.5); e > 2 {
		t.Errorf("GELUDeriv32(0) = %v, %.1f ulp from 1/2", GELUDeriv32(0), e)
	}
	for _, c := range cases {
		if got := c.f(c.in); !same(got, c.out) && !(got == 0 && c.out == 0 && c.name == "GELUDeriv") {
			t.Errorf("%s(%v) = %v, want %v", c.name, c.in, got, c.out)
		}
	}
}
