package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestArithmeticGrads(t *testing.T) {
	a, b := rnd(1, 3, 4), rnd(2, 4)
	bPos := rnd(3, 1, 4).Mul(rnd(3, 1, 4)).AddScalar(0.5)
	checkGrad2(t, "Add", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Add(x[1]) }, a, b)
	checkGrad2(t, "Sub", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Sub(x[1]) }, nonContig(4, 3, 4), b)
	checkGrad2(t, "Mul", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Mul(x[1]) }, a, nonContig(5, 4))
	checkGrad2(t, "Div", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Div(x[1]) }, nonContig(6, 3, 4), bPos)
	checkGrad2(t, "Neg", func(x ...*bp.Tensor) *bp.Tensor { return x[0].Neg() }, a)
}

func TestBinaryShapeErrorNamesOp(t *testing.T) {
	mustPanic(t, "Add: shapes [2 3] and [4] cannot be broadcast", func() { bp.Zeros(2, 3).Add(bp.Zeros(4)) })
	mustPanic(t, "Mul: dtypes float32", func() { bp.Zeros(2).Mul(bp.Float64.Zeros(2)) })
}

// ewMapStorage rewrites every value in t's storage with f, keeping t's
// layout, so a non-contiguous input can be moved into an op's domain.
func ewMapStorage(t *bp.Tensor, f func(float64) float64) *bp.Tensor {
	s := t.StorageF64()
	for i := range s {
		s[i] = f(s[i])
	}
	return t
}

// ewPositive moves values into [0.5, ∞), where Log, Sqrt, Pow's base and
// fractional powers are smooth and well conditioned.
func ewPositive(t *bp.Tensor) *bp.Tensor {
	return ewMapStorage(t, func(v float64) float64 { return math.Abs(v) + 0.5 })
}

// ewAwayFrom moves values at least margin away from every kink, keeping their
// side (rndAway for any layout).
func ewAwayFrom(t *bp.Tensor, margin float64, kinks ...float64) *bp.Tensor {
	return ewMapStorage(t, func(v float64) float64 {
		for _, k := range kinks {
			if d := v - k; d >= 0 && d < margin {
				v += margin
			} else if d < 0 && d > -margin {
				v -= margin
			}
		}
		return v
	})
}

// ewUnaryCase is one unary op and a domain on which its first two derivatives
// exist and are well conditioned.
type ewUnaryCase struct {
	name   string
	f      func(x *bp.Tensor) *bp.Tensor
	domain func(t *bp.Tensor) *bp.Tensor
}

func ewAny(t *bp.Tensor) *bp.Tensor { return t }

func ewKinks(k ...float64) func(*bp.Tensor) *bp.Tensor {
	return func(t *bp.Tensor) *bp.Tensor { return ewAwayFrom(t, 0.01, k...) }
}

