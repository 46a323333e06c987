package gradcheck

import (
	"testing"

	bp "github.com/gobackprop/backprop"
)

func TestCheckPassesCorrectOps(t *testing.T) {
	rng := bp.NewRNG(7)
	a := rng.NormalOf(bp.Float64, 0, 1, 3, 4)
	b := rng.NormalOf(bp.Float64, 0, 1, 4)
	r := Check(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Mul(x[1]).Div(x[1].AddScalar(3)).Sub(x[0]) }, a, b)
	if r.MaxRelErr > 1e-6 {
		t.Fatal(r)
	}
	if r.Checked != 16 {
		t.Fatalf("checked %d elements, want 16", r.Checked)
	}
	r2 := CheckSecondOrder(func(x ...*bp.Tensor) *bp.Tensor { return x[0].Mul(x[1]).Mul(x[1]) }, a, b)
	if r2.MaxRelErr > 1e-6 {
		t.Fatal(r2)
	}
}

// wrongMul records a deliberately wrong backward (2x too large for b), and
// the check must catch it.
func wrongMul(a, b *bp.Tensor) *bp.Tensor {
	out := a.Detach().Mul(b.Detach())
	return bp.Record("WrongMul", out, []*bp.Tensor{a, b}, nil, func(c *bp.BackwardContext, g *bp.Tensor) []*bp.Tensor {
		return []*bp.Tensor{g.Mul(c.Input(1)), g.Mul(c.Input(0)).MulScalar(2)}
	})
}

func TestCheckCatchesWrongGradient(t *testing.T) {
	rng := bp.NewRNG(3)
	a := rng.NormalOf(bp.Float64, 0, 1, 5)
	b := rng.NormalOf(bp.Float64, 0, 1, 5)
	r := Check(func(x ...*bp.Tensor) *bp.Tensor { return wrongMul(x[0], x[1]) }, a, b)
	if r.MaxRelErr < 0.1 || r.Input != 1 {
		t.Fatalf("wrong gradient not caught: %v", r)
	}
}

func TestNonContiguousInputKeepsLayout(t *testing.T) {
	rng := bp.NewRNG(5)
	base := rng.NormalOf(bp.Float64, 0, 1, 3, 4)
	tr := base.AsStrided([]int{4, 3}, []int{1, 4}, 0) // transposed view
	seen := false
	r := Check(func(x ...*bp.Tensor) *bp.Tensor {
		seen = !x[0].IsContiguous()
		return x[0].Mul(x[0])
	}, tr)
	if !seen {
		t.Fatal("f saw a contiguous copy")
	}
	if r.MaxRelErr > 1e-6 {
		t.Fatal(r)
	}
}
