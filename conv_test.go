package backprop_test

import (
	"math"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// naiveConv is the definition of a 2-d cross-correlation, loop by loop.
func naiveConv(x, w *bp.Tensor, opt bp.Conv2dOptions) [][][][]float64 {
	n, c, h, wd := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	o, cg, kh, kw := w.Size(0), w.Size(1), w.Size(2), w.Size(3)
	one := func(v int) int {
		if v == 0 {
			return 1
		}
		return v
	}
	sh, sw := one(opt.Stride[0]), one(opt.Stride[1])
	dh, dw := one(opt.Dilation[0]), one(opt.Dilation[1])
	ph, pw := opt.Padding[0], opt.Padding[1]
	groups := one(opt.Groups)
	og := o / groups
	oh := (h+2*ph-dh*(kh-1)-1)/sh + 1
	ow := (wd+2*pw-dw*(kw-1)-1)/sw + 1
	_ = c
	out := make([][][][]float64, n)
	for b := range n {
		out[b] = make([][][]float64, o)
		for oc := range o {
			g := oc / og
			out[b][oc] = make([][]float64, oh)
			for y := range oh {
				out[b][oc][y] = make([]float64, ow)
				for xx := range ow {
					s := 0.0
					for ci := range cg {
						for i := range kh {
							for j := range kw {
								iy, ix := y*sh-ph+i*dh, xx*sw-pw+j*dw
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									s += x.At(b, g*cg+ci, iy, ix) * w.At(oc, ci, i, j)
								}
							}
						}
					}
					out[b][oc][y][xx] = s
				}
			}
		}
	}
	return out
}

var convCases = []struct {
	name string
	x, w []int
	opt  bp.Conv2dOptions
}{
	{"plain", []int{2, 3, 5, 6}, []int{4, 3, 3, 3}, bp.Conv2dOptions{}},
	{"pad", []int{1, 2, 5, 5}, []int{3, 2, 3, 3}, bp.Conv2dOptions{Padding: [2]int{1, 1}}},
	{"stride", []int{2, 2, 7, 6}, []int{2, 2, 3, 2}, bp.Conv2dOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 0}}},
	{"dilation", []int{1, 2, 7, 7}, []int{2, 2, 3, 3}, bp.Conv2dOptions{Dilation: [2]int{2, 2}, Padding: [2]int{2, 1}}},
	{"groups", []int{2, 4, 5, 5}, []int{6, 2, 3, 3}, bp.Conv2dOptions{Groups: 2, Padding: [2]int{1, 1}}},
	{"depthwise", []int{1, 3, 4, 4}, []int{3, 1, 2, 2}, bp.Conv2dOptions{Groups: 3, Stride: [2]int{2, 2}}},
}

func TestConv2dMatchesDefinition(t *testing.T) {
	for i, c := range convCases {
		x, w := rnd(uint64(10+i), c.x...), rnd(uint64(20+i), c.w...)
		y := x.Conv2d(w, c.opt)
		want := naiveConv(x, w, c.opt)
		if y.Size(2) != len(want[0][0]) || y.Size(3) != len(want[0][0][0]) {
			t.Fatalf("%s: shape %v", c.name, y.Shape())
		}
		for b := range want {
			for o := range want[b] {
				for yy := range want[b][o] {
					for xx := range want[b][o][yy] {
						if got := y.At(b, o, yy, xx); math.Abs(got-want[b][o][yy][xx]) > 1e-12 {
							t.Fatalf("%s: y[%d,%d,%d,%d] = %v, want %v", c.name, b, o, yy, xx, got, want[b][o][yy][xx])
						}
					}
				}
			}
		}
	}
}

func TestConv2dGrad(t *testing.T) {
	for i, c := range convCases {
		opt := c.opt
		f := func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Conv2d(xs[1], opt) }
		checkGrad2(t, "Conv2d/"+c.name, f, rnd(uint64(30+i), c.x...), rnd(uint64(40+i), c.w...))
	}
	// Non-contiguous input (a transposed view).
	f := func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Conv2d(xs[1], bp.Conv2dOptions{Padding: [2]int{1, 1}}) }
	checkGrad(t, "Conv2d/noncontig", f, nonContig(50, 1, 2, 4, 5), rnd(51, 2, 2, 3, 3))
}

