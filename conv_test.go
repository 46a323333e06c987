package backprop_test

import (
	"math"
	"slices"
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
	// Enough channels that the weight gradient reads channels-last rows
	// (im2row), with and without the contiguous fast paths.
	{"channels", []int{1, 6, 5, 6}, []int{3, 6, 3, 3}, bp.Conv2dOptions{Padding: [2]int{1, 1}}},
	{"channels-stride-dilation", []int{1, 6, 7, 7}, []int{2, 6, 2, 3}, bp.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 2}, Dilation: [2]int{1, 2}}},
	// One input channel and more output channels than weights per
	// channel: the weight gradient's product is taken transposed.
	{"1-channel", []int{2, 1, 4, 3}, []int{10, 1, 3, 3}, bp.Conv2dOptions{Padding: [2]int{1, 1}}},
	{"groups-transposed", []int{1, 4, 4, 4}, []int{10, 2, 2, 2}, bp.Conv2dOptions{Groups: 2}},
	// Outputs too large to share a product between images.
	{"large-output", []int{2, 1, 24, 23}, []int{2, 1, 2, 2}, bp.Conv2dOptions{Padding: [2]int{1, 0}}},
	// 1x1 kernels read the input in place.
	{"1x1", []int{2, 4, 3, 5}, []int{3, 4, 1, 1}, bp.Conv2dOptions{}},
	{"1x1-groups", []int{2, 4, 3, 3}, []int{6, 2, 1, 1}, bp.Conv2dOptions{Groups: 2}},
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
		x, w := rnd(uint64(30+i), c.x...), rnd(uint64(40+i), c.w...)
		if x.Numel() > 500 { // first order is enough to cover the path
			checkGrad(t, "Conv2d/"+c.name, f, x, w)
			continue
		}
		checkGrad2(t, "Conv2d/"+c.name, f, x, w)
	}
	// Non-contiguous input (a transposed view).
	f := func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Conv2d(xs[1], bp.Conv2dOptions{Padding: [2]int{1, 1}}) }
	checkGrad(t, "Conv2d/noncontig", f, nonContig(50, 1, 2, 4, 5), rnd(51, 2, 2, 3, 3))
}

func TestConv2dBias(t *testing.T) {
	for i, c := range convCases {
		if i%2 == 1 && c.name != "1-channel" {
			continue // half the cases suffice: the bias path is shared
		}
		opt := c.opt
		x, w, b := rnd(uint64(80+i), c.x...), rnd(uint64(90+i), c.w...), rnd(uint64(100+i), c.w[0])
		got := x.Conv2dBias(w, b, opt).Float64s()
		want := x.Conv2d(w, opt).Add(b.Reshape(1, -1, 1, 1)).Float64s()
		for j := range want {
			if math.Abs(got[j]-want[j]) > 1e-12 {
				t.Fatalf("%s: Conv2dBias[%d] = %v, Conv2d+Add gives %v", c.name, j, got[j], want[j])
			}
		}
		f := func(xs ...*bp.Tensor) *bp.Tensor { return xs[0].Conv2dBias(xs[1], xs[2], opt) }
		// The second-order check differentiates a sum over the whole
		// output, whose rounding noise swamps the bias's zero second
		// derivative when the output is large.
		if len(got) > 200 {
			checkGrad(t, "Conv2dBias/"+c.name, f, x, w, b)
			continue
		}
		checkGrad2(t, "Conv2dBias/"+c.name, f, x, w, b)
	}
	// The bias alone, and the weight and bias without the input.
	x, w, b := rnd(110, 2, 3, 5, 5), rnd(111, 4, 3, 3, 3), rnd(112, 4)
	opt := bp.Conv2dOptions{Padding: [2]int{1, 1}}
	checkGrad2(t, "Conv2dBias/bias", func(xs ...*bp.Tensor) *bp.Tensor { return x.Conv2dBias(w, xs[0], opt) }, b)
	checkGrad2(t, "Conv2dBias/weight+bias", func(xs ...*bp.Tensor) *bp.Tensor { return x.Conv2dBias(xs[0], xs[1], opt) }, w, b)
	// A nil bias is Conv2d.
	if got, want := x.Conv2dBias(w, nil, opt).Float64s(), x.Conv2d(w, opt).Float64s(); !slices.Equal(got, want) {
		t.Fatal("Conv2dBias with a nil bias differs from Conv2d")
	}
	// Whether the weight's gradient is wanted does not change the bias's.
	bb := b.Detach().SetRequiresGrad(true)
	x.Conv2dBias(w, bb, opt).Square().Sum().Backward()
	ww, bw := w.Detach().SetRequiresGrad(true), b.Detach().SetRequiresGrad(true)
	x.Conv2dBias(ww, bw, opt).Square().Sum().Backward()
	if !slices.Equal(bb.Grad().Float64s(), bw.Grad().Float64s()) {
		t.Fatalf("bias gradient %v alone, %v with the weight's", bb.Grad().Float64s(), bw.Grad().Float64s())
	}
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
	// Overlapping windows: one input can win several of them.
	checkGrad2(t, "MaxPool2d/stride-pad", mp(bp.Pool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}), x)
	checkGrad(t, "MaxPool2d/dilation", mp(bp.Pool2dOptions{Kernel: [2]int{2, 2}, Stride: [2]int{1, 1}, Dilation: [2]int{2, 2}}), x)
	nc := spread(61, 2, 3, 6, 5).Transpose(2, 3)
	checkGrad(t, "MaxPool2d/noncontig", mp(bp.Pool2dOptions{Kernel: [2]int{2, 2}}), nc)
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

