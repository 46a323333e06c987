package backprop

import (
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// GELU in its two forms. The exact form, x·Φ(x), is GELU (elementwise.go);
// this file holds its op and the tanh approximation. float32 GELU runs in
// float32 arithmetic (kernels.GELU32, vectorized with AVX2), which is what
// keeps a transformer's MLP from spending half its time in math.Erfc.

// geluExact is GELU. Its first-order backward is one pass over g and x
// (g·GELU'(x), fused); with CreateGraph it is g·geluDeriv(x), whose own
// derivative is written with ops.
func geluExact(a *Tensor) *Tensor {
	out := unaryKernelRec("GELU", a, kernels.GELURun[float32], kernels.GELURun[float64])
	return record("GELU", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		if !c.create {
			return c.one(binaryKernel("GELU", g, c.n.inputs[0], kernels.GELUBackwardRun[float32], kernels.GELUBackwardRun[float64]))
		}
		return c.one(g.Mul(geluDeriv(c.Input(0))))
	})
}

// geluDeriv returns GELU'(x) = Φ(x) + x·φ(x) as one op; its derivative
// φ(x)·(2 - x²) is written with ops, so higher orders work.
func geluDeriv(x *Tensor) *Tensor {
	out := unaryKernel("GELU", x, kernels.GELUDerivRun[float32], kernels.GELUDerivRun[float64])
	return record("GELUGrad", out, []*Tensor{x}, func(c *BackwardContext, g *Tensor) []*Tensor {
		x := c.Input(0)
		x2 := x.Square()
		phi := x2.MulScalar(-0.5).Exp().MulScalar(1 / math.Sqrt(2*math.Pi))
		return c.one(g.Mul(phi.Mul(x2.RSubScalar(2))))
	})
}

// gelu tanh approximation constants: √(2/π) and the cubic's coefficient.
const (
	geluTanhC = 0.7978845608028654
	geluTanhA = 0.044715
)

// GELUTanh returns the tanh approximation of GELU elementwise,
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), which is PyTorch's
// gelu(x, approximate="tanh") and GPT-2's activation.
func (a *Tensor) GELUTanh() *Tensor {
	out := unaryKernel("GELUTanh", a, kernels.GELUTanhRun[float32], kernels.GELUTanhRun[float64])
	return record("GELUTanh", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.Mul(geluTanhGrad(c.Input(0))))
	})
}

// geluTanhGrad returns the derivative of GELUTanh as one op; its own
// derivative is written with ops, so higher orders work. With
// u = c(x + a x³) and t = tanh u, the derivative is
// 0.5(1+t) + 0.5·x·(1-t²)·u', and the second one
// (1-t²)·(u' - x·t·u'² + 0.5·x·u”), u' = c(1 + 3a x²), u” = 6ac·x.
func geluTanhGrad(x *Tensor) *Tensor {
	out := unaryKernel("GELUTanh", x, kernels.GELUTanhDerivRun[float32], kernels.GELUTanhDerivRun[float64])
	return record("GELUTanhGrad", out, []*Tensor{x}, func(c *BackwardContext, g *Tensor) []*Tensor {
		x := c.Input(0)
		x2 := x.Square()
		t := x2.MulScalar(geluTanhA).AddScalar(1).Mul(x).MulScalar(geluTanhC).Tanh()
		du := x2.MulScalar(3 * geluTanhA).AddScalar(1).MulScalar(geluTanhC)
		sech2 := t.Square().RSubScalar(1)
		inner := du.Sub(x.Mul(t).Mul(du.Square())).Add(x2.MulScalar(3 * geluTanhA * geluTanhC))
		return c.one(g.Mul(sech2.Mul(inner)))
	})
}
