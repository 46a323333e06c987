package backprop

import (
	"math"
	"strings"
	"testing"
)

func scalar64(v float64) *Tensor { return Float64.Scalar(v).SetRequiresGrad(true) }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestLectureCircuit(t *testing.T) {
	x, y, z := scalar64(-2), scalar64(5), scalar64(-4)
	f := x.Add(y).Mul(z)
	f.Backward()
	if f.Item() != -12 {
		t.Fatalf("f = %v", f.Item())
	}
	for _, c := range []struct {
		name string
		v    *Tensor
		want float64
	}{{"x", x, -4}, {"y", y, -4}, {"z", z, 3}} {
		if got := c.v.Grad().Item(); got != c.want {
			t.Errorf("d%s = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFanOutSums(t *testing.T) {
	x := scalar64(3)
	f := x.Mul(x).Add(x) // x^2 + x: df/dx = 2x+1
	f.Backward()
	if got := x.Grad().Item(); got != 7 {
		t.Fatalf("grad = %v, want 7", got)
	}
}

func TestLeafAccumulatesUntilZeroed(t *testing.T) {
	x := scalar64(2)
	x.MulScalar(3).Backward()
	x.MulScalar(3).Backward()
	if got := x.Grad().Item(); got != 6 {
		t.Fatalf("accumulated grad = %v, want 6", got)
	}
	x.ZeroGrad()
	x.MulScalar(5).Backward()
	if got := x.Grad().Item(); got != 5 {
		t.Fatalf("after ZeroGrad grad = %v, want 5", got)
	}
}

func TestBroadcastGradReduced(t *testing.T) {
	a := Float64.Ones(2, 3).SetRequiresGrad(true)
	b := FromFloat64s([]float64{1, 2, 3}, 3).SetRequiresGrad(true)
	a.Mul(b).Sum().Backward()
	if gb := b.Grad(); gb.Dim() != 1 || gb.At(0) != 2 || gb.At(2) != 2 {
		t.Fatalf("b.grad = %v", gb)
	}
	if ga := a.Grad(); ga.At(1, 2) != 3 {
		t.Fatalf("a.grad = %v", ga)
	}
}

func TestMillionNodeChain(t *testing.T) {
	x := scalar64(1)
	y := x
	for range 1_000_000 {
		y = y.MulScalar(1)
	}
	y.Backward()
	if x.Grad().Item() != 1 {
		t.Fatalf("grad = %v", x.Grad().Item())
	}
}

func TestSecondBackwardIsClearError(t *testing.T) {
	x := scalar64(2)
	y := x.Mul(x)
	y.Backward()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "second time") {
			t.Fatalf("panic = %v", r)
		}
	}()
	y.Backward()
}

func TestRetainGraphAllowsSecondBackward(t *testing.T) {
	x := scalar64(2)
	y := x.Mul(x)
	y.BackwardWith(nil, BackwardOptions{RetainGraph: true})
	y.Backward()
	if x.Grad().Item() != 8 {
		t.Fatalf("grad = %v, want 8", x.Grad().Item())
	}
}

func TestNonScalarNeedsUpstream(t *testing.T) {
	x := Float64.Ones(3).SetRequiresGrad(true)
	y := x.MulScalar(2)
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "not a scalar") {
				t.Fatalf("panic = %v", r)
			}
		}()
		y.Backward()
	}()
	y.BackwardWith(FromFloat64s([]float64{1, 2, 3}), BackwardOptions{})
	if x.Grad().At(2) != 6 {
		t.Fatalf("grad = %v", x.Grad())
	}
}

func TestHooksAndRetainGrad(t *testing.T) {
	x := scalar64(2)
	h := x.MulScalar(3).RetainGrad()
	h.RegisterHook(func(g *Tensor) *Tensor { return g.MulScalar(10) })
	seen := 0.0
	x.RegisterHook(func(g *Tensor) *Tensor { seen = g.Item(); return nil })
	h.Mul(h).Backward() // d/dh = 2h = 12, hook -> 120, dx = 360
	if h.Grad().Item() != 120 || seen != 360 || x.Grad().Item() != 360 {
		t.Fatalf("h.grad=%v seen=%v x.grad=%v", h.Grad().Item(), seen, x.Grad().Item())
	}
}

func TestDetachStopsGradient(t *testing.T) {
	x := scalar64(3)
	y := x.Mul(x.Detach()) // d/dx = detached x = 3
	y.Backward()
	if x.Grad().Item() != 3 {
		t.Fatalf("grad = %v", x.Grad().Item())
	}
	if x.Detach().RequiresGrad() {
		t.Fatal("detached requires grad")
	}
}

func TestNoGraphWithoutRequiresGrad(t *testing.T) {
	x := Float64.Scalar(3)
	y := x.Mul(x)
	if y.RequiresGrad() || y.GradFn() != nil {
		t.Fatal("recorded a graph for tensors that need no gradient")
	}
}

func TestGradientsDoesNotTouchLeaves(t *testing.T) {
	x, y := scalar64(2), scalar64(5)
	f := x.Mul(y).Add(x)
	g := Gradients([]*Tensor{f}, nil, []*Tensor{x, y}, BackwardOptions{})
	if g[0].Item() != 6 || g[1].Item() != 2 {
		t.Fatalf("grads %v %v", g[0], g[1])
	}
	if x.Grad() != nil || y.Grad() != nil {
		t.Fatal("Gradients wrote into Grad")
	}
}

func TestGradOfGrad(t *testing.T) {
	x := scalar64(3)
	y := x.Mul(x).Mul(x) // x^3
	g := Gradients([]*Tensor{y}, nil, []*Tensor{x}, BackwardOptions{CreateGraph: true})[0]
	if g.Item() != 27 {
		t.Fatalf("dy/dx = %v", g.Item())
	}
	g2 := Gradients([]*Tensor{g}, nil, []*Tensor{x}, BackwardOptions{CreateGraph: true})[0]
	if g2.Item() != 18 {
		t.Fatalf("d2y/dx2 = %v", g2.Item())
	}
	g3 := Gradients([]*Tensor{g2}, nil, []*Tensor{x}, BackwardOptions{})[0]
	if g3.Item() != 6 {
		t.Fatalf("d3y/dx3 = %v", g3.Item())
	}
}

func TestNoGradModePropagates(t *testing.T) {
	w := Float64.Scalar(2).SetRequiresGrad(true)
	x := Float64.Scalar(3).NoGrad()
	y := x.Mul(w).AddScalar(1)
	if y.RequiresGrad() || y.GradFn() != nil || !y.IsNoGrad() {
		t.Fatal("NoGrad input still recorded a graph")
	}
	if y.Item() != 7 {
		t.Fatalf("value %v", y.Item())
	}
	// The same parameter still trains outside no-grad mode.
	z := Float64.Scalar(3).Mul(w)
	z.Backward()
	if w.Grad().Item() != 3 {
		t.Fatalf("grad %v", w.Grad().Item())
	}
}
