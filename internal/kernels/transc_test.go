package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// transcSpecials are the inputs where the float32 transcendentals change
// regime: signed zeros, infinities, NaN, denormals, the overflow and
// underflow thresholds of Exp32, the tanh polynomial's edge.
func transcSpecials() []float32 {
	v := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		0x1p-126, -0x1p-126, 0x1p-140, 1e-30, -1e-30, 1e30, -1e30,
		88.72283, 88.72284, 88.7, 89, 89.5, 90, -87.33, -87.34, -103.27, -103.28,
		-103.97, -103.98, -104, -104.5, -150, 150,
		tanhSmall, -tanhSmall, 9, -9, 9.5, 20, -20, 44, 45,
	}
	for _, b := range []float32{88.72283, -87.3365, -103.2789, -103.9721, tanhSmall, 8.3, 9.01} {
		f := b
		for range 5 {
			f = math.Nextafter32(f, float32(math.Inf(-1)))
		}
		for range 10 {
			v = append(v, f, -f)
			f = math.Nextafter32(f, float32(math.Inf(1)))
		}
	}
	// NaNs with other payloads, and quiet and signalling ones.
	for _, b := range []uint32{0x7fc00001, 0xffc00000, 0x7f800001, 0xff812345} {
		v = append(v, math.Float32frombits(b))
	}
	return v
}

// transcInputs is a run of n values mixing specials and random values of
// several scales.
func transcInputs(rng *rand.Rand, n int) []float32 {
	sp := transcSpecials()
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(4) {
		case 0:
			x[i] = sp[rng.IntN(len(sp))]
		case 1:
			x[i] = float32(rng.NormFloat64())
		case 2:
			x[i] = float32(rng.NormFloat64() * 40)
		default:
			x[i] = math.Float32frombits(rng.Uint32())
		}
	}
	return x
}