// convRun is a float32 forward and backward pass of Conv2dBias, then
// MaxPool2d, returning every value computed, for comparing runs.
func convRun(x, w, b *bp.Tensor, opt bp.Conv2dOptions, pool bool) [][]float64 {
	x = x.Detach().SetRequiresGrad(true)
	w = w.Detach().SetRequiresGrad(true)
	b = b.Detach().SetRequiresGrad(true)
	y := x.Conv2dBias(w, b, opt)
	out := y
	if pool {
		out = y.MaxPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}})
	}
	out.Square().Sum().Backward()
	return [][]float64{y.Float64s(), out.Float64s(), x.Grad().Float64s(), w.Grad().Float64s(), b.Grad().Float64s()}
}

// naiveMaxPool is max_pool2d's definition: the largest value of each
// window, padding excluded, NaN winning.
func naiveMaxPool(x *bp.Tensor, o bp.Pool2dOptions) []float64 {
	one := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	sh, sw := one(o.Stride[0], o.Kernel[0]), one(o.Stride[1], o.Kernel[1])
	dh, dw := one(o.Dilation[0], 1), one(o.Dilation[1], 1)
	oh := (h+2*o.Padding[0]-dh*(o.Kernel[0]-1)-1)/sh + 1
	ow := (w+2*o.Padding[1]-dw*(o.Kernel[1]-1)-1)/sw + 1
	var out []float64
	for b := range n {
		for ch := range c {
			for y := range oh {
				for xx := range ow {
					best := math.Inf(-1)
					for i := range o.Kernel[0] {
						for j := range o.Kernel[1] {
							iy, ix := y*sh-o.Padding[0]+i*dh, xx*sw-o.Padding[1]+j*dw
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								if v := x.At(b, ch, iy, ix); v > best || math.IsNaN(v) {
									best = v
								}
							}
						}
					}
					out = append(out, best)
				}
			}
		}
	}
	return out
}

func TestMaxPoolMatchesDefinition(t *testing.T) {
	x := rnd(62, 2, 3, 9, 8)
	x.F64()[5] = math.NaN()
	for _, o := range []bp.Pool2dOptions{
		{Kernel: [2]int{2, 2}},
		{Kernel: [2]int{3, 2}, Stride: [2]int{2, 1}, Padding: [2]int{1, 1}},
		{Kernel: [2]int{2, 3}, Stride: [2]int{1, 2}, Padding: [2]int{1, 1}, Dilation: [2]int{2, 2}},
	} {
		for _, in := range []*bp.Tensor{x, x.To(bp.Float32)} {
			got, want := in.MaxPool2d(o).Float64s(), naiveMaxPool(in, o)
			if len(got) != len(want) {
				t.Fatalf("%+v: %d values, want %d", o, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Fatalf("%+v %v: y[%d] = %v, want %v", o, in.DType(), i, got[i], want[i])
				}
			}
		}
	}
}

