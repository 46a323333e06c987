package kernels

import "math"

// Float32 exponential, tanh and sigmoid computed in float32 arithmetic.
// Going through float64 math.Exp costs more than the memory traffic of the
// op many times over; these stay within 2 ulp of the correctly rounded
// result (transc_test.go measures it) and run eight lanes at a time in
// transc_amd64.s.
//
// The Go functions here and the assembly perform the same IEEE
// single-precision operations in the same order, so they agree bit for
// bit: the vector body, the scalar tails, other CPUs and the purego build
// all give one answer. That is why no FMA appears in the assembly and why
// every product below is converted to float32 explicitly (which forbids
// the compiler to fuse it with the following addition on any target).

const (
	signBit32 = 1 << 31

	// Beyond expHi, e^x overflows float32 (ln MaxFloat32 ≈ 88.72), and
	// below expLo it is under half the smallest denormal. Clamping to them
	// keeps n = round(x·log₂e) within [-150, 128], where both halves of
	// the scale 2ⁿ are normal numbers; the clamped values still overflow
	// to +Inf and underflow to 0.
	expHi float32 = 89
	expLo float32 = -104

	expLog2e float32 = 0x1.715476p+0 // log₂e rounded to float32
	// 1.5·2²³: adding it rounds a float32 of magnitude < 2²² to an
	// integer (ties to even, as VCVTPS2DQ would) and leaves that integer
	// in the low mantissa bits, with no float-to-int conversion, whose
	// result for NaN differs between Go and the hardware.
	expMagic float32 = 0x1.8p+23
	// ln 2 = expC1 + expC2 (Cody and Waite): expC1 has 9 significant
	// bits, so n·expC1 is exact for |n| ≤ 150 and x - n·expC1 loses
	// nothing to cancellation.
	expC1 float32 = 0x1.63p-1
	expC2 float32 = -0x1.bd0106p-13

	// e^r ≈ 1 + r + r²·(p2 + p3 r + p4 r² + p5 r³ + p6 r⁴) on |r| ≤ 0.35,
	// a weighted minimax fit for relative error (about 5e-9 with these
	// float32 coefficients, a tenth of an ulp).
	expP2 float32 = 0x1.fffffcp-2
	expP3 float32 = 0x1.55548cp-3
	expP4 float32 = 0x1.555906p-5
	expP5 float32 = 0x1.123d48p-7
	expP6 float32 = 0x1.6a1e6ap-10

	// Below tanhSmall, tanh x = x + x³·P(x²) (a minimax fit, relative
	// error 2e-9); above it, tanh x = 1 - 2/(e^{2x}+1) is at least 0.5,
	// so the subtraction cancels no significant bits.
	tanhSmall float32 = 0.5625
	tanhP0    float32 = -0x1.555548p-2
	tanhP1    float32 = 0x1.110c72p-3
	tanhP2    float32 = -0x1.b90948p-5
	tanhP3    float32 = 0x1.582fb2p-6
	tanhP4    float32 = -0x1.950022p-8
)

// Exp32 returns e^x in float32, within 2 ulp of the correctly rounded
// value over the whole float32 range (denormal results included): +Inf
// above about 88.72, 0 below about -103.97, NaN for NaN.
func Exp32(x float32) float32 {
	// The comparisons are written the way VMAXPS and VMINPS evaluate
	// them, so a NaN passes through both, as in the assembly.
	if expLo > x {
		x = expLo
	}
	if expHi < x {
		x = expHi
	}
	t := float32(x*expLog2e) + expMagic
	nf := t - expMagic
	n := int32(math.Float32bits(t) - math.Float32bits(expMagic))
	r := x - float32(nf*expC1)
	r = r - float32(nf*expC2)
	q := float32(expP6*r) + expP5
	q = float32(q*r) + expP4
	q = float32(q*r) + expP3
	q = float32(q*r) + expP2
	p := float32(q*float32(r*r)) + r
	p = p + 1
	// 2ⁿ as two normal factors: 2^(n/2) alone would leave the denormal
	// results (n < -126) and n = 128 out of reach of the exponent field.
	// p·2^n1 is exact, so the product rounds once.
	n1 := n >> 1
	n2 := n - n1
	s1 := math.Float32frombits(uint32(n1+127) << 23)
	s2 := math.Float32frombits(uint32(n2+127) << 23)
	return float32(p*s1) * s2
}

