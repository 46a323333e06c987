package backprop

import (
	"fmt"
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Elementwise ops. Binary ops broadcast as NumPy and PyTorch do; their
// backward returns gradients in the broadcast shape and the engine sums them
// back down to each input's shape.

// Add returns a + b.
func (a *Tensor) Add(b *Tensor) *Tensor {
	out := binaryKernelRec("Add", a, b, kernels.AddRun[float32], kernels.AddRun[float64])
	return recordRule(ruleAdd, out, a, b)
}

// addGrad: d(a+b)/da = d(a+b)/db = 1, so both inputs get g itself.
func addGrad(c *BackwardContext, g *Tensor) []*Tensor { return c.two(g, g) }

func addGradScalar[T kernels.Float](g, _, _, _ T) (T, T) { return g, g }

func init() {
	define(ruleAdd, derivative{op: "Add", rule: addGrad,
		scalar32: addGradScalar[float32], scalar64: addGradScalar[float64]})
}

// Sub returns a - b.
func (a *Tensor) Sub(b *Tensor) *Tensor {
	out := binaryKernel("Sub", a, b, kernels.SubRun[float32], kernels.SubRun[float64])
	return recordRule(ruleSub, out, a, b)
}

// subGrad: d(a-b)/da = 1, d(a-b)/db = -1.
func subGrad(c *BackwardContext, g *Tensor) []*Tensor {
	var gb *Tensor
	if c.NeedsGrad(1) {
		gb = g.Neg()
	}
	return c.two(g, gb)
}

func subGradScalar[T kernels.Float](g, _, _, _ T) (T, T) { return g, -g }

func init() {
	define(ruleSub, derivative{op: "Sub", rule: subGrad,
		scalar32: subGradScalar[float32], scalar64: subGradScalar[float64]})
}

// Mul returns a * b elementwise.
func (a *Tensor) Mul(b *Tensor) *Tensor {
	out := binaryKernelRec("Mul", a, b, kernels.MulRun[float32], kernels.MulRun[float64])
	return recordRule(ruleMul, out, a, b)
}

// mulGrad: d(a·b)/da = b, d(a·b)/db = a.
func mulGrad(c *BackwardContext, g *Tensor) []*Tensor {
	var ga, gb *Tensor
	if c.NeedsGrad(0) {
		ga = g.Mul(c.Input(1))
	}
	if c.NeedsGrad(1) {
		gb = g.Mul(c.Input(0))
	}
	return c.two(ga, gb)
}

// mulGradFused is mulGrad on the multiply kernel.
func mulGradFused(c *BackwardContext, g *Tensor) []*Tensor {
	var ga, gb *Tensor
	if c.NeedsGrad(0) {
		ga = binaryKernel("Mul", g, c.InputValue(1), kernels.MulRun[float32], kernels.MulRun[float64])
	}
	if c.NeedsGrad(1) {
		gb = binaryKernel("Mul", g, c.InputValue(0), kernels.MulRun[float32], kernels.MulRun[float64])
	}
	return c.two(ga, gb)
}

func mulGradScalar[T kernels.Float](g, x0, x1, _ T) (T, T) { return g * x1, g * x0 }

func init() {
	define(ruleMul, derivative{op: "Mul", rule: mulGrad, fused: mulGradFused,
		scalar32: mulGradScalar[float32], scalar64: mulGradScalar[float64], reads: readX0 | readX1})
}

// Div returns a / b elementwise.
func (a *Tensor) Div(b *Tensor) *Tensor {
	out := binaryKernel("Div", a, b, kernels.DivRun[float32], kernels.DivRun[float64])
	return recordRule(ruleDiv, out, a, b)
}

// divGrad: d(a/b)/da = 1/b, d(a/b)/db = -a/b² = -(1/b)·(a/b).
func divGrad(c *BackwardContext, g *Tensor) []*Tensor {
	ga := g.Div(c.Input(1))
	var gb *Tensor
	if c.NeedsGrad(1) {
		gb = ga.Mul(c.Output()).Neg()
	}
	return c.two(ga, gb)
}

func divGradScalar[T kernels.Float](g, _, x1, y T) (T, T) {
	ga := g / x1
	return ga, -(ga * y)
}

func init() {
	define(ruleDiv, derivative{op: "Div", rule: divGrad,
		scalar32: divGradScalar[float32], scalar64: divGradScalar[float64], reads: readX1 | readY})
}

// Neg returns -a.
func (a *Tensor) Neg() *Tensor {
	out := unaryKernel("Neg", a, kernels.NegRun[float32], kernels.NegRun[float64])
	return recordRule(ruleNeg, out, a)
}

// negGrad: d(-a)/da = -1.
func negGrad(c *BackwardContext, g *Tensor) []*Tensor { return c.one(g.Neg()) }

func negGradScalar[T kernels.Float](g, _, _, _ T) (T, T) { return -g, 0 }

func init() {
	define(ruleNeg, derivative{op: "Neg", rule: negGrad,
		scalar32: negGradScalar[float32], scalar64: negGradScalar[float64]})
}

// scalarLike returns a 0-d tensor of t's dtype holding v.
func scalarLike(t *Tensor, v float64) *Tensor { return t.dtype.Scalar(v) }

// zerosFor returns zeros of t's dtype and shape, in t's pool: a gradient
// that happens to be zero is a result like any other.
func zerosFor(op string, t *Tensor) *Tensor { return newIn(poolOf(op, t), t.dtype, t.shape) }

// AddScalar returns a + s.
func (a *Tensor) AddScalar(s float64) *Tensor { return a.Add(scalarLike(a, s)) }

// SubScalar returns a - s.
func (a *Tensor) SubScalar(s float64) *Tensor { return a.Sub(scalarLike(a, s)) }

// MulScalar returns a * s.
func (a *Tensor) MulScalar(s float64) *Tensor { return a.Mul(scalarLike(a, s)) }

// DivScalar returns a / s.
func (a *Tensor) DivScalar(s float64) *Tensor { return a.Div(scalarLike(a, s)) }

// RSubScalar returns s - a.
func (a *Tensor) RSubScalar(s float64) *Tensor { return scalarLike(a, s).Sub(a) }

// ---- Powers, exponentials and roots ----

// Pow returns a raised to the power b elementwise, broadcasting. A negative
// base with a non-integer exponent gives NaN, as math.Pow does.
func (a *Tensor) Pow(b *Tensor) *Tensor {
	out := binaryMap("Pow", a, b, powT[float32], math.Pow)
	return record("Pow", out, []*Tensor{a, b}, powGrad)
}

// powGrad: d(a^b)/da = b·a^(b-1), d(a^b)/db = a^b·log a.
func powGrad(c *BackwardContext, g *Tensor) []*Tensor {
	x, y := c.Input(0), c.Input(1)
	var ga, gb *Tensor
	if c.NeedsGrad(0) {
		d := y.Mul(x.Pow(y.SubScalar(1)))
		// b·a^(b-1) is 0·∞ at a = b = 0; PyTorch defines the derivative
		// for a zero exponent as 0 everywhere.
		if hasValue(y, 0) {
			d = Where(y.Eq(scalarLike(y, 0)), scalarLike(d, 0), d)
		}
		ga = g.Mul(d)
	}
	if c.NeedsGrad(1) {
		gb = g.Mul(c.Output()).Mul(x.Log())
		// At a = 0, out·log(a) is 0·(-∞) or 1·(-∞); PyTorch defines the
		// exponent's derivative there as 0 when b >= 0.
		if hasValue(x, 0) {
			zeroBase := binaryMap("Pow", x, y, func(u, v float32) float32 { return b2f[float32](u == 0 && v >= 0) },
				func(u, v float64) float64 { return b2f[float64](u == 0 && v >= 0) })
			gb = Where(zeroBase, scalarLike(gb, 0), gb)
		}
	}
	return c.two(ga, gb)
}

// PowScalar returns a raised to the constant power p elementwise. Integer
// powers are exact to rounding (math.Pow multiplies for them).
func (a *Tensor) PowScalar(p float64) *Tensor {
	out := unaryMap("PowScalar", a, func(x float32) float32 { return float32(math.Pow(float64(x), p)) },
		func(x float64) float64 { return math.Pow(x, p) })
	return record("PowScalar", out, []*Tensor{a}, powScalarGrad(p))
}

// powScalarGrad: d(a^p)/da = p·a^(p-1).
func powScalarGrad(p float64) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		if p == 0 {
			// x^0 is constant; p·x^(p-1) would be 0·∞ at x = 0.
			return c.one(zerosFor("PowScalar", g))
		}
		return c.one(g.Mul(c.Input(0).PowScalar(p - 1).MulScalar(p)))
	}
}