func TestConvFloat32MatchesFloat64(t *testing.T) {
	opt := bp.Conv2dOptions{Padding: [2]int{1, 1}}
	for _, c := range []struct{ x, w []int }{
		{[]int{2, 3, 8, 8}, []int{4, 3, 3, 3}},
		{[]int{5, 1, 12, 12}, []int{16, 1, 3, 3}}, // one channel
		{[]int{9, 12, 6, 6}, []int{8, 12, 3, 3}},  // channels-last rows, image blocks
		{[]int{3, 2, 20, 20}, []int{6, 2, 3, 3}},  // one image per product
	} {
		x, w, b := rnd(70, c.x...), rnd(71, c.w...), rnd(72, c.w[0])
		r64 := convRun(x, w, b, opt, true)
		r32 := convRun(x.To(bp.Float32), w.To(bp.Float32), b.To(bp.Float32), opt, true)
		for k, name := range []string{"output", "pooled", "input gradient", "weight gradient", "bias gradient"} {
			scale := 0.0
			for _, v := range r64[k] {
				scale = math.Max(scale, math.Abs(v))
			}
			for i := range r64[k] {
				if math.Abs(r64[k][i]-r32[k][i]) > 1e-4*scale {
					t.Fatalf("%v: %s[%d]: float32 %v, float64 %v", c.x, name, i, r32[k][i], r64[k][i])
				}
			}
		}
	}
}

// In a Pool the results' storage is reused without being cleared; the ops
// must give the same bits as on the heap, step after step.
func TestConvInPool(t *testing.T) {
	rng := bp.NewRNG(6)
	x, w, b := rng.Normal(0, 1, 3, 4, 8, 8), rng.Normal(0, 1, 6, 4, 3, 3), rng.Normal(0, 1, 6)
	opt := bp.Conv2dOptions{Padding: [2]int{1, 1}}
	want := convRun(x, w, b, opt, true)
	p := bp.NewPool()
	for step := range 3 {
		xp := x.Detach().SetRequiresGrad(true)
		wp, bb := w.Detach().SetRequiresGrad(true), b.Detach().SetRequiresGrad(true)
		y := xp.InPool(p).Conv2dBias(wp, bb, opt)
		out := y.MaxPool2d(bp.Pool2dOptions{Kernel: [2]int{2, 2}})
		out.Square().Sum().Backward()
		got := [][]float64{y.Float64s(), out.Float64s(), xp.Grad().Float64s(), wp.Grad().Float64s(), bb.Grad().Float64s()}
		for k := range want {
			if !slices.Equal(got[k], want[k]) {
				t.Fatalf("step %d: result %d differs in a pool", step, k)
			}
		}
		p.Reset()
	}
}

// The thread count changes no bit of any result: every element is summed
// in an order fixed by the shapes.
func TestConvThreadsBitIdentical(t *testing.T) {
	defer bp.SetThreads(0)
	for _, c := range []struct{ x, w []int }{
		{[]int{13, 1, 28, 28}, []int{32, 1, 3, 3}},
		{[]int{13, 8, 14, 14}, []int{16, 8, 3, 3}},
		{[]int{1, 8, 14, 14}, []int{16, 8, 3, 3}},
	} {
		rng := bp.NewRNG(5)
		x, w, b := rng.Normal(0, 1, c.x...), rng.Normal(0, 1, c.w...), rng.Normal(0, 1, c.w[0])
		opt := bp.Conv2dOptions{Padding: [2]int{1, 1}}
		var runs [][][]float64
		for _, th := range []int{1, 2, 3} {
			bp.SetThreads(th)
			runs = append(runs, convRun(x, w, b, opt, true))
		}
		for k := range runs[0] {
			for r := 1; r < len(runs); r++ {
				if !slices.Equal(runs[0][k], runs[r][k]) {
					t.Fatalf("%v: result %d differs between 1 and %d threads", c.x, k, r+1)
				}
			}
		}
	}
}

func TestConvErrors(t *testing.T) {
	mustPanic(t, "Conv2d: input [1 3 4 4] and weight [2 3 3]", func() { bp.Zeros(1, 3, 4, 4).Conv2d(bp.Zeros(2, 3, 3), bp.Conv2dOptions{}) })
	mustPanic(t, "expects 2 input channels per group", func() { bp.Zeros(1, 3, 4, 4).Conv2d(bp.Zeros(2, 2, 3, 3), bp.Conv2dOptions{}) })
	mustPanic(t, "larger than padded input", func() { bp.Zeros(1, 1, 2, 2).Conv2d(bp.Zeros(1, 1, 3, 3), bp.Conv2dOptions{}) })
	mustPanic(t, "not divisible by 2 groups", func() { bp.Zeros(1, 3, 4, 4).Conv2d(bp.Zeros(2, 1, 3, 3), bp.Conv2dOptions{Groups: 2}) })
}
