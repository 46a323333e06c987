package backprop_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// Scalar graphs take the engine's scalar lane (gradients carried as
// numbers) in Backward unless a graph is being built. These tests compare
// the lane with the tensor path, which Gradients takes, bit for bit.

// randomScalarExpr builds a random expression over the leaves from the ops
// that have lane rules, reusing intermediate values so that the graph forks.
func randomScalarExpr(r *rand.Rand, leaves []*bp.Tensor, ops int) *bp.Tensor {
	vals := append([]*bp.Tensor(nil), leaves...)
	pick := func() *bp.Tensor { return vals[r.IntN(len(vals))] }
	for range ops {
		x := pick()
		var y *bp.Tensor
		switch r.IntN(14) {
		case 0:
			y = x.Add(pick())
		case 1:
			y = x.Sub(pick())
		case 2:
			y = x.Mul(pick())
		case 3:
			y = x.Div(pick().Square().AddScalar(1))
		case 4:
			y = x.Neg()
		case 5:
			y = x.Tanh().Exp()
		case 6:
			y = x.Square().AddScalar(0.5).Log()
		case 7:
			y = x.Square().AddScalar(0.25).Sqrt()
		case 8:
			y = x.Square()
		case 9:
			y = x.Tanh()
		case 10:
			y = x.Sigmoid()
		case 11:
			y = x.ReLU()
		case 12:
			y = x.Sin()
		default:
			y = x.Cos()
		}
		vals = append(vals, y)
	}
	out := vals[len(vals)-1]
	for _, v := range vals[len(vals)-4:] {
		out = out.Add(v.Tanh())
	}
	return out
}

func TestScalarLaneMatchesTensorPath(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		for seed := range uint64(20) {
			build := func() ([]*bp.Tensor, *bp.Tensor) {
				r := rand.New(rand.NewPCG(seed, 7))
				leaves := make([]*bp.Tensor, 4)
				for i := range leaves {
					shape := []int{}
					if i == 3 {
						shape = []int{1, 1} // broadcasts against the 0-d ones
					}
					leaves[i] = dt.Full(r.Float64()*2-1, shape...).SetRequiresGrad(true)
				}
				return leaves, randomScalarExpr(r, leaves, 40)
			}
			leaves, y := build()
			y.Backward() // the lane
			leaves2, y2 := build()
			// Gradients runs the tensor path (the lane serves Backward).
			want := bp.Gradients([]*bp.Tensor{y2}, nil, leaves2, bp.BackwardOptions{})
			for i, l := range leaves {
				w := want[i].Float64s()[0]
				if l.Grad() == nil { // not in the expression
					if w != 0 {
						t.Fatalf("%v seed %d: leaf %d got no gradient, want %v", dt, seed, i, w)
					}
					continue
				}
				if got := l.Grad().Float64s()[0]; math.Float64bits(got) != math.Float64bits(w) {
					t.Fatalf("%v seed %d: leaf %d gradient %v by the lane, %v by tensors", dt, seed, i, got, w)
				}
				if !slices.Equal(l.Grad().Shape(), l.Shape()) {
					t.Fatalf("%v seed %d: leaf %d gradient shape %v, want %v", dt, seed, i, l.Grad().Shape(), l.Shape())
				}
			}
		}
	}
}

func TestScalarLaneGradcheck(t *testing.T) {
	f := func(in ...*bp.Tensor) *bp.Tensor {
		x, y := in[0], in[1]
		return x.Mul(y).Add(x.Sigmoid()).Sub(y.Tanh().Exp()).Div(x.Square().AddScalar(1)).Sin().Cos()
	}
	x := bp.Float64.Scalar(0.3).SetRequiresGrad(true)
	y := bp.Float64.Scalar(-0.7).SetRequiresGrad(true)
	checkGrad(t, "scalar lane", f, x, y)
}

// Lane nodes next to tensor ops, hooks and retained gradients: every
// gradient must still arrive, as a tensor of the right shape.
func TestScalarLaneMixedGraph(t *testing.T) {
	v := bp.FromFloat64s([]float64{1, 2, 3}, 3).SetRequiresGrad(true)
	a := bp.Float64.Scalar(0.5).SetRequiresGrad(true)
	s := v.Sum()               // tensor op into a scalar
	h := s.Mul(a).RetainGrad() // lane op with a retained gradient
	var hooked float64
	k := h.Tanh()
	k.RegisterHook(func(g *bp.Tensor) *bp.Tensor {
		hooked = g.Item()
		return g.MulScalar(2)
	})
	y := k.Exp().Add(a.Mul(v).Sum()) // back into a tensor op
	y.Backward()

	// y = exp(tanh(6a)) + 6a with v summing to 6; the hook doubles dk.
	th := math.Tanh(6 * 0.5)
	dk := math.Exp(th)
	if math.Abs(hooked-dk) > 1e-12 {
		t.Fatalf("hook saw %v, want %v", hooked, dk)
	}
	dh := 2 * dk * (1 - th*th)
	if got := h.Grad().Item(); math.Abs(got-dh) > 1e-12 {
		t.Fatalf("retained grad of h = %v, want %v", got, dh)
	}
	if got, want := a.Grad().Item(), dh*6+6; math.Abs(got-want) > 1e-9 {
		t.Fatalf("da = %v, want %v", got, want)
	}
	for i, g := range v.Grad().Float64s() {
		if want := dh*0.5 + 0.5; math.Abs(g-want) > 1e-12 {
			t.Fatalf("dv[%d] = %v, want %v", i, g, want)
		}
	}
}

// A second backward through a released lane node is the usual clear error,
// and RetainGraph keeps lane nodes usable.
func TestScalarLaneRetainGraph(t *testing.T) {
	x := bp.Float64.Scalar(0.2).SetRequiresGrad(true)
	y := x.Tanh().Mul(x)
	y.BackwardWith(nil, bp.BackwardOptions{RetainGraph: true})
	g1 := x.Grad().Item()
	y.Backward()
	if got := x.Grad().Item(); math.Abs(got-2*g1) > 1e-15 {
		t.Fatalf("two backward passes accumulated %v, want %v", got, 2*g1)
	}
	mustPanic(t, "second time", func() { y.Backward() })

	// A second output through the part the first backward released: the
	// same clear error, whether the lane or a tensor op reaches it.
	a := bp.Float64.Scalar(0.4).SetRequiresGrad(true)
	shared := a.Tanh()
	z1, z2, z3 := shared.MulScalar(2), shared.Exp(), shared.Reshape(1).Sum()
	z1.Backward()
	mustPanic(t, "second time", func() { z2.Backward() })
	mustPanic(t, "second time", func() { z3.Backward() })
}
