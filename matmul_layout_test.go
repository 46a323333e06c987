package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// MatMul's backward computes each gradient in its input's layout (a
// transposed view gets a transposed product); the values must not care,
// first order or second, and whatever reaches a leaf is its own shape.
func TestMatMulGradLayouts(t *testing.T) {
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		a, b := rnd(1, 3, 4), rnd(2, 4, 5)
		f := func(xs ...*bp.Tensor) *bp.Tensor {
			x, y := xs[0], xs[1]
			if tr[0] {
				x = x.T()
			}
			if tr[1] {
				y = y.T()
			}
			return x.MatMul(y).Tanh().Sum()
		}
		if tr[0] {
			a = rnd(1, 4, 3)
		}
		if tr[1] {
			b = rnd(2, 5, 4)
		}
		checkGrad2(t, "MatMul layouts", f, a, b)

		// Against the same product of contiguous copies.
		x1, y1 := a.Detach().SetRequiresGrad(true), b.Detach().SetRequiresGrad(true)
		f(x1, y1).Backward()
		xv, yv := x1, y1
		if tr[0] {
			xv = xv.T().Contiguous()
		}
		if tr[1] {
			yv = yv.T().Contiguous()
		}
		x2, y2 := xv.Detach().SetRequiresGrad(true), yv.Detach().SetRequiresGrad(true)
		x2.MatMul(y2).Tanh().Sum().Backward()
		gx, gy := x2.Grad(), y2.Grad()
		if tr[0] {
			gx = gx.T()
		}
		if tr[1] {
			gy = gy.T()
		}
		for _, p := range [][2]*bp.Tensor{{x1.Grad(), gx}, {y1.Grad(), gy}} {
			u, v := p[0].Float64s(), p[1].Float64s()
			for i := range u {
				if math.Abs(u[i]-v[i]) > 1e-12 {
					t.Fatalf("transposed %v: gradient %v, contiguous copy %v", tr, u, v)
				}
			}
			if !p[0].IsContiguous() {
				t.Errorf("transposed %v: a leaf's gradient of shape %v is not contiguous", tr, p[0].Shape())
			}
		}
	}
}