// Exp returns e^a elementwise.
func (a *Tensor) Exp() *Tensor {
	out := unaryKernelRec("Exp", a, kernels.ExpRun[float32], kernels.ExpRun[float64])
	return recordRule(ruleExp, out, a)
}

// expGrad: d(e^a)/da = e^a, the output.
func expGrad(c *BackwardContext, g *Tensor) []*Tensor { return c.one(g.Mul(c.Output())) }

// expGradFused is expGrad on the multiply kernel.
func expGradFused(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(binaryKernel("Exp", g, c.OutputValue(), kernels.MulRun[float32], kernels.MulRun[float64]))
}

func expGradScalar[T kernels.Float](g, _, _, y T) (T, T) { return g * y, 0 }

func init() {
	define(ruleExp, derivative{op: "Exp", rule: expGrad, fused: expGradFused,
		scalar32: expGradScalar[float32], scalar64: expGradScalar[float64], reads: readY})
}

// Log returns the natural logarithm of a elementwise (NaN for negative
// values, -Inf at 0).
func (a *Tensor) Log() *Tensor {
	out := unaryKernel("Log", a, kernels.LogRun[float32], kernels.LogRun[float64])
	return recordRule(ruleLog, out, a)
}

// logGrad: d(log a)/da = 1/a.
func logGrad(c *BackwardContext, g *Tensor) []*Tensor { return c.one(g.Div(c.Input(0))) }