// spread returns distinct values at least 0.01 apart in random order, so
// that no finite-difference step (1e-3) can change which value is a max.
func spread(seed uint64, shape ...int) *bp.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	perm := bp.NewRNG(seed).Perm(n)
	v := make([]float64, n)
	for i, p := range perm {
		v[i] = float64(p)*0.01 - float64(n)*0.005
	}
	return bp.FromFloat64s(v, shape...)
}

func TestPoolGrads(t *testing.T) {
	x := spread(60, 2, 3, 6, 6)
	mp := func(o bp.Pool2dOptions) func(xs ...*bp.Tensor) *bp.Tensor {
		return func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].MaxPool2d(o) }
	}
	checkGrad2(t, "MaxPool2d", mp(bp.Pool2dOptions{Kernel: [2]int{2, 2}}), x)
	checkGrad(t, "MaxPool2d/stride-pad", mp(bp.Pool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}), x)
	checkGrad(t, "MaxPool2d/dilation", mp(bp.Pool2dOptions{Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}, Dilation: [2]int{2, 2}}), x)
	ap := func(xs ...*bp.Tensor) *bp.Tensor {
		return xs[0].AvgPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}})
	}
	checkGrad2(t, "AvgPool2d", ap, x)
}

func TestPoolValues(t *testing.T) {
	x := bp.Float64.Arange(0, 16, 1).Reshape(1, 1, 4, 4)
	mp := x.MaxPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}})
	if got := mp.Float64s(); got[0] != 5 || got[1] != 7 || got[2] != 13 || got[3] != 15 {
		t.Fatalf("maxpool %v", got)
	}
	ap := x.AvgPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}})
	if got := ap.Float64s(); got[0] != 2.5 || got[3] != 12.5 {
		t.Fatalf("avgpool %v", got)
	}
	// Padding counts as -inf for max and as 0 in the average (torch defaults).
	mpp := x.Neg().MaxPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}})
	if mpp.At(0, 0, 0, 0) != 0 || mpp.Size(2) != 3 {
		t.Fatalf("padded maxpool %v", mpp)
	}
	app := x.AvgPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}})
	if app.At(0, 0, 0, 0) != 0 {
		t.Fatalf("padded avgpool %v", app)
	}
	// Ties send the gradient to the first maximum, as PyTorch does.
	z := bp.Float64.Ones(1, 1, 2, 2).SetRequiresGrad(true)
	z.MaxPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}}).Sum().Backward()
	if g := z.Grad().Float64s(); g[0] != 1 || g[1]+g[2]+g[3] != 0 {
		t.Fatalf("tie gradient %v", g)
	}
}

func TestConvFloat32MatchesFloat64(t *testing.T) {
	x, w := rnd(70, 2, 3, 8, 8), rnd(71, 4, 3, 3, 3)
	opt := bp.Conv2dOptions{Padding: [2]int{1, 1}}
	y64 := x.Conv2d(w, opt).Float64s()
	y32 := x.To(bp.Float32).Conv2d(w.To(bp.Float32), opt).Float64s()
	for i := range y64 {
		if math.Abs(y64[i]-y32[i]) > 1e-4*math.Max(1, math.Abs(y64[i])) {
			t.Fatalf("float32 %v vs float64 %v at %d", y32[i], y64[i], i)
		}
	}
}

func TestConvErrors(t *testing.T) {
	mustPanic(t, "Conv2d: input [1 3 4 4] and weight [2 3 3]", func() { bp.Zeros(1, 3, 4, 4).Conv2d(bp.Zeros(2, 3, 3), bp.Conv2dOptions{}) })
	mustPanic(t, "expects 2 input channels per group", func() { bp.Zeros(1, 3, 4, 4).Conv2d(bp.Zeros(2, 2, 3, 3), bp.Conv2dOptions{}) })
	mustPanic(t, "larger than padded input", func() { bp.Zeros(1, 1, 2, 2).Conv2d(bp.Zeros(1, 1, 3, 3), bp.Conv2dOptions{}) })
	mustPanic(t, "not divisible by 2 groups", func() { bp.Zeros(1, 3, 4, 4).Conv2d(bp.Zeros(2, 1, 3, 3), bp.Conv2dOptions{Groups: 2}) })
}