var ewUnaryCases = []ewUnaryCase{
	{"Exp", (*bp.Tensor).Exp, ewAny},
	{"Log", (*bp.Tensor).Log, ewPositive},
	{"Sqrt", (*bp.Tensor).Sqrt, ewPositive},
	{"Square", (*bp.Tensor).Square, ewAny},
	{"Reciprocal", (*bp.Tensor).Reciprocal, func(t *bp.Tensor) *bp.Tensor { return ewAwayFrom(t, 0.5, 0) }},
	{"Sin", (*bp.Tensor).Sin, ewAny},
	{"Cos", (*bp.Tensor).Cos, ewAny},
	{"Tanh", (*bp.Tensor).Tanh, ewAny},
	{"Sigmoid", (*bp.Tensor).Sigmoid, ewAny},
	{"GELU", (*bp.Tensor).GELU, ewAny},
	{"ReLU", (*bp.Tensor).ReLU, ewKinks(0)},
	{"LeakyReLU", func(x *bp.Tensor) *bp.Tensor { return x.LeakyReLU(0.1) }, ewKinks(0)},
	{"Abs", (*bp.Tensor).Abs, ewKinks(0)},
	{"Sign", (*bp.Tensor).Sign, ewKinks(0)},
	{"Clamp", func(x *bp.Tensor) *bp.Tensor { return x.Clamp(-0.5, 0.7) }, ewKinks(-0.5, 0.7)},
	{"ClampBelow", func(x *bp.Tensor) *bp.Tensor { return x.Clamp(math.Inf(-1), 0.3) }, ewKinks(0.3)},
	{"ClampAbove", func(x *bp.Tensor) *bp.Tensor { return x.Clamp(-0.2, math.Inf(1)) }, ewKinks(-0.2)},
	{"PowScalar3", func(x *bp.Tensor) *bp.Tensor { return x.PowScalar(3) }, ewAny},
	{"PowScalar2", func(x *bp.Tensor) *bp.Tensor { return x.PowScalar(2) }, ewAny},
	{"PowScalar1", func(x *bp.Tensor) *bp.Tensor { return x.PowScalar(1) }, ewAny},
	{"PowScalar0", func(x *bp.Tensor) *bp.Tensor { return x.PowScalar(0) }, ewAny},
	{"PowScalar2.5", func(x *bp.Tensor) *bp.Tensor { return x.PowScalar(2.5) }, ewPositive},
	{"PowScalar-1.5", func(x *bp.Tensor) *bp.Tensor { return x.PowScalar(-1.5) }, ewPositive},
}

func TestElementwiseUnaryGrads(t *testing.T) {
	for i, c := range ewUnaryCases {
		seed := uint64(100 + 10*i)
		f := func(x ...*bp.Tensor) *bp.Tensor { return c.f(x[0]) }
		checkGrad2(t, c.name, f, c.domain(rnd(seed, 3, 4)))
		checkGrad2(t, c.name+" non-contiguous", f, c.domain(nonContig(seed+1, 2, 3, 2)))
		checkGrad2(t, c.name+" strided 1-d", f, c.domain(nonContig(seed+2, 5)))
		checkGrad2(t, c.name+" scalar", f, c.domain(rnd(seed+3)))
		// Squaring the result makes the upstream gradient depend on x, so
		// the second-order check also sees the backward's dependence on g.
		checkGrad2(t, c.name+" squared", func(x ...*bp.Tensor) *bp.Tensor { return c.f(x[0]).Square() }, c.domain(rnd(seed+4, 2, 3)))
	}
}

func TestElementwiseFloat32MatchesFloat64(t *testing.T) {
	for i, c := range ewUnaryCases {
		x := c.domain(rnd(uint64(200+i), 4, 5))
		// Round the input to float32 first so both dtypes see the same values.
		x = x.To(bp.Float32).To(bp.Float64)
		want := c.f(x).Float64s()
		got := c.f(x.To(bp.Float32))
		if got.DType() != bp.Float32 {
			t.Fatalf("%s: float32 input gave %v", c.name, got.DType())
		}
		for j, g := range got.Float64s() {
			if d := math.Abs(g - want[j]); d > 1e-6*math.Max(1, math.Abs(want[j])) {
				t.Errorf("%s: float32 %v, float64 %v at %d", c.name, g, want[j], j)
				break
			}
		}
	}
}

func TestElementwiseBinaryGrads(t *testing.T) {
	type binCase struct {
		name string
		f    func(a, b *bp.Tensor) *bp.Tensor
		da   func(*bp.Tensor) *bp.Tensor // domain of a
	}
	cases := []binCase{
		{"Pow", (*bp.Tensor).Pow, ewPositive},
		{"Maximum", (*bp.Tensor).Maximum, ewAny},
		{"Minimum", (*bp.Tensor).Minimum, ewAny},
	}
	for i, c := range cases {
		s := uint64(300 + 10*i)
		f := func(x ...*bp.Tensor) *bp.Tensor { return c.f(x[0], x[1]) }
		checkGrad2(t, c.name+" [3 4] with [4]", f, c.da(rnd(s, 3, 4)), rnd(s+1, 4))
		checkGrad2(t, c.name+" [2 1 3] with [4 1]", f, c.da(rnd(s+2, 2, 1, 3)), rnd(s+3, 4, 1))
		checkGrad2(t, c.name+" [4 1] with [2 1 3]", f, c.da(rnd(s+4, 4, 1)), rnd(s+5, 2, 1, 3))
		checkGrad2(t, c.name+" non-contiguous", f, c.da(nonContig(s+6, 3, 4)), nonContig(s+7, 3, 4))
		checkGrad2(t, c.name+" scalar exponent", f, c.da(nonContig(s+8, 3, 2)), rnd(s+9))
	}
}