func logGradScalar[T kernels.Float](g, x0, _, _ T) (T, T) { return g / x0, 0 }

func init() {
	define(ruleLog, derivative{op: "Log", rule: logGrad,
		scalar32: logGradScalar[float32], scalar64: logGradScalar[float64], reads: readX0})
}

// Sqrt returns the square root of a elementwise (NaN for negative values).
func (a *Tensor) Sqrt() *Tensor {
	out := unaryKernel("Sqrt", a, kernels.SqrtRun[float32], kernels.SqrtRun[float64])
	return recordRule(ruleSqrt, out, a)
}

// sqrtGrad: d(√a)/da = 1/(2√a) = 0.5/out.
func sqrtGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(g.Div(c.Output()).MulScalar(0.5))
}

func sqrtGradScalar[T kernels.Float](g, _, _, y T) (T, T) { return g / y * 0.5, 0 }

func init() {
	define(ruleSqrt, derivative{op: "Sqrt", rule: sqrtGrad,
		scalar32: sqrtGradScalar[float32], scalar64: sqrtGradScalar[float64], reads: readY})
}

// Square returns a*a elementwise.
func (a *Tensor) Square() *Tensor {
	out := unaryKernel("Square", a, kernels.SquareRun[float32], kernels.SquareRun[float64])
	return recordRule(ruleSquare, out, a)
}

// squareGrad: d(a²)/da = 2a.
func squareGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(g.Mul(c.Input(0)).MulScalar(2))
}

func squareGradScalar[T kernels.Float](g, x0, _, _ T) (T, T) { return g * x0 * 2, 0 }

func init() {
	define(ruleSquare, derivative{op: "Square", rule: squareGrad,
		scalar32: squareGradScalar[float32], scalar64: squareGradScalar[float64], reads: readX0})
}

// Reciprocal returns 1/a elementwise.
func (a *Tensor) Reciprocal() *Tensor {
	out := unaryMap("Reciprocal", a, func(x float32) float32 { return 1 / x }, func(x float64) float64 { return 1 / x })
	return record("Reciprocal", out, []*Tensor{a}, reciprocalGrad)
}

