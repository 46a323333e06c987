package backprop_test

import (
	"testing"

	bp "github.com/gobackprop/backprop"
)

// cube is a custom op with a saved tensor: forward x^3, backward 3 x^2 g.
var cube = bp.Function{
	Name: "Cube",
	Forward: func(in ...*bp.Tensor) (*bp.Tensor, []*bp.Tensor) {
		sq := in[0].Mul(in[0])
		return sq.Mul(in[0]), []*bp.Tensor{sq}
	},
	Backward: func(c *bp.BackwardContext, g *bp.Tensor) []*bp.Tensor {
		return []*bp.Tensor{g.Mul(c.Saved(0)).MulScalar(3)}
	},
}

func TestCustomFunction(t *testing.T) {
	x := bp.FromFloat64s([]float64{1, -2, 3}).SetRequiresGrad(true)
	y := cube.Apply(x)
	if y.GradFn() == nil || y.GradFn().Op() != "Cube" {
		t.Fatalf("not recorded as one Cube node: %v", y.GradFn())
	}
	if len(y.GradFn().Inputs()) != 1 {
		t.Fatal("the forward's inner ops leaked into the graph")
	}
	y.Sum().Backward()
	if g := x.Grad(); g.At(0) != 3 || g.At(1) != 12 || g.At(2) != 27 {
		t.Fatalf("grad %v", g)
	}
	checkGrad(t, "Cube", func(xs ...*bp.Tensor) *bp.Tensor { return cube.Apply(xs[0]) }, rnd(1, 2, 3))
}

func TestCustomFunctionNotRecordedWithoutGrad(t *testing.T) {
	y := cube.Apply(bp.Float64.Ones(2))
	if y.RequiresGrad() {
		t.Fatal("recorded without an input requiring a gradient")
	}
}