func TestElementwisePowConstantExponent(t *testing.T) {
	// With a constant exponent, a negative base has a finite derivative.
	a := bp.FromFloat64s([]float64{-2}).SetRequiresGrad(true)
	a.Pow(bp.FromFloat64s([]float64{3})).Sum().Backward()
	if g := a.Grad().Item(); g != 12 {
		t.Errorf("d(a^3)/da at -2 = %v, want 12", g)
	}
	// The exponent's derivative at a negative base is NaN, as in PyTorch.
	a = bp.FromFloat64s([]float64{-2}).SetRequiresGrad(true)
	b := bp.FromFloat64s([]float64{3}).SetRequiresGrad(true)
	a.Pow(b).Sum().Backward()
	if ga, gb := a.Grad().Item(), b.Grad().Item(); ga != 12 || !math.IsNaN(gb) {
		t.Errorf("grads at (-2, 3) = %v, %v, want 12, NaN", ga, gb)
	}
}

func TestElementwisePowZeroConventions(t *testing.T) {
	// PyTorch: d(0^0)/da = 0 (not 0·∞), d(0^b)/db = 0 for b >= 0.
	a := bp.FromFloat64s([]float64{0, 0, 2}).SetRequiresGrad(true)
	b := bp.FromFloat64s([]float64{0, 2, 0}).SetRequiresGrad(true)
	a.Pow(b).Sum().Backward()
	ewAssertValues(t, "d/da", a.Grad(), 0, 0, 0)
	ewAssertValues(t, "d/db", b.Grad(), 0, 0, math.Ln2)

	x := bp.FromFloat64s([]float64{0, 3}).SetRequiresGrad(true)
	x.PowScalar(0).Sum().Backward()
	ewAssertValues(t, "d(x^0)/dx", x.Grad(), 0, 0)
}

func TestElementwiseWhereGrads(t *testing.T) {
	cond := rnd(400, 4, 1).Gt(bp.Float64.Scalar(0))
	f := func(x ...*bp.Tensor) *bp.Tensor { return bp.Where(cond, x[0], x[1]) }
	checkGrad2(t, "Where", f, rnd(401, 2, 1, 3), rnd(402, 3))
	checkGrad2(t, "Where non-contiguous", f, nonContig(403, 4, 3), nonContig(404, 3))
	ci := bp.FromInts([]int{1, 0, 0, 2}, 4, 1)
	checkGrad2(t, "Where int64 cond", func(x ...*bp.Tensor) *bp.Tensor { return bp.Where(ci, x[0], x[1]) }, rnd(405, 3), rnd(406, 4, 3))
}

func TestElementwiseWhereRoutesGradient(t *testing.T) {
	cond := bp.FromFloat32s([]float32{1, 0, -2, float32(math.NaN())})
	a := bp.Float64.Arange(0, 4, 1).SetRequiresGrad(true)
	b := bp.Float64.Scalar(10).SetRequiresGrad(true)
	y := bp.Where(cond, a, b)
	ewAssertValues(t, "Where", y, 0, 10, 2, 3)
	y.Sum().Backward()
	ewAssertValues(t, "grad a", a.Grad(), 1, 0, 1, 1)
	ewAssertValues(t, "grad b", b.Grad(), 1) // broadcast: summed over where it was chosen
	mustPanic(t, "Where: shapes [2] (cond), [3] and [3]", func() { bp.Where(bp.Zeros(2), bp.Zeros(3), bp.Zeros(3)) })
	mustPanic(t, "Where: dtypes float32", func() { bp.Where(bp.Zeros(3), bp.Zeros(3), bp.Float64.Zeros(3)) })
}

