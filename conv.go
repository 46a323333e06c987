package backprop

import (
	"fmt"
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Convolution and pooling. Conv2d is im2col + GEMM. Its backward is two more
// ops, the gradient with respect to the input (a transposed convolution)
// and with respect to the weight; the three are adjoints of one another, so
// each one's backward is written with the other two, which makes the
// gradients of a convolution differentiable again.

// Conv2dOptions are PyTorch's Conv2d arguments. Zero values mean stride 1,
// no padding, dilation 1, one group.
type Conv2dOptions struct {
	Stride   [2]int
	Padding  [2]int
	Dilation [2]int
	Groups   int
}

type convGeom struct {
	n, c, h, w     int // input [n, c, h, w]
	o, kh, kw      int // weight [o, c/groups, kh, kw]
	groups         int
	sh, sw, ph, pw int
	dh, dw         int
	oh, ow         int
}

func (g convGeom) cg() int  { return g.c / g.groups }
func (g convGeom) og() int  { return g.o / g.groups }
func (g convGeom) k() int   { return g.cg() * g.kh * g.kw }
func (g convGeom) ohw() int { return g.oh * g.ow }

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

func newConvGeom(op string, xs, ws []int, opt Conv2dOptions) convGeom {
	if len(xs) != 4 || len(ws) != 4 {
		panic(fmt.Sprintf("backprop: %s: input %v and weight %v must both be 4-d ([N,C,H,W] and [O,C/groups,kH,kW])", op, xs, ws))
	}
	g := convGeom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], o: ws[0], kh: ws[2], kw: ws[3],
		groups: or1(opt.Groups), sh: or1(opt.Stride[0]), sw: or1(opt.Stride[1]),
		ph: opt.Padding[0], pw: opt.Padding[1], dh: or1(opt.Dilation[0]), dw: or1(opt.Dilation[1])}
	if g.groups < 0 || g.sh < 0 || g.sw < 0 || g.ph < 0 || g.pw < 0 || g.dh < 0 || g.dw < 0 {
		panic(fmt.Sprintf("backprop: %s: negative option in %+v", op, opt))
	}
	if g.c%g.groups != 0 || g.o%g.groups != 0 {
		panic(fmt.Sprintf("backprop: %s: %d input and %d output channels are not divisible by %d groups", op, g.c, g.o, g.groups))
	}
	if ws[1] != g.cg() {
		panic(fmt.Sprintf("backprop: %s: weight %v expects %d input channels per group, input %v with %d groups has %d", op, ws, ws[1], xs, g.groups, g.cg()))
	}
	g.oh = (g.h+2*g.ph-g.dh*(g.kh-1)-1)/g.sh + 1
	g.ow = (g.w+2*g.pw-g.dw*(g.kw-1)-1)/g.sw + 1
	if g.oh <= 0 || g.ow <= 0 || g.kh <= 0 || g.kw <= 0 {
		panic(fmt.Sprintf("backprop: %s: kernel %dx%d (dilation %d,%d) is larger than padded input %dx%d", op, g.kh, g.kw, g.dh, g.dw, g.h+2*g.ph, g.w+2*g.pw))
	}
	return g
}

// Conv2d convolves x [N, C, H, W] with weight [O, C/groups, kH, kW] as
// torch.nn.functional.conv2d does (cross-correlation), without a bias (add
// one with Add and a [1, O, 1, 1] view).
func (a *Tensor) Conv2d(weight *Tensor, opt Conv2dOptions) *Tensor {
	checkBinary("Conv2d", a, weight)
	return conv2d(a, weight, newConvGeom("Conv2d", a.shape, weight.shape, opt))
}

func conv2d(x, w *Tensor, geo convGeom) *Tensor {
	y := empty(x.dtype, []int{geo.n, geo.o, geo.oh, geo.ow})
	xc, wc := x.contiguousData(), w.contiguousData()
	if x.dtype == Float32 {
		convForward(geo, xc.f32[xc.offset:], wc.f32[wc.offset:], y.f32)
	} else {
		convForward(geo, xc.f64[xc.offset:], wc.f64[wc.offset:], y.f64)
	}
	return record("Conv2d", y, []*Tensor{x, w}, func(c *BackwardContext, g *Tensor) []*Tensor {
		var gx, gw *Tensor
		if c.NeedsGrad(0) {
			gx = convInput(g, c.Input(1), geo)
		}
		if c.NeedsGrad(1) {
			gw = convWeight(c.Input(0), g, geo)
		}
		return []*Tensor{gx, gw}
	})
}