// reciprocalGrad: d(1/a)/da = -1/a² = -out².
func reciprocalGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(g.Mul(c.Output().Square()).Neg())
}

// ---- Trigonometric and smooth activations ----

// Sin returns the sine of a elementwise.
func (a *Tensor) Sin() *Tensor {
	out := unaryMap("Sin", a, sinT[float32], math.Sin)
	return recordRule(ruleSin, out, a)
}

// sinGrad: d(sin a)/da = cos a.
func sinGrad(c *BackwardContext, g *Tensor) []*Tensor { return c.one(g.Mul(c.Input(0).Cos())) }

func sinGradScalar[T kernels.Float](g, x0, _, _ T) (T, T) { return g * cosT(x0), 0 }

func init() {
	define(ruleSin, derivative{op: "Sin", rule: sinGrad,
		scalar32: sinGradScalar[float32], scalar64: sinGradScalar[float64], reads: readX0})
}

// Cos returns the cosine of a elementwise.
func (a *Tensor) Cos() *Tensor {
	out := unaryMap("Cos", a, cosT[float32], math.Cos)
	return recordRule(ruleCos, out, a)
}

// cosGrad: d(cos a)/da = -sin a.
func cosGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(g.Mul(c.Input(0).Sin()).Neg())
}

func cosGradScalar[T kernels.Float](g, x0, _, _ T) (T, T) { return -(g * sinT(x0)), 0 }

func init() {
	define(ruleCos, derivative{op: "Cos", rule: cosGrad,
		scalar32: cosGradScalar[float32], scalar64: cosGradScalar[float64], reads: readX0})
}

// Tanh returns the hyperbolic tangent of a elementwise.
func (a *Tensor) Tanh() *Tensor {
	out := unaryKernelRec("Tanh", a, kernels.TanhRun[float32], kernels.TanhRun[float64])
	return recordRule(ruleTanh, out, a)
}

// tanhGrad: d(tanh a)/da = 1 - tanh² a = 1 - out².
func tanhGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(g.Mul(c.Output().Square().RSubScalar(1)))
}

// tanhGradFused is tanhGrad in one kernel.
func tanhGradFused(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(binaryKernel("Tanh", g, c.OutputValue(), kernels.TanhGradRun[float32], kernels.TanhGradRun[float64]))
}

func tanhGradScalar[T kernels.Float](g, _, _, y T) (T, T) { return g * (1 - y*y), 0 }

func init() {
	define(ruleTanh, derivative{op: "Tanh", rule: tanhGrad, fused: tanhGradFused,
		scalar32: tanhGradScalar[float32], scalar64: tanhGradScalar[float64], reads: readY})
}

// Sigmoid returns 1/(1+e^-a) elementwise. It never overflows: large negative
// inputs give 0 and large positive ones 1, without NaN.
func (a *Tensor) Sigmoid() *Tensor {
	out := unaryKernelRec("Sigmoid", a, kernels.SigmoidRun[float32], kernels.SigmoidRun[float64])
	return recordRule(ruleSigmoid, out, a)
}

// sigmoidGrad: dσ(a)/da = σ(a)·(1 - σ(a)), multiplied into g in that
// order: (g·out)·(1 - out).
func sigmoidGrad(c *BackwardContext, g *Tensor) []*Tensor {
	s := c.Output()
	return c.one(g.Mul(s).Mul(s.RSubScalar(1)))
}

// sigmoidGradFused is sigmoidGrad in one kernel.
func sigmoidGradFused(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(binaryKernel("Sigmoid", g, c.OutputValue(), kernels.SigmoidGradRun[float32], kernels.SigmoidGradRun[float64]))
}

func sigmoidGradScalar[T kernels.Float](g, _, _, y T) (T, T) { return g * y * (1 - y), 0 }

func init() {
	define(ruleSigmoid, derivative{op: "Sigmoid", rule: sigmoidGrad, fused: sigmoidGradFused,
		scalar32: sigmoidGradScalar[float32], scalar64: sigmoidGradScalar[float64], reads: readY})
}

