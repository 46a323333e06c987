package kernels

import "math"

// The error function and GELU in float32 arithmetic, on the pattern of
// transc.go: every product is converted to its type explicitly, so that
// no FMA is fused in, and gelu_amd64.s performs the same operations in the
// same order; the Go functions and the assembly agree bit for bit.
//
// The tail of the normal distribution is written as
//
//	erfc(z) = u·h(u)·e^(-z²),  u = 2/(2+z),  z ≥ 0,
//
// where h(u) = erfc(z)·e^(z²)/u runs smoothly from 1/(2√π) at u = 0
// (z = ∞) to 1 at u = 1 (z = 0). h is a degree-10 polynomial in u fitted on
// z in [0, 11.5] (beyond, erfc is below the smallest float32) for
// relative error. u and h(u) are computed in float64 (four lanes at a time
// in the assembly), which halves the error of doing it in float32: the
// rounding of u and of the polynomial's steps was most of it.
// e^(-z²) would lose everything to the rounding of z² (its relative
// error grows as z² times z²'s); so z is split into zh, its leading 12
// bits, whose square is exact, and zl = z - zh, and
// e^(-z²) = e^(-zh² - zl·(z+zh)) is computed from the exact -zh² and the
// small -zl·(z+zh) without adding them (expSplit). The measured errors
// are in gelu_test.go.
//
// Φ(x), the standard normal CDF, is erfc(-x/√2)/2; GELU divides the
// constants by √2 rather than x, so for w = |x|, Φ(-w) = u·h(u)·e^(-w²/2)/2
// with u = 2√2/(2√2 + w), and e^(-w²/2) is split the same way.

const (
	// h(u), degree 10, fitted for relative error (about 0.07 ulp of
	// float32).
	erfH0  = 0x1.20dc848c6f681p-2
	erfH1  = 0x1.20f5d9f0c6526p-2
	erfH2  = 0x1.f77d294b90ab0p-3
	erfH3  = 0x1.7428b9190019fp-3
	erfH4  = 0x1.1ae82a128906ep-4
	erfH5  = 0x1.41a1af6f12b80p-10
	erfH6  = 0x1.0eb89570144e5p-5
	erfH7  = -0x1.648789624b842p-2
	erfH8  = 0x1.af2514072cc28p-2
	erfH9  = -0x1.a6ca61b09effep-3
	erfH10 = 0x1.3a7cbf56c020cp-5

	// erf(z) = z·P(z²) below erfSmall, a fit for relative error.
	erfSmall float32 = 0.75
	erfS0            = 0x1.20dd75040ac62p+0
	erfS1            = -0x1.8127465d971d0p-2
	erfS2            = 0x1.ce2efd509b664p-4
	erfS3            = -0x1.b826dcedb040cp-6
	erfS4            = 0x1.55e112c409148p-8
	erfS5            = -0x1.b60a0cc947580p-11
	erfS6            = 0x1.8cba51880a100p-14

	// splitMask keeps a float32's sign, exponent and 12 leading
	// significant bits: the square of the result is exact.
	splitMask = 0xfffff000

	geluK                  = 2 * math.Sqrt2 // 2√2, as a float64
	geluInvSqrt2Pi float32 = 0x1.988454p-2  // 1/√(2π)
	// Beyond geluWMax, Φ(-w) and e^(-w²/2) are 0 in float32; clamping
	// there keeps an infinite w from making ∞ - ∞ in the split.
	geluWMax float32 = 16
	erfZMax  float32 = 11
)

// erfTailH evaluates the polynomial h(u), in float64, by Estrin's
// scheme: its steps depend on each other four deep rather than ten, so
// the vector loop is not held up waiting for each one.
func erfTailH(u float64) float64 {
	u2 := float64(u * u)
	u4 := float64(u2 * u2)
	u8 := float64(u4 * u4)
	a0 := float64(erfH1*u) + erfH0
	a1 := float64(erfH3*u) + erfH2
	a2 := float64(erfH5*u) + erfH4
	a3 := float64(erfH7*u) + erfH6
	a4 := float64(erfH9*u) + erfH8
	b0 := a0 + float64(a1*u2)
	b1 := a2 + float64(a3*u2)
	b2 := a4 + float64(erfH10*u2)
	d0 := b0 + float64(b1*u4)
	return d0 + float64(b2*u8)
}

