package backprop

// Elementwise ops. Binary ops broadcast as NumPy and PyTorch do; their
// backward returns gradients in the broadcast shape and the engine sums them
// back down to each input's shape.

// Add returns a + b.
func (a *Tensor) Add(b *Tensor) *Tensor {
	out := binaryMap("Add", a, b, addT[float32], addT[float64])
	return record("Add", out, []*Tensor{a, b}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g, g}
	})
}

// Sub returns a - b.
func (a *Tensor) Sub(b *Tensor) *Tensor {
	out := binaryMap("Sub", a, b, subT[float32], subT[float64])
	return record("Sub", out, []*Tensor{a, b}, func(c *BackwardContext, g *Tensor) []*Tensor {
		var gb *Tensor
		if c.NeedsGrad(1) {
			gb = g.Neg()
		}
		return []*Tensor{g, gb}
	})
}

// Mul returns a * b elementwise.
func (a *Tensor) Mul(b *Tensor) *Tensor {
	out := binaryMap("Mul", a, b, mulT[float32], mulT[float64])
	return record("Mul", out, []*Tensor{a, b}, func(c *BackwardContext, g *Tensor) []*Tensor {
		var ga, gb *Tensor
		if c.NeedsGrad(0) {
			ga = g.Mul(c.Input(1))
		}
		if c.NeedsGrad(1) {
			gb = g.Mul(c.Input(0))
		}
		return []*Tensor{ga, gb}
	})
}

// Div returns a / b elementwise.
func (a *Tensor) Div(b *Tensor) *Tensor {
	out := binaryMap("Div", a, b, divT[float32], divT[float64])
	return record("Div", out, []*Tensor{a, b}, func(c *BackwardContext, g *Tensor) []*Tensor {
		ga := g.Div(c.Input(1))
		var gb *Tensor
		if c.NeedsGrad(1) {
			// d(a/b)/db = -a/b^2 = -(g/b) * (a/b)
			gb = ga.Mul(c.Output()).Neg()
		}
		return []*Tensor{ga, gb}
	})
}

// Neg returns -a.
func (a *Tensor) Neg() *Tensor {
	out := unaryMap("Neg", a, func(x float32) float32 { return -x }, func(x float64) float64 { return -x })
	return record("Neg", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Neg()}
	})
}

// scalarLike returns a 0-d tensor of t's dtype holding v.
func scalarLike(t *Tensor, v float64) *Tensor { return t.dtype.Scalar(v) }

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