// GELU returns x·Φ(x) elementwise, where Φ is the standard normal CDF: the
// exact (erf) form, PyTorch's default, not the tanh approximation (see
// GELUTanh). float32 is computed in float32 arithmetic, vectorized, within
// a few ulp (gelu.go); float64 with math.Erfc.
func (a *Tensor) GELU() *Tensor { return geluExact(a) }

// ---- Piecewise ops ----
//
// Their derivatives are piecewise constant, so the backward multiplies the
// upstream gradient by a mask computed from the input (maskedGrad). The mask
// is a constant: it has no derivative of its own, which is exactly the
// second derivative of a piecewise-linear function away from its kinks.
// At a kink they follow PyTorch (ReLU'(0) = 0, |x|'(0) = 0, Clamp passes the
// gradient on its boundary, Maximum splits ties evenly).

// ReLU returns max(a, 0) elementwise (NaN stays NaN).
func (a *Tensor) ReLU() *Tensor {
	out := unaryKernel("ReLU", a, kernels.ReLU[float32], kernels.ReLU[float64])
	return recordRule(ruleReLU, out, a)
}

// reluGrad: ReLU'(a) is 1 where a > 0, else 0.
func reluGrad(c *BackwardContext, g *Tensor) []*Tensor { return c.one(reluBackward(g, c.Input(0))) }

func reluGradScalar[T kernels.Float](g, x0, _, _ T) (T, T) {
	if x0 > 0 {
		return g, 0
	}
	return 0, 0
}

func init() {
	define(ruleReLU, derivative{op: "ReLU", rule: reluGrad,
		scalar32: reluGradScalar[float32], scalar64: reluGradScalar[float64], reads: readX0})
}

// reluBackward is maskedGrad for ReLU, with a dedicated kernel because it
// runs on every step of most networks' training.
func reluBackward(g, x *Tensor) *Tensor {
	out := binaryKernel("ReLUBackward", g, x, kernels.ReLUGrad[float32], kernels.ReLUGrad[float64])
	return recordSaved("ReLUBackward", out, []*Tensor{g}, []*Tensor{x}, func(c *BackwardContext, gg *Tensor) []*Tensor {
		return c.one(reluBackward(gg, c.Saved(0)))
	})
}

// LeakyReLU returns a where a > 0 and slope·a elsewhere.
func (a *Tensor) LeakyReLU(slope float64) *Tensor {
	s32 := float32(slope)
	out := unaryMap("LeakyReLU", a, func(x float32) float32 {
		if x > 0 {
			return x
		}
		return s32 * x
	}, func(x float64) float64 {
		if x > 0 {
			return x
		}
		return slope * x
	})
	return record("LeakyReLU", out, []*Tensor{a}, leakyReLUGrad(slope, s32))
}

// leakyReLUGrad: the slope is 1 where a > 0, else slope.
func leakyReLUGrad(slope float64, s32 float32) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{maskedGrad("LeakyReLUBackward", g, c.Input(0), func(g, x float32) float32 {
			if x > 0 {
				return g
			}
			return s32 * g
		}, func(g, x float64) float64 {
			if x > 0 {
				return g
			}
			return slope * g
		})}
	}
}

// Abs returns |a| elementwise.
func (a *Tensor) Abs() *Tensor {
	out := unaryKernel("Abs", a, kernels.AbsRun[float32], kernels.AbsRun[float64])
	return record("Abs", out, []*Tensor{a}, absGrad)
}

// absGrad: |a|' is the sign of a (0 at 0).
func absGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(maskedGrad("AbsBackward", g, c.Input(0), absGradT[float32], absGradT[float64]))
}

// Sign returns -1, 0 or 1 by the sign of each element (0 for NaN, as
// PyTorch does). Its gradient is 0 everywhere.
func (a *Tensor) Sign() *Tensor {
	out := unaryMap("Sign", a, signT[float32], signT[float64])
	return record("Sign", out, []*Tensor{a}, signGrad)
}

// signGrad: sign is flat, so the gradient is 0.
func signGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(zerosFor("Sign", g))
}