// convInput is the gradient of a convolution with respect to its input:
// a transposed convolution of g [N, O, OH, OW] with w.
func convInput(g, w *Tensor, geo convGeom) *Tensor {
	gx := empty(g.dtype, []int{geo.n, geo.c, geo.h, geo.w})
	gc, wc := g.contiguousData(), w.contiguousData()
	if g.dtype == Float32 {
		convBackInput(geo, gc.f32[gc.offset:], wc.f32[wc.offset:], gx.f32)
	} else {
		convBackInput(geo, gc.f64[gc.offset:], wc.f64[wc.offset:], gx.f64)
	}
	return record("Conv2dBackwardInput", gx, []*Tensor{g, w}, func(c *BackwardContext, h *Tensor) []*Tensor {
		// <h, convInput(g, w)> = <conv2d(h, w), g> = <w, convWeight(h, g)>
		var dg, dw *Tensor
		if c.NeedsGrad(0) {
			dg = conv2d(h, c.Input(1), geo)
		}
		if c.NeedsGrad(1) {
			dw = convWeight(h, c.Input(0), geo)
		}
		return []*Tensor{dg, dw}
	})
}

// convWeight is the gradient of a convolution with respect to its weight,
// from the input x and the output gradient g.
func convWeight(x, g *Tensor, geo convGeom) *Tensor {
	gw := empty(x.dtype, []int{geo.o, geo.cg(), geo.kh, geo.kw})
	xc, gc := x.contiguousData(), g.contiguousData()
	if x.dtype == Float32 {
		convBackWeight(geo, xc.f32[xc.offset:], gc.f32[gc.offset:], gw.f32)
	} else {
		convBackWeight(geo, xc.f64[xc.offset:], gc.f64[gc.offset:], gw.f64)
	}
	return record("Conv2dBackwardWeight", gw, []*Tensor{x, g}, func(c *BackwardContext, k *Tensor) []*Tensor {
		// <k, convWeight(x, g)> = <conv2d(x, k), g> = <x, convInput(g, k)>
		var dx, dg *Tensor
		if c.NeedsGrad(0) {
			dx = convInput(c.Input(1), k, geo)
		}
		if c.NeedsGrad(1) {
			dg = conv2d(c.Input(0), k, geo)
		}
		return []*Tensor{dx, dg}
	})
}

// im2col copies the receptive fields of one image's group of channels
// (x holds cg channels of h*w) into cols [cg*kh*kw, oh*ow], zero where
// the window hangs over the padding.
func im2col[T kernels.Float](geo convGeom, x, cols []T) {
	ohw := geo.ohw()
	row := 0
	for ci := range geo.cg() {
		plane := x[ci*geo.h*geo.w : (ci+1)*geo.h*geo.w]
		for ki := range geo.kh {
			for kj := range geo.kw {
				dst := cols[row*ohw : (row+1)*ohw]
				row++
				for oy := range geo.oh {
					iy := oy*geo.sh - geo.ph + ki*geo.dh
					d := dst[oy*geo.ow : (oy+1)*geo.ow]
					if iy < 0 || iy >= geo.h {
						clear(d)
						continue
					}
					src := plane[iy*geo.w : (iy+1)*geo.w]
					ix := kj*geo.dw - geo.pw
					for ox := range d {
						if ix >= 0 && ix < geo.w {
							d[ox] = src[ix]
						} else {
							d[ox] = 0
						}
						ix += geo.sw
					}
				}
			}
		}
	}
}

// col2im adds cols [cg*kh*kw, oh*ow] back into one image's group of
// channels: the adjoint of im2col.
func col2im[T kernels.Float](geo convGeom, cols, x []T) {
	ohw := geo.ohw()
	row := 0
	for ci := range geo.cg() {
		plane := x[ci*geo.h*geo.w : (ci+1)*geo.h*geo.w]
		for ki := range geo.kh {
			for kj := range geo.kw {
				src := cols[row*ohw : (row+1)*ohw]
				row++
				for oy := range geo.oh {
					iy := oy*geo.sh - geo.ph + ki*geo.dh
					if iy < 0 || iy >= geo.h {
						continue
					}
					dst := plane[iy*geo.w : (iy+1)*geo.w]
					s := src[oy*geo.ow : (oy+1)*geo.ow]
					ix := kj*geo.dw - geo.pw
					for ox := range s {
						if ix >= 0 && ix < geo.w {
							dst[ix] += s[ox]
						}
						ix += geo.sw
					}
				}
			}
		}
	}
}

func convForward[T kernels.Float](geo convGeom, x, w, y []T) {
	K, ohw, og, cg := geo.k(), geo.ohw(), geo.og(), geo.cg()
	cols := make([]T, K*ohw)
	for n := range geo.n {
		for g := range geo.groups {
			xi := x[(n*geo.c+g*cg)*geo.h*geo.w:]
			im2col(geo, xi, cols)
			yo := y[(n*geo.o+g*og)*ohw:]
			kernels.Gemm(false, false, og, ohw, K, 1, w[g*og*K:], K, cols, ohw, 0, yo, ohw)
		}
	}
}

func convBackInput[T kernels.Float](geo convGeom, gy, w, gx []T) {
	K, ohw, og, cg := geo.k(), geo.ohw(), geo.og(), geo.cg()
	cols := make([]T, K*ohw)
	for n := range geo.n {
		for g := range geo.groups {
			gyo := gy[(n*geo.o+g*og)*ohw:]
			kernels.Gemm(true, false, K, ohw, og, 1, w[g*og*K:], K, gyo, ohw, 0, cols, ohw)
			col2im(geo, cols, gx[(n*geo.c+g*cg)*geo.h*geo.w:])
		}
	}
}