// expSplit prepares e^(a+b) for an exact a and a small b (|b| < 1/8),
// as Exp32 does for one argument: it returns p, within [0.7, 1.5], and
// two powers of 2 with e^(a+b) = p·s1·s2. Keeping a and b apart saves the
// rounding of a+b, whose error would be |a| times larger than b's; a - n·ln2
// is exact (see Exp32's expC1), and b joins the small remainder. a must
// lie in [-130, 0], where both scale factors are normal numbers.
func expSplit(a, b float32) (p, s1, s2 float32) {
	t := float32((a+b)*expLog2e) + expMagic
	nf := t - expMagic
	n := int32(math.Float32bits(t) - math.Float32bits(expMagic))
	r := a - float32(nf*expC1)
	r = r + b
	r = r - float32(nf*expC2)
	q := float32(expP6*r) + expP5
	q = float32(q*r) + expP4
	q = float32(q*r) + expP3
	q = float32(q*r) + expP2
	p = float32(q*float32(r*r)) + r
	p = p + 1
	n1 := n >> 1
	s1 = math.Float32frombits(uint32(n1+127) << 23)
	s2 = math.Float32frombits(uint32(n-n1+127) << 23)
	return p, s1, s2
}

// scaled returns c·p·s1·s2 for the parts of expSplit, rounding to a
// denormal (if the result is one) only once, at the end.
func scaled(p, c, s1, s2 float32) float32 {
	return float32(float32(float32(p*c)*s1) * s2)
}

// negSqParts returns expSplit's parts of e^(-k·v²) for k = 1 or 1/2 and
// v >= 0, through the exact split of v described above.
func negSqParts(v, k float32) (p, s1, s2 float32) {
	vh := math.Float32frombits(math.Float32bits(v) & splitMask)
	vl := v - vh
	a := float32(float32(vh*vh) * -k)
	b := float32(float32(vl*float32(v+vh)) * -k)
	return expSplit(a, b)
}

// Erfc32 returns the complementary error function 1 - erf(x) in float32;
// gelu_test.go measures its error against math.Erfc.
func Erfc32(x float32) float32 {
	z := math.Float32frombits(math.Float32bits(x) &^ signBit32)
	if erfZMax < z {
		z = erfZMax
	}
	u := 2 / (2 + float64(z))
	p, s1, s2 := negSqParts(z, 1)
	r := scaled(p, float32(float64(u*erfTailH(u))), s1, s2)
	if x < 0 {
		return 2 - r
	}
	return r
}

// Erf32 returns the error function in float32; gelu_test.go measures its
// error against math.Erf.
func Erf32(x float32) float32 {
	b := math.Float32bits(x)
	z := math.Float32frombits(b &^ signBit32)
	var y float32
	if z < erfSmall {
		zd := float64(z)
		s := float64(zd * zd)
		p := float64(erfS6*s) + erfS5
		p = float64(p*s) + erfS4
		p = float64(p*s) + erfS3
		p = float64(p*s) + erfS2
		p = float64(p*s) + erfS1
		p = float64(p*s) + erfS0
		y = float32(float64(zd * p))
	} else {
		y = 1 - Erfc32(z)
	}
	return math.Float32frombits(math.Float32bits(y) | b&signBit32)
}

// geluParts returns what GELU and its derivative are made of: the parts
// of e^(-x²/2) (expSplit's), ct with Φ(-|x|) = ct·e^(-x²/2), and x
// clamped to [-geluWMax, geluWMax], beyond which the terms that use it
// are 0 (and an infinite x would make ∞·0).
func geluParts(x float32) (p, s1, s2, ct, xc float32) {
	w := math.Float32frombits(math.Float32bits(x) &^ signBit32)
	if geluWMax < w {
		w = geluWMax
	}
	xc = x
	if -geluWMax > xc {
		xc = -geluWMax
	}
	if geluWMax < xc {
		xc = geluWMax
	}
	u := geluK / (geluK + float64(w))
	ct = float32(float64(float64(u*erfTailH(u)) * 0.5))
	p, s1, s2 = negSqParts(w, 0.5)
	return p, s1, s2, ct, xc
}

// GELU32 returns x·Φ(x) in float32. For x <= 0 it is x·ct·e^(-x²/2)
// with one final rounding, so results in the denormal range stay within
// an ulp or so too.
func GELU32(x float32) float32 {
	p, s1, s2, ct, xc := geluParts(x)
	if x > 0 {
		return float32(x * (1 - scaled(p, ct, s1, s2)))
	}
	return scaled(p, float32(xc*ct), s1, s2)
}

// GELUDeriv32 returns the derivative of GELU, Φ(x) + x·e^(-x²/2)/√(2π),
// in float32.
func GELUDeriv32(x float32) float32 {
	p, s1, s2, ct, xc := geluParts(x)
	t := scaled(p, ct, s1, s2) // Φ(-|x|)
	xphi := scaled(p, float32(xc*geluInvSqrt2Pi), s1, s2)
	if x > 0 {
		t = 1 - t
	}
	return t + xphi
}

// gelu64 is x·Φ(x) in float64, Φ(x) = erfc(-x/√2)/2 (full relative
// precision in the left tail, where 1 + erf(x/√2) would cancel).
func gelu64(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }

func geluDeriv64(x float64) float64 {
	return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
}