func TestElementwiseForwardValues(t *testing.T) {
	x := bp.FromFloat64s([]float64{-3, -1, -0.25, 0, 0.5, 2})
	// Reference values from PyTorch 1.13 (float64). PyTorch's GELU loses the
	// last digits for negative x to cancellation in 1+erf; ours uses erfc and
	// matches the true values (-Φ(-1) = -0.15865525393145707), hence the
	// looser tolerance there.
	ewAssertCloseTol(t, "GELU", 1e-13, x.GELU(), -0.00404969409489031, -0.15865525393145702, -0.10032341857926907, 0, 0.34573123063700656, 1.9544997361036416)
	ewAssertClose(t, "Tanh", x.Tanh(), -0.9950547536867305, -0.7615941559557649, -0.24491866240370913, 0, 0.46211715726000974, 0.9640275800758169)
	if g := bp.Float64.Scalar(1).GELU().Item(); g != 0.8413447460685429 {
		t.Errorf("GELU(1) = %v, want 0.8413447460685429", g)
	}
	s := bp.FromFloat64s([]float64{-800, -30, 0, 1, 800})
	ewAssertClose(t, "Sigmoid", s.Sigmoid(), 0, 9.357622968839299e-14, 0.5, 0.7310585786300049, 1)
	ewAssertClose(t, "Sigmoid float32", s.To(bp.Float32).Sigmoid(), 0, 9.357622968839299e-14, 0.5, 0.7310585786300049, 1)
	sg := s.SetRequiresGrad(true)
	sg.Sigmoid().Sum().Backward()
	for _, v := range sg.Grad().Float64s() {
		if math.IsNaN(v) {
			t.Errorf("Sigmoid gradient has NaN: %v", sg.Grad().Float64s())
		}
	}

	ewAssertValues(t, "Pow", bp.FromFloat64s([]float64{-8, -2, 2}).Pow(bp.FromFloat64s([]float64{1.0 / 3, 3, 10})), math.NaN(), -8, 1024)
	ewAssertValues(t, "Sign", bp.FromFloat64s([]float64{-2, 0, 3, math.NaN()}).Sign(), -1, 0, 1, 0)
	ewAssertValues(t, "Abs", bp.FromFloat64s([]float64{-2, 0, 3}).Abs(), 2, 0, 3)
	ewAssertValues(t, "ReLU", bp.FromFloat64s([]float64{-2, 0, 3, math.NaN()}).ReLU(), 0, 0, 3, math.NaN())
	ewAssertValues(t, "LeakyReLU", bp.FromFloat64s([]float64{-2, 0, 3}).LeakyReLU(0.25), -0.5, 0, 3)
	ewAssertValues(t, "Clamp", bp.FromFloat64s([]float64{-2, 0, 3, math.NaN()}).Clamp(-1, 1), -1, 0, 1, math.NaN())
	ewAssertValues(t, "Clamp lo > hi", bp.FromFloat64s([]float64{-2, 5}).Clamp(1, 0), 0, 0)
	ewAssertValues(t, "Reciprocal", bp.FromFloat64s([]float64{4, -0.5}).Reciprocal(), 0.25, -2)
	ewAssertValues(t, "Sqrt", bp.FromFloat64s([]float64{4, 2.25}).Sqrt(), 2, 1.5)
	ewAssertValues(t, "Log", bp.FromFloat64s([]float64{1, 0, -1}).Log(), 0, math.Inf(-1), math.NaN())
	nan := math.NaN()
	m := bp.FromFloat64s([]float64{1, nan, 3, -1})
	n := bp.FromFloat64s([]float64{2, 0, nan, -1})
	ewAssertValues(t, "Maximum", m.Maximum(n), 2, nan, nan, -1)
	ewAssertValues(t, "Minimum", m.Minimum(n), 1, nan, nan, -1)

	// Integer powers are exact, in both dtypes.
	r := rnd(500, 50)
	want := r.Mul(r).Mul(r).Float64s()
	for i, v := range r.PowScalar(3).Float64s() {
		if v != want[i] && math.Abs(v-want[i]) > 1e-15*math.Abs(want[i]) {
			t.Errorf("PowScalar(3)[%d] = %v, x*x*x = %v", i, v, want[i])
		}
	}
	r32 := r.To(bp.Float32)
	want32 := r32.Mul(r32).Float32s()
	for i, v := range r32.PowScalar(2).Float32s() {
		if v != want32[i] {
			t.Errorf("float32 PowScalar(2)[%d] = %v, x*x = %v", i, v, want32[i])
		}
	}
}

