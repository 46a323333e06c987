package backprop

import (
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// GELU in its two forms. The exact form, x·Φ(x), is GELU (elementwise.go);
// this file holds its kernels and the tanh approximation.

// gelu tanh approximation constants: √(2/π) and the cubic's coefficient.
const (
	geluTanhC = 0.7978845608028654
	geluTanhA = 0.044715
)

// GELUTanh returns the tanh approximation of GELU elementwise,
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), which is PyTorch's
// gelu(x, approximate="tanh") and GPT-2's activation.
func (a *Tensor) GELUTanh() *Tensor {
	out := unaryMap("GELUTanh", a, geluTanhT[float32], geluTanhT[float64])
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
	out := unaryMap("GELUTanh", x, geluTanhGradT[float32], geluTanhGradT[float64])
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

func geluTanhT[T kernels.Float](x T) T {
	v := float64(x)
	return T(0.5 * v * (1 + math.Tanh(geluTanhC*(v+geluTanhA*v*v*v))))
}

func geluTanhGradT[T kernels.Float](x T) T {
	v := float64(x)
	t := math.Tanh(geluTanhC * (v + geluTanhA*v*v*v))
	du := geluTanhC * (1 + 3*geluTanhA*v*v)
	return T(0.5*(1+t) + 0.5*v*(1-t*t)*du)
}