// Tanh32 returns tanh x in float32, within 2 ulp of the correctly
// rounded value; it is exactly odd and saturates to ±1.
func Tanh32(x float32) float32 {
	b := math.Float32bits(x)
	a := math.Float32frombits(b &^ signBit32)
	var y float32
	if a < tanhSmall {
		a2 := float32(a * a)
		q := float32(tanhP4*a2) + tanhP3
		q = float32(q*a2) + tanhP2
		q = float32(q*a2) + tanhP1
		q = float32(q*a2) + tanhP0
		y = float32(float32(a*a2)*q) + a
	} else {
		d := Exp32(a+a) + 1
		y = 1 - 2/d
	}
	return math.Float32frombits(math.Float32bits(y) | b&signBit32)
}

// Sigmoid32 returns 1/(1+e^-x) in float32, within 2 ulp of the correctly
// rounded value. Its exponential is e^-|x|, which never overflows, so it
// gives 0 and 1 in the tails, never NaN, and keeps the denormal results of
// large negative x.
func Sigmoid32(x float32) float32 {
	e := Exp32(math.Float32frombits(math.Float32bits(x) | signBit32))
	// The rounding of 1+e alone would cost up to half an ulp of the
	// result; dl is its error, exactly (Fast2Sum: 1 ≥ e), and the last
	// line divides it out to first order, using 1/d = q or 1-q.
	d := e + 1
	dl := e - (d - 1)
	num := float32(1)
	if x < 0 {
		num = e
	}
	q := num / d
	r := q
	if x < 0 {
		r = 1 - q
	}
	return q - float32(float32(q*dl)*r)
}

// sigmoid64 is the float64 sigmoid, with the same shape as Sigmoid32.
func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// ExpShiftF32 sets dst[i] = Exp32(x[i] - shift) for each i < len(dst):
// the exponential of softmax, fused with its shift (Exp32(x - 0) is
// Exp32(x) for every x).
func ExpShiftF32(dst, x []float32, shift float32) {
	x = x[:len(dst)]
	for i := expVec(dst, x, shift); i < len(dst); i++ {
		dst[i] = Exp32(x[i] - shift)
	}
}

// expRunF32 is ExpRun for float32.
func expRunF32(dst, x []float32, px, sx int) {
	if sx == 1 {
		ExpShiftF32(dst, x[px:px+len(dst)], 0)
		return
	}
	for i := range dst {
		dst[i] = Exp32(x[px+i*sx])
	}
}

// tanhRunF32 is TanhRun for float32.
func tanhRunF32(dst, x []float32, px, sx int) {
	if sx == 1 {
		x = x[px : px+len(dst)]
		for i := tanhVec(dst, x); i < len(dst); i++ {
			dst[i] = Tanh32(x[i])
		}
		return
	}
	for i := range dst {
		dst[i] = Tanh32(x[px+i*sx])
	}
}

// SigmoidRun sets dst[i] = 1/(1+e^-x) for x = x[px+i*sx], without
// overflow: large negative inputs give 0 (or a denormal), large positive
// ones 1. float32 uses Sigmoid32, float64 math.Exp.
func SigmoidRun[T Float](dst, x []T, px, sx int) {
	if isF32[T]() {
		d, s := f32s(dst), f32s(x)
		if sx == 1 {
			s = s[px : px+len(d)]
			for i := sigmoidVec(d, s); i < len(d); i++ {
				d[i] = Sigmoid32(s[i])
			}
			return
		}
		for i := range d {
			d[i] = Sigmoid32(s[px+i*sx])
		}
		return
	}
	if sx == 1 {
		src := x[px : px+len(dst)]
		dst = dst[:len(src)]
		for i, v := range src {
			dst[i] = T(sigmoid64(float64(v)))
		}
		return
	}
	for i := range dst {
		dst[i] = T(sigmoid64(float64(x[px+i*sx])))
	}
}