// same reports whether a and b have the same bits, or are both NaN (the
// payload of a NaN result is not part of the contract).
func same(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

var transcFuncs = []struct {
	name string
	run  func(dst, x []float32, px, sx int)
	f    func(float32) float32
	ref  func(float64) float64
}{
	{"Exp", ExpRun[float32], Exp32, math.Exp},
	{"Tanh", TanhRun[float32], Tanh32, math.Tanh},
	{"Sigmoid", SigmoidRun[float32], Sigmoid32, sigmoid64},
}

// The run kernels (the assembly where there is one) give the Go
// functions' bits at every length, offset and stride.
func TestTranscRunsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{1000, 4099, 1 << 14}
	for n := range 71 {
		lengths = append(lengths, n)
	}
	for _, fn := range transcFuncs {
		for _, n := range lengths {
			for _, sx := range []int{1, 3} {
				x := transcInputs(rng, 2+n*sx)
				dst := make([]float32, n)
				fn.run(dst, x, 2, sx)
				for i, got := range dst {
					in := x[2+i*sx]
					if want := fn.f(in); !same(got, want) {
						t.Fatalf("%sRun n=%d stride %d: [%d] f(%v) = %v (%#x), scalar %v (%#x)",
							fn.name, n, sx, i, in, got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
			}
		}
	}
	// Every special value in every lane of the vector loop.
	sp := transcSpecials()
	for k := range 8 {
		x := append(make([]float32, k), sp...)
		for _, fn := range transcFuncs {
			dst := make([]float32, len(x))
			fn.run(dst, x, 0, 1)
			for i, got := range dst {
				if want := fn.f(x[i]); !same(got, want) {
					t.Fatalf("%sRun: [%d] f(%v) = %v (%#x), scalar %v (%#x)",
						fn.name, i, x[i], got, math.Float32bits(got), want, math.Float32bits(want))
				}
			}
		}
	}
	x := transcInputs(rng, 1000)
	for _, shift := range []float32{0, 3.5, -80, float32(math.Inf(1)), float32(math.NaN())} {
		dst := make([]float32, len(x))
		ExpShiftF32(dst, x, shift)
		for i, got := range dst {
			if want := Exp32(x[i] - shift); !same(got, want) {
				t.Fatalf("ExpShiftF32 shift %v: exp(%v - shift) = %v, scalar %v", shift, x[i], got, want)
			}
		}
	}
}

func TestTranscSpecialValues(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		name    string
		f       func(float32) float32
		in, out float32
	}{
		{"Exp", Exp32, 0, 1}, {"Exp", Exp32, negZero, 1},
		{"Exp", Exp32, inf, inf}, {"Exp", Exp32, -inf, 0},
		{"Exp", Exp32, 89, inf}, {"Exp", Exp32, 1000, inf}, {"Exp", Exp32, -104, 0}, {"Exp", Exp32, -1000, 0},
		{"Exp", Exp32, -103.2789, math.SmallestNonzeroFloat32},
		{"Tanh", Tanh32, 0, 0}, {"Tanh", Tanh32, negZero, negZero},
		{"Tanh", Tanh32, inf, 1}, {"Tanh", Tanh32, -inf, -1}, {"Tanh", Tanh32, 10, 1}, {"Tanh", Tanh32, -50, -1},
		{"Tanh", Tanh32, math.SmallestNonzeroFloat32, math.SmallestNonzeroFloat32},
		{"Tanh", Tanh32, 1e-30, 1e-30},
		{"Sigmoid", Sigmoid32, 0, 0.5}, {"Sigmoid", Sigmoid32, negZero, 0.5},
		{"Sigmoid", Sigmoid32, inf, 1}, {"Sigmoid", Sigmoid32, -inf, 0},
		{"Sigmoid", Sigmoid32, 100, 1}, {"Sigmoid", Sigmoid32, -200, 0},
	}
	for _, c := range cases {
		if got := c.f(c.in); !same(got, c.out) {
			t.Errorf("%s(%v) = %v, want %v", c.name, c.in, got, c.out)
		}
		x := []float32{c.in, c.in, c.in, c.in, c.in, c.in, c.in, c.in, c.in}
		dst := make([]float32, len(x))
		for _, fn := range transcFuncs {
			if fn.name == c.name {
				fn.run(dst, x, 0, 1)
			}
		}
		for i, got := range dst {
			if !same(got, c.out) {
				t.Errorf("%sRun of %v at %d = %v, want %v", c.name, c.in, i, got, c.out)
			}
		}
	}
	for _, fn := range transcFuncs {
		if got := fn.f(nan); got == got {
			t.Errorf("%s(NaN) = %v", fn.name, got)
		}
	}
	// Odd symmetry is exact.
	for _, v := range transcSpecials() {
		if a, b := Tanh32(-v), -Tanh32(v); !same(a, b) {
			t.Errorf("Tanh32(-%v) = %v, -Tanh32(%v) = %v", v, a, v, b)
		}
	}
	// The large negative sigmoid keeps denormal values rather than 0.
	if s := Sigmoid32(-95); s == 0 || s > 0x1p-126 {
		t.Errorf("Sigmoid32(-95) = %v, want the denormal e^-95", s)
	}
}

// ulpErr is |got - want| in units of the float32 spacing at want (the
// denormal spacing below the normal range); an infinite or NaN want must
// be matched exactly.
func ulpErr(got float32, want float64) float64 {
	w32 := float32(want)
	if math.IsNaN(want) || math.IsInf(float64(w32), 0) {
		if same(got, w32) {
			return 0
		}
		return math.Inf(1)
	}
	a := math.Abs(want)
	ulp := 0x1p-149
	if a >= 0x1p-126 {
		_, e := math.Frexp(a) // a = f·2^e with f in [0.5, 1)
		ulp = math.Ldexp(1, e-24)
	}
	return math.Abs(float64(got)-want) / ulp
}

// The worst error over a stride through every float32 bit pattern plus
// dense runs of consecutive values where the algorithms switch regime.
func TestTranscAccuracy(t *testing.T) {
	step := uint32(1021)
	if testing.Short() {
		step = 4093
	}
	var xs []float32
	for b := uint64(0); b < 1<<32; b += uint64(step) {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	for _, c := range []float32{0, 1e-3, 0.1, tanhSmall, 1, 8.5, 88.72, -87.33, -103.27, -103.97} {
		f := c
		for range 20000 {
			xs = append(xs, f, -f)
			f = math.Nextafter32(f, float32(math.Inf(1)))
		}
	}
	// Uniform on the range where the results are neither 0, 1 nor Inf.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1 << 20 {
		xs = append(xs, float32(rng.Float64()*210-110))
	}
	xs = append(xs, transcSpecials()...)
	dst := make([]float32, len(xs))
	for _, fn := range transcFuncs {
		fn.run(dst, xs, 0, 1)
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			if e := ulpErr(dst[i], fn.ref(float64(x))); e > worst || e != e {
				worst, at = e, x
			}
		}
		t.Logf("%s32: worst error %.3f ulp at %v (%d inputs)", fn.name, worst, at, len(xs))
		if !(worst <= 2) {
			t.Errorf("%s32: error %.3f ulp at %v: got %v, want %v", fn.name, worst, at, fn.f(at), fn.ref(float64(at)))
		}
	}
}

func BenchmarkTransc(b *testing.B) {
	x := transcInputs(rand.New(rand.NewPCG(5, 6)), 1<<14)
	for i := range x {
		x[i] = float32(rand.NormFloat64() * 3)
	}
	dst := make([]float32, len(x))
	for _, fn := range transcFuncs {
		b.Run(fn.name, func(b *testing.B) {
			b.SetBytes(int64(8 * len(x)))
			for b.Loop() {
				fn.run(dst, x, 0, 1)
			}
		})
	}
}
