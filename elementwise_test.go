package backprop_test

import (
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