func convBackWeight[T kernels.Float](geo convGeom, x, gy, gw []T) {
	K, ohw, og, cg := geo.k(), geo.ohw(), geo.og(), geo.cg()
	cols := make([]T, K*ohw)
	for g := range geo.groups {
		for n := range geo.n {
			im2col(geo, x[(n*geo.c+g*cg)*geo.h*geo.w:], cols)
			gyo := gy[(n*geo.o+g*og)*ohw:]
			beta := T(1)
			if n == 0 {
				beta = 0
			}
			kernels.Gemm(false, true, og, K, ohw, 1, gyo, ohw, cols, ohw, beta, gw[g*og*K:], K)
		}
	}
}

// Pool2dOptions are the arguments of MaxPool2d and AvgPool2d. A zero Stride
// means the kernel size (PyTorch's default).
type Pool2dOptions struct {
	Kernel   [2]int
	Stride   [2]int
	Padding  [2]int
	Dilation [2]int // MaxPool2d only
}

func (o Pool2dOptions) stride() [2]int {
	s := o.Stride
	if s[0] == 0 {
		s[0] = o.Kernel[0]
	}
	if s[1] == 0 {
		s[1] = o.Kernel[1]
	}
	return s
}

// MaxPool2d takes the maximum over each window of x [N, C, H, W], as
// torch.nn.functional.max_pool2d does (padding counts as -inf). It is a
// Gather of the winning positions, so its gradient goes to the first
// maximum of each window and is differentiable again.
func (a *Tensor) MaxPool2d(opt Pool2dOptions) *Tensor {
	a.mustFloat("MaxPool2d")
	if len(a.shape) != 4 {
		panic(fmt.Sprintf("backprop: MaxPool2d: input of shape %v is not [N,C,H,W]", a.shape))
	}
	s := opt.stride()
	if opt.Padding[0]*2 > opt.Kernel[0] || opt.Padding[1]*2 > opt.Kernel[1] {
		panic(fmt.Sprintf("backprop: MaxPool2d: padding %v must be at most half of kernel %v", opt.Padding, opt.Kernel))
	}
	n, ch := a.shape[0], a.shape[1]
	geo := newConvGeom("MaxPool2d", []int{n, 1, a.shape[2], a.shape[3]}, []int{1, 1, opt.Kernel[0], opt.Kernel[1]},
		Conv2dOptions{Stride: s, Dilation: opt.Dilation})
	x := a
	if opt.Padding != [2]int{} {
		ph, pw := opt.Padding[0], opt.Padding[1]
		x = a.Pad([]int{pw, pw, ph, ph}, negInf)
		geo = newConvGeom("MaxPool2d", []int{n, 1, a.shape[2] + 2*ph, a.shape[3] + 2*pw}, []int{1, 1, opt.Kernel[0], opt.Kernel[1]},
			Conv2dOptions{Stride: s, Dilation: opt.Dilation})
	}
	hw := geo.h * geo.w
	idx := make([]int64, n*ch*geo.ohw())
	xd := x.contiguousData()
	for p := range n * ch {
		plane := p * hw
		out := idx[p*geo.ohw() : (p+1)*geo.ohw()]
		for oy := range geo.oh {
			for ox := range geo.ow {
				best, bi := 0.0, -1
				for ki := range geo.kh {
					iy := oy*geo.sh + ki*geo.dh
					for kj := range geo.kw {
						ix := ox*geo.sw + kj*geo.dw
						q := iy*geo.w + ix
						v := xd.getFlat(xd.offset + plane + q)
						if bi < 0 || v > best || v != v {
							best, bi = v, q
							if v != v {
								break
							}
						}
					}
				}
				out[oy*geo.ow+ox] = int64(bi)
			}
		}
	}
	index := FromInt64s(idx, n, ch, geo.ohw())
	return x.Reshape(n, ch, hw).Gather(2, index).Reshape(n, ch, geo.oh, geo.ow)
}

var negInf = math.Inf(-1)

// AvgPool2d averages each window of x [N, C, H, W] as
// torch.nn.functional.avg_pool2d does with its defaults (zero padding is
// counted in the average). It is a grouped convolution with a constant
// weight, so it shares Conv2d's kernels and gradients.
func (a *Tensor) AvgPool2d(opt Pool2dOptions) *Tensor {
	a.mustFloat("AvgPool2d")
	if len(a.shape) != 4 {
		panic(fmt.Sprintf("backprop: AvgPool2d: input of shape %v is not [N,C,H,W]", a.shape))
	}
	kh, kw := opt.Kernel[0], opt.Kernel[1]
	if kh <= 0 || kw <= 0 {
		panic(fmt.Sprintf("backprop: AvgPool2d: kernel %v must be positive", opt.Kernel))
	}
	ch := a.shape[1]
	w := a.dtype.Full(1/float64(kh*kw), ch, 1, kh, kw)
	return a.Conv2d(w, Conv2dOptions{Stride: opt.stride(), Padding: opt.Padding, Groups: ch})
}
