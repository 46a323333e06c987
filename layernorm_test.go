package backprop_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// layerNormRef is layer normalization written with plain ops.
func layerNormRef(x *bp.Tensor, k int, w, b *bp.Tensor, eps float64) *bp.Tensor {
	axes := make([]int, k)
	for i := range axes {
		axes[i] = x.Dim() - k + i
	}
	y := x.Sub(x.MeanKeep(axes...)).Div(x.VarWith(0, true, axes...).AddScalar(eps).Sqrt())
	if w != nil {
		y = y.Mul(w)
	}
	if b != nil {
		y = y.Add(b)
	}
	return y
}

func TestLayerNormMatchesComposite(t *testing.T) {
	x := rnd(1, 5, 3, 4).MulScalar(3).AddScalar(1)
	w, b := rnd(2, 3, 4), rnd(3, 3, 4)
	for _, tc := range []struct {
		name string
		w, b *bp.Tensor
	}{{"affine", w, b}, {"weight only", w, nil}, {"bias only", nil, b}, {"plain", nil, nil}} {
		got := bp.LayerNorm(x, []int{3, 4}, tc.w, tc.b, 1e-5).Float64s()
		want := layerNormRef(x, 2, tc.w, tc.b, 1e-5).Float64s()
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("%s: LayerNorm[%d] = %v, composite %v", tc.name, i, got[i], want[i])
			}
		}
	}
	// The last axis only, on a strided input.
	xs := nonContig(4, 6, 5)
	got, want := bp.LayerNorm(xs, []int{5}, nil, nil, 0.1).Float64s(), layerNormRef(xs, 1, nil, nil, 0.1).Float64s()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("strided: LayerNorm[%d] = %v, composite %v", i, got[i], want[i])
		}
	}
}

func TestLayerNormGrad(t *testing.T) {
	f := func(xs ...*bp.Tensor) *bp.Tensor { return bp.LayerNorm(xs[0], []int{4}, xs[1], xs[2], 1e-5) }
	checkGrad2(t, "LayerNorm affine", f, rnd(5, 3, 4), rnd(6, 4), rnd(7, 4))
	g := func(xs ...*bp.Tensor) *bp.Tensor { return bp.LayerNorm(xs[0], []int{2, 3}, xs[1], nil, 1e-3) }
	checkGrad2(t, "LayerNorm two axes, weight only", g, nonContig(8, 2, 2, 3), rnd(9, 2, 3))
	h := func(xs ...*bp.Tensor) *bp.Tensor { return bp.LayerNorm(xs[0], []int{5}, nil, nil, 1e-5) }
	checkGrad2(t, "LayerNorm plain", h, rnd(10, 2, 5))
	one := func(xs ...*bp.Tensor) *bp.Tensor { return bp.LayerNorm(xs[0], []int{3}, xs[1], xs[2], 1e-5) }
	checkGrad2(t, "LayerNorm one row", one, rnd(11, 3), rnd(12, 3), rnd(13, 3))
}

// The fused float32 forward and backward against the float64 composite.
func TestLayerNormFloat32(t *testing.T) {
	x64, w64, b64, g64 := rnd(14, 70, 33).MulScalar(2), rnd(15, 33), rnd(16, 33), rnd(17, 70, 33)
	x, w, b := x64.To(bp.Float32).SetRequiresGrad(true), w64.To(bp.Float32).SetRequiresGrad(true), b64.To(bp.Float32).SetRequiresGrad(true)
	xr, wr, br := x64.SetRequiresGrad(true), w64.SetRequiresGrad(true), b64.SetRequiresGrad(true)
	y := bp.LayerNorm(x, []int{33}, w, b, 1e-5)
	yr := layerNormRef(xr, 1, wr, br, 1e-5)
	y.BackwardWith(g64.To(bp.Float32), bp.BackwardOptions{})
	yr.BackwardWith(g64, bp.BackwardOptions{})
	for _, p := range [][2]*bp.Tensor{{y, yr}, {x.Grad(), xr.Grad()}, {w.Grad(), wr.Grad()}, {b.Grad(), br.Grad()}} {
		a, e := p[0].Float64s(), p[1].Float64s()
		for i := range e {
			if math.Abs(a[i]-e[i]) > 1e-5*(1+math.Abs(e[i])) {
				t.Fatalf("float32 %v, float64 composite %v at %d", a[i], e[i], i)
			}
		}
	}
}

func TestLayerNormBadInput(t *testing.T) {
	x := rnd(1, 2, 3)
	mustPanic(t, "backprop: LayerNorm: input of shape [2 3] does not end in the normalized shape [2]", func() { bp.LayerNorm(x, []int{2}, nil, nil, 1e-5) })
	mustPanic(t, "backprop: LayerNorm: weight or bias float64 [2] does not match the normalized shape [3] of float64 input", func() { bp.LayerNorm(x, []int{3}, rnd(2, 2), nil, 1e-5) })
	mustPanic(t, "backprop: LayerNorm: eps -1 is not finite and >= 0", func() { bp.LayerNorm(x, []int{3}, nil, nil, -1) })
}

func TestLayerNormNilInput(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "LayerNorm") {
			t.Errorf("nil input: panic %v, want one naming LayerNorm", r)
		}
	}()
	bp.LayerNorm(nil, []int{3}, nil, nil, 1e-5)
}