// Clamp limits a to [lo, hi] elementwise; pass math.Inf(-1) or math.Inf(1)
// for a one-sided limit. The gradient passes where lo <= a <= hi, boundary
// included, as torch.clamp does. NaN stays NaN.
func (a *Tensor) Clamp(lo, hi float64) *Tensor {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		panic(fmt.Sprintf("backprop: Clamp: bounds %v and %v must not be NaN (tensor of shape %v)", lo, hi, a.shape))
	}
	lo32, hi32 := float32(lo), float32(hi)
	out := unaryMap("Clamp", a, func(x float32) float32 { return clampT(x, lo32, hi32) },
		func(x float64) float64 { return clampT(x, lo, hi) })
	return record("Clamp", out, []*Tensor{a}, clampGrad(lo, hi))
}

// clampGrad: 1 inside [lo, hi] (boundary included), else 0.
func clampGrad(lo float64, hi float64) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{maskedGrad("ClampBackward", g, c.Input(0), func(g, x float32) float32 {
			if float64(x) >= lo && float64(x) <= hi {
				return g
			}
			return 0
		}, func(g, x float64) float64 {
			if x >= lo && x <= hi {
				return g
			}
			return 0
		})}
	}
}

// Maximum returns the elementwise maximum of a and b, broadcasting. NaN in
// either gives NaN. Where a == b the gradient is split half and half, as
// torch.maximum does.
func (a *Tensor) Maximum(b *Tensor) *Tensor {
	out := binaryMap("Maximum", a, b, maxT[float32], maxT[float64])
	return record("Maximum", out, []*Tensor{a, b}, maximumGrad)
}

// maximumGrad: g goes to the larger input, half to each on a tie.
func maximumGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return extremumGrads(c, g, pickGreater[float32], pickGreater[float64])
}

// Minimum returns the elementwise minimum of a and b, broadcasting; see
// Maximum for NaN and ties.
func (a *Tensor) Minimum(b *Tensor) *Tensor {
	out := binaryMap("Minimum", a, b, minT[float32], minT[float64])
	return record("Minimum", out, []*Tensor{a, b}, minimumGrad)
}

// minimumGrad: g goes to the smaller input, half to each on a tie.
func minimumGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return extremumGrads(c, g, pickLess[float32], pickLess[float64])
}

// extremumGrads routes g to whichever of the two inputs was picked, w(x, y)
// being x's share (1, 1/2 on a tie, or 0) and w(y, x) y's.
func extremumGrads(c *BackwardContext, g *Tensor, w32 func(x, y float32) float32, w64 func(x, y float64) float64) []*Tensor {
	x, y := c.Input(0), c.Input(1)
	var ga, gb *Tensor
	if c.NeedsGrad(0) {
		ga = g.Mul(binaryMap("Maximum", x, y, w32, w64))
	}
	if c.NeedsGrad(1) {
		gb = g.Mul(binaryMap("Maximum", y, x, w32, w64))
	}
	return c.two(ga, gb)
}

// maskedGrad returns f(g, x) elementwise, where f scales g by a piecewise
// constant function of x. It is recorded as linear in g only, x being a
// constant: its backward is maskedGrad again.
func maskedGrad(op string, g, x *Tensor, f32 func(g, x float32) float32, f64 func(g, x float64) float64) *Tensor {
	out := binaryMap(op, g, x, f32, f64)
	return recordSaved(op, out, []*Tensor{g}, []*Tensor{x}, func(c *BackwardContext, gg *Tensor) []*Tensor {
		return c.one(maskedGrad(op, gg, c.Saved(0), f32, f64))
	})
}

// ---- Selection and comparison ----