func TestElementwiseKinkConventions(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		grad := func(f func(*bp.Tensor) *bp.Tensor, at ...float64) *bp.Tensor {
			x := bp.FromFloat64s(at).To(dt).SetRequiresGrad(true)
			f(x).Sum().Backward()
			return x.Grad()
		}
		name := dt.String() + " "
		ewAssertValues(t, name+"ReLU'", grad((*bp.Tensor).ReLU, -1, 0, 1), 0, 0, 1)
		ewAssertValues(t, name+"Abs'", grad((*bp.Tensor).Abs, -1, 0, 1), -1, 0, 1)
		ewAssertValues(t, name+"LeakyReLU'", grad(func(x *bp.Tensor) *bp.Tensor { return x.LeakyReLU(0.5) }, -1, 0, 1), 0.5, 0.5, 1)
		ewAssertValues(t, name+"Clamp'", grad(func(x *bp.Tensor) *bp.Tensor { return x.Clamp(0, 1) }, -1, 0, 0.5, 1, 2), 0, 1, 1, 1, 0)
		ewAssertValues(t, name+"Sign'", grad((*bp.Tensor).Sign, -1, 0, 1), 0, 0, 0)

		a := bp.FromFloat64s([]float64{0, 1, 2}).To(dt).SetRequiresGrad(true)
		b := bp.FromFloat64s([]float64{0, 2, 1}).To(dt).SetRequiresGrad(true)
		a.Maximum(b).Sum().Backward()
		ewAssertValues(t, name+"Maximum' a", a.Grad(), 0.5, 0, 1)
		ewAssertValues(t, name+"Maximum' b", b.Grad(), 0.5, 1, 0)
		a.ClearGrad()
		b.ClearGrad()
		a.Minimum(b).Sum().Backward()
		ewAssertValues(t, name+"Minimum' a", a.Grad(), 0.5, 1, 0)
		ewAssertValues(t, name+"Minimum' b", b.Grad(), 0.5, 0, 1)
	}
}

func TestElementwiseComparisons(t *testing.T) {
	nan := math.NaN()
	a := bp.FromFloat64s([]float64{1, 2, 3, nan, 1, 2}, 2, 3).SetRequiresGrad(true)
	b := bp.FromFloat64s([]float64{2, 2, 1})
	cases := []struct {
		name string
		got  *bp.Tensor
		want []float64
	}{
		{"Gt", a.Gt(b), []float64{0, 0, 1, 0, 0, 1}},
		{"Ge", a.Ge(b), []float64{0, 1, 1, 0, 0, 1}},
		{"Lt", a.Lt(b), []float64{1, 0, 0, 0, 1, 0}},
		{"Le", a.Le(b), []float64{1, 1, 0, 0, 1, 0}},
		{"Eq", a.Eq(b), []float64{0, 1, 0, 0, 0, 0}},
		{"Ne", a.Ne(b), []float64{1, 0, 1, 1, 1, 1}},
	}
	for _, c := range cases {
		if c.got.RequiresGrad() || c.got.GradFn() != nil {
			t.Errorf("%s was recorded", c.name)
		}
		if c.got.DType() != bp.Float64 {
			t.Errorf("%s: dtype %v, want float64", c.name, c.got.DType())
		}
		ewAssertValues(t, c.name, c.got, c.want...)
	}
	// Lt with the operands swapped and broadcasting on the left.
	ewAssertValues(t, "Lt broadcast", b.Lt(a.Detach()), 0, 0, 1, 0, 0, 1)
	nc := nonContig(600, 3, 4)
	ewAssertValues(t, "Gt non-contiguous", nc.Gt(nc.Contiguous()), make([]float64, 12)...)

	ia, ib := bp.FromInts([]int{1, 5, 3}), bp.FromInts([]int{3})
	ge := ia.Ge(ib)
	if ge.DType() != bp.Int64 {
		t.Errorf("int64 Ge: dtype %v", ge.DType())
	}
	ewAssertValues(t, "int64 Ge", ge, 0, 1, 1)
	ewAssertValues(t, "float32 Eq", bp.FromFloat32s([]float32{1, 2}).Eq(bp.Scalar(2)), 0, 1)

	mustPanic(t, "Gt: shapes [2 3] and [2] cannot be broadcast", func() { bp.Zeros(2, 3).Gt(bp.Zeros(2)) })
	mustPanic(t, "Eq: dtypes int64", func() { bp.FromInts([]int{1}).Eq(bp.Zeros(1)) })
}