// GELURun sets dst[i] = GELU(x[px+i*sx]): GELU32 for float32 (vectorized
// where there is assembly), math.Erfc for float64.
func GELURun[T Float](dst, x []T, px, sx int) {
	if isF32[T]() {
		d, s := f32s(dst), f32s(x)
		if sx == 1 {
			s = s[px : px+len(d)]
			for i := geluVec(d, s); i < len(d); i++ {
				d[i] = GELU32(s[i])
			}
			return
		}
		for i := range d {
			d[i] = GELU32(s[px+i*sx])
		}
		return
	}
	for i := range dst {
		dst[i] = T(gelu64(float64(x[px+i*sx])))
	}
}

// GELUDerivRun sets dst[i] = GELU'(x[px+i*sx]); see GELURun.
func GELUDerivRun[T Float](dst, x []T, px, sx int) {
	if isF32[T]() {
		d, s := f32s(dst), f32s(x)
		if sx == 1 {
			s = s[px : px+len(d)]
			for i := geluDerivVec(d, s); i < len(d); i++ {
				d[i] = GELUDeriv32(s[i])
			}
			return
		}
		for i := range d {
			d[i] = GELUDeriv32(s[px+i*sx])
		}
		return
	}
	for i := range dst {
		dst[i] = T(geluDeriv64(float64(x[px+i*sx])))
	}
}

// GELUBackwardRun sets dst[i] = g·GELU'(x) for g = g[pg+i*sg] and
// x = x[px+i*sx]: GELU's backward in one pass. A stride of 0 broadcasts.
func GELUBackwardRun[T Float](dst, g []T, pg, sg int, x []T, px, sx int) {
	if isF32[T]() {
		d, gs, xs := f32s(dst), f32s(g), f32s(x)
		i := 0
		if sg == 1 && sx == 1 {
			gs, xs = gs[pg:pg+len(d)], xs[px:px+len(d)]
			pg, px = 0, 0
			i = geluBackwardVec(d, gs, xs)
		}
		for ; i < len(d); i++ {
			d[i] = float32(gs[pg+i*sg] * GELUDeriv32(xs[px+i*sx]))
		}
		return
	}
	for i := range dst {
		dst[i] = T(float64(g[pg+i*sg]) * geluDeriv64(float64(x[px+i*sx])))
	}
}

// The tanh approximation of GELU, 0.5·x·(1 + tanh(c·(x + a·x³))), and its
// derivative 0.5·(1+t) + 0.5·x·(1-t²)·c·(1 + 3a·x²). float32 computes the
// polynomial in float32 and the tanh with Tanh32 (vectorized, in place in
// dst), float64 with math.Tanh.
const (
	geluTanhC = 0.7978845608028654 // √(2/π)
	geluTanhA = 0.044715
)

// GELUTanhRun sets dst[i] = GELUTanh(x[px+i*sx]).
func GELUTanhRun[T Float](dst, x []T, px, sx int) {
	if isF32[T]() {
		d, s := f32s(dst), f32s(x)
		geluTanhInner(d, s, px, sx)
		tanhRunF32(d, d, 0, 1)
		for i := range d {
			v := s[px+i*sx]
			d[i] = float32(float32(0.5*v) * float32(1+d[i]))
		}
		return
	}
	for i := range dst {
		v := float64(x[px+i*sx])
		dst[i] = T(0.5 * v * (1 + math.Tanh(geluTanhC*(v+geluTanhA*v*v*v))))
	}
}

// GELUTanhDerivRun sets dst[i] to the derivative of GELUTanh at
// x[px+i*sx].
func GELUTanhDerivRun[T Float](dst, x []T, px, sx int) {
	if isF32[T]() {
		d, s := f32s(dst), f32s(x)
		geluTanhInner(d, s, px, sx)
		tanhRunF32(d, d, 0, 1)
		for i := range d {
			v, t := s[px+i*sx], d[i]
			du := float32(geluTanhC * float32(1+float32(float32(3*geluTanhA*v)*v)))
			d[i] = float32(0.5*(1+t)) + float32(float32(float32(0.5*v)*float32(1-float32(t*t)))*du)
		}
		return
	}
	for i := range dst {
		v := float64(x[px+i*sx])
		t := math.Tanh(geluTanhC * (v + geluTanhA*v*v*v))
		du := geluTanhC * (1 + 3*geluTanhA*v*v)
		dst[i] = T(0.5*(1+t) + 0.5*v*(1-t*t)*du)
	}
}

// geluTanhInner sets d[i] = c·(v + a·v³) for v = s[px+i*sx], in float32.
func geluTanhInner(d, s []float32, px, sx int) {
	for i := range d {
		v := s[px+i*sx]
		v3 := float32(float32(v*v) * v)
		d[i] = float32(geluTanhC * float32(v+float32(geluTanhA*v3)))
	}
}