// Where returns a where cond is nonzero and b elsewhere, broadcasting all
// three. cond may have any dtype and takes no part in differentiation; a and
// b must share a float dtype, and the gradient goes to whichever was chosen.
func Where(cond, a, b *Tensor) *Tensor {
	checkBinary("Where", a, b)
	shape, ok := tryBroadcast(cond.shape, a.shape)
	if ok {
		shape, ok = tryBroadcast(shape, b.shape)
	}
	if !ok {
		panic(fmt.Sprintf("backprop: Where: shapes %v (cond), %v and %v cannot be broadcast together", cond.shape, a.shape, b.shape))
	}
	out := rawIn(poolOf("Where", a, b, cond), a.dtype, shape)
	sc, sa, sb := broadcastStrides(cond, shape), broadcastStrides(a, shape), broadcastStrides(b, shape)
	eachRun(shape, []int{0, cond.offset, a.offset, b.offset}, [][]int{out.strides, sc, sa, sb}, func(p []int, n int, s []int) {
		if out.dtype == Float32 {
			whereRun(out.f32[p[0]:p[0]+n], cond, p[1], s[1], a.f32, p[2], s[2], b.f32, p[3], s[3])
		} else {
			whereRun(out.f64[p[0]:p[0]+n], cond, p[1], s[1], a.f64, p[2], s[2], b.f64, p[3], s[3])
		}
	})
	if cond.noGrad {
		// cond is not differentiated, but it marks inference just as a and b
		// would; see NoGrad.
		out.noGrad = true
		return out
	}
	return recordSaved("Where", out, []*Tensor{a, b}, []*Tensor{cond}, whereGrad)
}

// whereGrad: g goes to whichever input cond chose.
func whereGrad(c *BackwardContext, g *Tensor) []*Tensor {
	cd := c.Saved(0)
	zero := scalarLike(g, 0)
	var ga, gb *Tensor
	if c.NeedsGrad(0) {
		ga = Where(cd, g, zero)
	}
	if c.NeedsGrad(1) {
		gb = Where(cd, zero, g)
	}
	return c.two(ga, gb)
}

func whereRun[T kernels.Float](dst []T, cond *Tensor, pc, sc int, a []T, pa, sa int, b []T, pb, sb int) {
	switch cond.dtype {
	case Float32:
		whereLoop(dst, cond.f32, pc, sc, a, pa, sa, b, pb, sb)
	case Float64:
		whereLoop(dst, cond.f64, pc, sc, a, pa, sa, b, pb, sb)
	default:
		whereLoop(dst, cond.i64, pc, sc, a, pa, sa, b, pb, sb)
	}
}

func whereLoop[T kernels.Float, C float32 | float64 | int64](dst []T, cond []C, pc, sc int, a []T, pa, sa int, b []T, pb, sb int) {
	for i := range dst {
		if cond[pc+i*sc] != 0 {
			dst[i] = a[pa+i*sa]
		} else {
			dst[i] = b[pb+i*sb]
		}
	}
}

