// Command customop defines a new differentiable op — softplus(x) =
// log(1 + exp(x)), computed stably — with its own forward and backward, uses
// it in a small computation, and checks its gradients (first and second
// order) against finite differences.
package main

import (
	"fmt"
	"os"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/gradcheck"
)

// Softplus is log(1+exp(x)) = max(x,0) + log(1+exp(-|x|)), which does not
// overflow for large x. Its derivative is sigmoid(x).
var Softplus = bp.Function{
	Name: "Softplus",
	Forward: func(in ...*bp.Tensor) (*bp.Tensor, []*bp.Tensor) {
		x := in[0]
		zero := bp.ZerosLike(x)
		return x.Maximum(zero).Add(x.Abs().Neg().Exp().AddScalar(1).Log()), nil
	},
	Backward: func(c *bp.BackwardContext, g *bp.Tensor) []*bp.Tensor {
		// Written with tensor ops, so the gradient is itself differentiable.
		return []*bp.Tensor{g.Mul(c.Input(0).Sigmoid())}
	},
}

func run() error {
	x := bp.FromFloat64s([]float64{-30, -1, 0, 2, 40}).SetRequiresGrad(true)
	y := Softplus.Apply(x).Sum()
	y.Backward()
	fmt.Println("x          =", x)
	fmt.Println("softplus   =", Softplus.Apply(x.Detach()))
	fmt.Println("d/dx (sum) =", x.Grad())

	f := func(xs ...*bp.Tensor) *bp.Tensor { return Softplus.Apply(xs[0].Mul(xs[1])) }
	a := bp.NewRNG(1).NormalOf(bp.Float64, 0, 1, 3, 4)
	b := bp.NewRNG(2).NormalOf(bp.Float64, 0, 1, 4)
	r1 := gradcheck.Check(f, a, b)
	r2 := gradcheck.CheckSecondOrder(f, a, b)
	fmt.Println("gradcheck: ", r1)
	fmt.Println("second order:", r2)
	if r1.MaxRelErr > 1e-6 || r2.MaxRelErr > 1e-6 {
		return fmt.Errorf("gradient check failed")
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "customop:", err)
		os.Exit(1)
	}
}