func TestElementwiseNoGradCondition(t *testing.T) {
	w := bp.Float64.Ones(3).SetRequiresGrad(true)
	x := bp.FromFloat64s([]float64{-1, 0, 1}).NoGrad()
	y := bp.Where(x.Gt(bp.Float64.Scalar(0)), w, w.Neg())
	if y.RequiresGrad() || !y.IsNoGrad() {
		t.Errorf("Where with a NoGrad condition recorded a graph")
	}
}

func TestElementwiseErrorsNameOp(t *testing.T) {
	mustPanic(t, "Maximum: shapes [2 3] and [4] cannot be broadcast", func() { bp.Zeros(2, 3).Maximum(bp.Zeros(4)) })
	mustPanic(t, "Pow: shapes [3] and [2] cannot be broadcast", func() { bp.Zeros(3).Pow(bp.Zeros(2)) })
	mustPanic(t, "Exp: needs a float tensor, got int64", func() { bp.FromInts([]int{1}).Exp() })
	mustPanic(t, "Clamp: bounds", func() { bp.Zeros(2).Clamp(math.NaN(), 1) })
}

func ewAssertValues(t *testing.T, name string, got *bp.Tensor, want ...float64) {
	t.Helper()
	g := got.Float64s()
	if len(g) != len(want) {
		t.Errorf("%s: %d values %v, want %v", name, len(g), g, want)
		return
	}
	for i := range g {
		if g[i] != want[i] && !(math.IsNaN(g[i]) && math.IsNaN(want[i])) {
			t.Errorf("%s = %v, want %v", name, g, want)
			return
		}
	}
}

func ewAssertClose(t *testing.T, name string, got *bp.Tensor, want ...float64) {
	t.Helper()
	tol := 1e-15
	if got.DType() == bp.Float32 {
		tol = 1e-6
	}
	ewAssertCloseTol(t, name, tol, got, want...)
}

func ewAssertCloseTol(t *testing.T, name string, tol float64, got *bp.Tensor, want ...float64) {
	t.Helper()
	g := got.Float64s()
	for i := range g {
		if math.Abs(g[i]-want[i]) > tol*math.Max(math.Abs(want[i]), 1e-3) {
			t.Errorf("%s = %v, want %v", name, g, want)
			return
		}
	}
}

func BenchmarkElementwiseReLUForwardBackward(b *testing.B) {
	x := bp.NewRNG(1).Normal(0, 1, 256, 1024).SetRequiresGrad(true)
	b.ReportAllocs()
	for b.Loop() {
		x.ReLU().Sum().Backward()
		x.ClearGrad()
	}
}

func BenchmarkElementwiseAddSameShape(b *testing.B) {
	x := bp.NewRNG(1).Normal(0, 1, 256, 1024)
	y := bp.NewRNG(2).Normal(0, 1, 256, 1024)
	b.ReportAllocs()
	for b.Loop() {
		x.Add(y)
	}
}
