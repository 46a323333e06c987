package backprop

import "testing"

func TestGradFunctional(t *testing.T) {
	x := Float64.Scalar(3)
	g := Grad(func(xs ...*Tensor) *Tensor { return xs[0].Mul(xs[0]).Mul(xs[0]) }, x)
	if g[0].Item() != 27 {
		t.Fatalf("grad = %v", g[0].Item())
	}
	if x.Grad() != nil || g[0].RequiresGrad() {
		t.Fatal("functional Grad touched the input or returned a graph")
	}
}

func TestGradOfGradFunctional(t *testing.T) {
	cube := func(xs ...*Tensor) *Tensor { return xs[0].Mul(xs[0]).Mul(xs[0]) }
	d1 := func(xs ...*Tensor) *Tensor { return Grad(cube, xs[0])[0] }
	d2 := func(xs ...*Tensor) *Tensor { return Grad(d1, xs[0])[0] }
	x := Float64.Scalar(2)
	if got := Grad(d1, x)[0].Item(); got != 12 { // 6x
		t.Fatalf("d2 = %v", got)
	}
	if got := Grad(d2, x)[0].Item(); got != 6 {
		t.Fatalf("d3 = %v", got)
	}
}

func TestVJPAndHVP(t *testing.T) {
	x := FromFloat64s([]float64{1, 2, 3})
	// f(x) = x*x elementwise; v^T J = 2 x v
	out, g := VJP(func(xs ...*Tensor) *Tensor { return xs[0].Mul(xs[0]) }, FromFloat64s([]float64{1, 0, 2}), x)
	if out.At(2) != 9 || g[0].At(0) != 2 || g[0].At(1) != 0 || g[0].At(2) != 12 {
		t.Fatalf("out %v vjp %v", out, g[0])
	}
	// f(x, y) = sum(x*x*y): H = [[2y, 2x],[2x, 0]] blockwise diag
	y := FromFloat64s([]float64{4, 5, 6})
	f := func(xs ...*Tensor) *Tensor { return xs[0].Mul(xs[0]).Mul(xs[1]).Sum() }
	h := HVP(f, []*Tensor{x, y}, []*Tensor{Float64.Ones(3), Float64.Zeros(3)})
	// Hxx v = 2y, Hyx v = 2x
	for i := range 3 {
		if h[0].At(i) != 2*y.At(i) || h[1].At(i) != 2*x.At(i) {
			t.Fatalf("hvp %v %v", h[0], h[1])
		}
	}
}

func TestGradientsPrunesUnrequestedBranches(t *testing.T) {
	x := Float64.Scalar(2).SetRequiresGrad(true)
	w := Float64.Scalar(3).SetRequiresGrad(true)
	calls := 0
	big := Record("Counted", w.Detach().MulScalar(1), []*Tensor{w}, nil, func(c *BackwardContext, g *Tensor) []*Tensor {
		calls++
		return []*Tensor{g}
	})
	f := x.Mul(big)
	g := Gradients([]*Tensor{f}, nil, []*Tensor{x}, BackwardOptions{})
	if g[0].Item() != 3 || calls != 0 {
		t.Fatalf("grad %v, backward of an unrequested branch ran %d times", g[0].Item(), calls)
	}
}