// tryBroadcast is broadcastShapes without the panic, for ops that name more
// than two shapes in their message.
func tryBroadcast(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// Gt returns 1 where a > b and 0 elsewhere, in a's dtype, broadcasting.
// Comparisons are never recorded: their result is a constant, which is what
// the masks in backward formulas need. They work on int64 tensors too.
func (a *Tensor) Gt(b *Tensor) *Tensor {
	return compare("Gt", a, b, gtT[float32], gtT[float64], gtT[int64], false)
}

// Ge returns 1 where a >= b and 0 elsewhere; see Gt.
func (a *Tensor) Ge(b *Tensor) *Tensor {
	return compare("Ge", a, b, geT[float32], geT[float64], geT[int64], false)
}

// Lt returns 1 where a < b and 0 elsewhere; see Gt.
func (a *Tensor) Lt(b *Tensor) *Tensor {
	return compare("Lt", a, b, gtT[float32], gtT[float64], gtT[int64], true)
}

// Le returns 1 where a <= b and 0 elsewhere; see Gt.
func (a *Tensor) Le(b *Tensor) *Tensor {
	return compare("Le", a, b, geT[float32], geT[float64], geT[int64], true)
}

// Eq returns 1 where a == b and 0 elsewhere (0 for NaN); see Gt.
func (a *Tensor) Eq(b *Tensor) *Tensor {
	return compare("Eq", a, b, eqT[float32], eqT[float64], eqT[int64], false)
}

// Ne returns 1 where a != b and 0 elsewhere (1 for NaN); see Gt.
func (a *Tensor) Ne(b *Tensor) *Tensor {
	return compare("Ne", a, b, neT[float32], neT[float64], neT[int64], false)
}

// compare evaluates pred over the broadcast of a and b into a's dtype. With
// swap set it evaluates pred(b, a), which turns Gt into Lt and Ge into Le.
func compare(op string, a, b *Tensor, p32 func(x, y float32) bool, p64 func(x, y float64) bool, pi func(x, y int64) bool, swap bool) *Tensor {
	if a.dtype != b.dtype {
		panic(fmt.Sprintf("backprop: %s: dtypes %v (shape %v) and %v (shape %v) differ; convert one with To", op, a.dtype, a.shape, b.dtype, b.shape))
	}
	shape := broadcastShapes(op, a.shape, b.shape)
	out := newIn(poolOf(op, a, b), a.dtype, shape)
	x, y := a, b
	if swap {
		x, y = b, a
	}
	sx, sy := broadcastStrides(x, shape), broadcastStrides(y, shape)
	eachRun(shape, []int{0, x.offset, y.offset}, [][]int{out.strides, sx, sy}, func(p []int, n int, s []int) {
		switch out.dtype {
		case Float32:
			compareLoop(out.f32[p[0]:p[0]+n], x.f32, p[1], s[1], y.f32, p[2], s[2], p32)
		case Float64:
			compareLoop(out.f64[p[0]:p[0]+n], x.f64, p[1], s[1], y.f64, p[2], s[2], p64)
		default:
			compareLoop(out.i64[p[0]:p[0]+n], x.i64, p[1], s[1], y.i64, p[2], s[2], pi)
		}
	})
	// A comparison is a constant, but one read from inference data is still
	// inference data: ops fed by it must not record either.
	out.noGrad = a.noGrad || b.noGrad
	return out
}

func compareLoop[T float32 | float64 | int64](dst, x []T, px, sx int, y []T, py, sy int, pred func(x, y T) bool) {
	for i := range dst {
		if pred(x[px+i*sx], y[py+i*sy]) {
			dst[i] = 1
		}
	}
}

// hasValue reports whether any element of t equals v.
func hasValue(t *Tensor, v float64) bool {
	found := false
	t.eachOffset(func(p int) {
		if t.getFlat(p) == v {
			found = true
		}
	})
	return found
}

// ---- Scalar kernels, generic over the float dtypes ----
//
// Go's math works in float64; float32 values are widened, computed in
// float64 and rounded once, which is at least as accurate as float32
// arithmetic would be.

func b2f[T kernels.Float](c bool) T {
	if c {
		return 1
	}
	return 0
}

func powT[T kernels.Float](x, y T) T { return T(math.Pow(float64(x), float64(y))) }
func sinT[T kernels.Float](x T) T    { return T(math.Sin(float64(x))) }
func cosT[T kernels.Float](x T) T    { return T(math.Cos(float64(x))) }

func absGradT[T kernels.Float](g, x T) T {
	switch {
	case x > 0:
		return g
	case x < 0:
		return -g
	}
	return 0
}

func signT[T kernels.Float](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func clampT[T kernels.Float](x, lo, hi T) T {
	// PyTorch: min(max(x, lo), hi), so lo > hi gives hi everywhere.
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	return x
}

func maxT[T kernels.Float](x, y T) T {
	if x > y || x != x {
		return x
	}
	return y
}

func minT[T kernels.Float](x, y T) T {
	if x < y || x != x {
		return x
	}
	return y
}

// pickGreater is x's share of the gradient of max(x, y).
func pickGreater[T kernels.Float](x, y T) T {
	switch {
	case x > y:
		return 1
	case x == y:
		return 0.5
	}
	return 0
}

// pickLess is x's share of the gradient of min(x, y).
func pickLess[T kernels.Float](x, y T) T {
	switch {
	case x < y:
		return 1
	case x == y:
		return 0.5
	}
	return 0
}

func gtT[T float32 | float64 | int64](x, y T) bool { return x > y }
func geT[T float32 | float64 | int64](x, y T) bool { return x >= y }
func eqT[T float32 | float64 | int64](x, y T) bool { return x == y }
func neT[T float32 | float64 | int64](x, y T) bool { return x != y }
