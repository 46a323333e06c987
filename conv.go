package backprop

import (
	"fmt"
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Convolution and pooling. Conv2d is im2col + GEMM, image by image
// (internal/kernels/conv.go). Its backward is two more ops, the gradient
// with respect to the input (a transposed convolution) and with respect to
// the weight; the three are adjoints of one another, so each one's
// backward is written with the other two, which makes the gradients of a
// convolution differentiable again. Conv2dBias adds a bias while writing
// the output, and sums its gradient in the weight gradient's pass over the
// output gradient; that sum is an op of its own, whose backward broadcasts.
//
// MaxPool2d finds each window's maximum and its position in one pass; its
// backward scatters the output gradient to those positions, and the
// scatter's backward gathers from them, so it too differentiates again.

// Conv2dOptions are PyTorch's Conv2d arguments. Zero values mean stride 1,
// no padding, dilation 1, one group.
type Conv2dOptions struct {
	Stride   [2]int
	Padding  [2]int
	Dilation [2]int
	Groups   int
}

// convGeom is a checked convolution geometry.
type convGeom = kernels.ConvShape

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
	g := convGeom{N: xs[0], C: xs[1], H: xs[2], W: xs[3], O: ws[0], KH: ws[2], KW: ws[3],
		Groups: or1(opt.Groups), SH: or1(opt.Stride[0]), SW: or1(opt.Stride[1]),
		PH: opt.Padding[0], PW: opt.Padding[1], DH: or1(opt.Dilation[0]), DW: or1(opt.Dilation[1])}
	if g.Groups < 0 || g.SH < 0 || g.SW < 0 || g.PH < 0 || g.PW < 0 || g.DH < 0 || g.DW < 0 {
		panic(fmt.Sprintf("backprop: %s: negative option in %+v", op, opt))
	}
	if g.C%g.Groups != 0 || g.O%g.Groups != 0 {
		panic(fmt.Sprintf("backprop: %s: %d input and %d output channels are not divisible by %d groups", op, g.C, g.O, g.Groups))
	}
	if ws[1] != g.CG() {
		panic(fmt.Sprintf("backprop: %s: weight %v expects %d input channels per group, input %v with %d groups has %d", op, ws, ws[1], xs, g.Groups, g.CG()))
	}
	g.OH = (g.H+2*g.PH-g.DH*(g.KH-1)-1)/g.SH + 1
	g.OW = (g.W+2*g.PW-g.DW*(g.KW-1)-1)/g.SW + 1
	if g.OH <= 0 || g.OW <= 0 || g.KH <= 0 || g.KW <= 0 {
		panic(fmt.Sprintf("backprop: %s: kernel %dx%d (dilation %d,%d) is larger than padded input %dx%d", op, g.KH, g.KW, g.DH, g.DW, g.H+2*g.PH, g.W+2*g.PW))
	}
	return g
}

// Conv2d convolves x [N, C, H, W] with weight [O, C/groups, kH, kW] as
// torch.nn.functional.conv2d does (cross-correlation), without a bias (see
// Conv2dBias).
func (a *Tensor) Conv2d(weight *Tensor, opt Conv2dOptions) *Tensor {
	checkBinary("Conv2d", a, weight)
	return conv2d(a, weight, nil, newConvGeom("Conv2d", a.shape, weight.shape, opt))
}

// Conv2dBias is Conv2d plus bias [O] on every output channel, the whole of
// torch.nn.functional.conv2d. It gives the same values as
// a.Conv2d(weight, opt).Add(bias.Reshape(1, -1, 1, 1)) but adds the bias
// while the convolution writes its output, saving two passes over it (one
// forward, one backward). A nil bias means none.
func (a *Tensor) Conv2dBias(weight, bias *Tensor, opt Conv2dOptions) *Tensor {
	checkBinary("Conv2dBias", a, weight)
	geo := newConvGeom("Conv2dBias", a.shape, weight.shape, opt)
	if bias != nil {
		checkBinary("Conv2dBias", a, bias)
		if len(bias.shape) != 1 || bias.shape[0] != geo.O {
			panic(fmt.Sprintf("backprop: Conv2dBias: bias of shape %v for weight %v, want [%d]", bias.shape, weight.shape, geo.O))
		}
	}
	return conv2d(a, weight, bias, geo)
}

func conv2d(x, w, b *Tensor, geo convGeom) *Tensor {
	y := rawIn(poolOf("Conv2d", x, w, b), x.dtype, []int{geo.N, geo.O, geo.OH, geo.OW})
	xc, wc := x.contiguousData(), w.contiguousData()
	var bc *Tensor
	if b != nil {
		bc = b.contiguousData()
	}
	if x.dtype == Float32 {
		var bias []float32
		if bc != nil {
			bias = bc.f32[bc.offset : bc.offset+geo.O]
		}
		kernels.ConvForward(geo, xc.f32[xc.offset:], wc.f32[wc.offset:], bias, y.f32)
	} else {
		var bias []float64
		if bc != nil {
			bias = bc.f64[bc.offset : bc.offset+geo.O]
		}
		kernels.ConvForward(geo, xc.f64[xc.offset:], wc.f64[wc.offset:], bias, y.f64)
	}
	if b == nil {
		return record("Conv2d", y, []*Tensor{x, w}, func(c *BackwardContext, g *Tensor) []*Tensor {
			var gx, gw *Tensor
			if c.NeedsGrad(0) {
				gx = convInput(g, c.Input(1), geo)
			}
			if c.NeedsGrad(1) {
				gw, _ = convWeight(c.Input(0), g, geo, false)
			}
			return c.two(gx, gw)
		})
	}
	return record("Conv2dBias", y, []*Tensor{x, w, b}, func(c *BackwardContext, g *Tensor) []*Tensor {
		var gx, gw, gb *Tensor
		if c.NeedsGrad(0) {
			gx = convInput(g, c.Input(1), geo)
		}
		switch {
		case c.NeedsGrad(1): // the bias's gradient comes along, cheaply
			gw, gb = convWeight(c.Input(0), g, geo, c.NeedsGrad(2))
		case c.NeedsGrad(2):
			gb = convBiasGrad(g, geo)
		}
		return []*Tensor{gx, gw, gb}
	})
}

// convBiasGrad is the gradient of a convolution's bias: g [N, O, OH, OW]
// summed over all but its channel axis.
func convBiasGrad(g *Tensor, geo convGeom) *Tensor {
	gb := rawIn(poolOf("Conv2dBackwardBias", g), g.dtype, []int{geo.O})
	gc := g.contiguousData()
	if g.dtype == Float32 {
		kernels.ConvBiasGrad(geo, gc.f32[gc.offset:], gb.f32)
	} else {
		kernels.ConvBiasGrad(geo, gc.f64[gc.offset:], gb.f64)
	}
	return recordBiasGrad(gb, g)
}

// recordBiasGrad records gb as the bias gradient computed from g.
func recordBiasGrad(gb, g *Tensor) *Tensor {
	shape := g.shape
	return record("Conv2dBackwardBias", gb, []*Tensor{g}, func(c *BackwardContext, h *Tensor) []*Tensor {
		return c.one(h.Reshape(1, -1, 1, 1).Expand(shape...))
	})
}

// convInput is the gradient of a convolution with respect to its input:
// a transposed convolution of g [N, O, OH, OW] with w.
func convInput(g, w *Tensor, geo convGeom) *Tensor {
	gx := rawIn(poolOf("Conv2dBackwardInput", g, w), g.dtype, []int{geo.N, geo.C, geo.H, geo.W})
	gc, wc := g.contiguousData(), w.contiguousData()
	if g.dtype == Float32 {
		kernels.ConvBackwardInput(geo, gc.f32[gc.offset:], wc.f32[wc.offset:], gx.f32)
	} else {
		kernels.ConvBackwardInput(geo, gc.f64[gc.offset:], wc.f64[wc.offset:], gx.f64)
	}
	return record("Conv2dBackwardInput", gx, []*Tensor{g, w}, func(c *BackwardContext, h *Tensor) []*Tensor {
		// <h, convInput(g, w)> = <conv2d(h, w), g> = <w, convWeight(h, g)>
		var dg, dw *Tensor
		if c.NeedsGrad(0) {
			dg = conv2d(h, c.Input(1), nil, geo)
		}
		if c.NeedsGrad(1) {
			dw, _ = convWeight(h, c.Input(0), geo, false)
		}
		return c.two(dg, dw)
	})
}

// convWeight is the gradient of a convolution with respect to its weight,
// from the input x and the output gradient g; with withBias, also that of
// its bias, computed in the same pass over g (nil otherwise).
func convWeight(x, g *Tensor, geo convGeom, withBias bool) (gw, gb *Tensor) {
	pool := poolOf("Conv2dBackwardWeight", x, g)
	gw = rawIn(pool, x.dtype, []int{geo.O, geo.CG(), geo.KH, geo.KW})
	if withBias {
		gb = rawIn(pool, x.dtype, []int{geo.O})
	}
	xc, gc := x.contiguousData(), g.contiguousData()
	if x.dtype == Float32 {
		var b []float32
		if gb != nil {
			b = gb.f32
		}
		kernels.ConvBackwardWeight(geo, xc.f32[xc.offset:], gc.f32[gc.offset:], gw.f32, b)
	} else {
		var b []float64
		if gb != nil {
			b = gb.f64
		}
		kernels.ConvBackwardWeight(geo, xc.f64[xc.offset:], gc.f64[gc.offset:], gw.f64, b)
	}
	gw = record("Conv2dBackwardWeight", gw, []*Tensor{x, g}, func(c *BackwardContext, k *Tensor) []*Tensor {
		// <k, convWeight(x, g)> = <conv2d(x, k), g> = <x, convInput(g, k)>
		var dx, dg *Tensor
		if c.NeedsGrad(0) {
			dx = convInput(c.Input(1), k, geo)
		}
		if c.NeedsGrad(1) {
			dg = conv2d(c.Input(0), k, nil, geo)
		}
		return c.two(dx, dg)
	})
	if gb != nil {
		gb = recordBiasGrad(gb, g)
	}
	return gw, gb
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
// torch.nn.functional.max_pool2d does (padding counts as -inf). Its
// gradient goes to the first maximum of each window (a NaN counts as the
// maximum) and is differentiable again: the backward pass scatters by the
// winning positions, and its backward gathers by them.
func (a *Tensor) MaxPool2d(opt Pool2dOptions) *Tensor {
	a.mustFloat("MaxPool2d")
	if len(a.shape) != 4 {
		panic(fmt.Sprintf("backprop: MaxPool2d: input of shape %v is not [N,C,H,W]", a.shape))
	}
	if opt.Kernel[0] <= 0 || opt.Kernel[1] <= 0 {
		panic(fmt.Sprintf("backprop: MaxPool2d: kernel %v must be positive", opt.Kernel))
	}
	if opt.Padding[0]*2 > opt.Kernel[0] || opt.Padding[1]*2 > opt.Kernel[1] {
		panic(fmt.Sprintf("backprop: MaxPool2d: padding %v must be at most half of kernel %v", opt.Padding, opt.Kernel))
	}
	n, ch := a.shape[0], a.shape[1]
	geo := newConvGeom("MaxPool2d", []int{n * ch, 1, a.shape[2], a.shape[3]}, []int{1, 1, opt.Kernel[0], opt.Kernel[1]},
		Conv2dOptions{Stride: opt.stride(), Padding: opt.Padding, Dilation: opt.Dilation})
	if geo.H*geo.W > math.MaxInt32 {
		panic(fmt.Sprintf("backprop: MaxPool2d: planes of %dx%d are too large", geo.H, geo.W))
	}
	y := rawIn(poolOf("MaxPool2d", a), a.dtype, []int{n, ch, geo.OH, geo.OW})
	idx := int32sLike(y, y.Numel())
	xc := a.contiguousData()
	if a.dtype == Float32 {
		kernels.MaxPool2d(geo, xc.f32[xc.offset:], y.f32, idx)
	} else {
		kernels.MaxPool2d(geo, xc.f64[xc.offset:], y.f64, idx)
	}
	inShape := a.shape
	return record("MaxPool2d", y, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		c.OutputValue().checkLive("MaxPool2d backward") // idx lives in the output's pool
		return c.one(poolScatter(g, idx, geo, inShape))
	})
}

// poolScatter sends g [N, C, OH, OW] back to the winning positions idx of
// a max pool over an input of shape inShape.
func poolScatter(g *Tensor, idx []int32, geo convGeom, inShape []int) *Tensor {
	gx := rawIn(poolOf("MaxPool2dBackward", g), g.dtype, inShape)
	gc := g.contiguousData()
	if g.dtype == Float32 {
		kernels.PoolScatter(geo, gc.f32[gc.offset:], idx, gx.f32)
	} else {
		kernels.PoolScatter(geo, gc.f64[gc.offset:], idx, gx.f64)
	}
	outShape := g.shape
	return record("MaxPool2dBackward", gx, []*Tensor{g}, func(c *BackwardContext, h *Tensor) []*Tensor {
		return c.one(poolGather(h, idx, geo, outShape))
	})
}

// poolGather picks the values of x [N, C, H, W] at a max pool's winning
// positions: the adjoint of poolScatter, and with the forward pass's x,
// the pool itself.
func poolGather(x *Tensor, idx []int32, geo convGeom, outShape []int) *Tensor {
	y := rawIn(poolOf("MaxPool2dGather", x), x.dtype, outShape)
	xc := x.contiguousData()
	if x.dtype == Float32 {
		kernels.PoolGather(geo, xc.f32[xc.offset:], idx, y.f32)
	} else {
		kernels.PoolGather(geo, xc.f64[xc.offset:], idx, y.f64)
	}
	inShape := x.shape
	return record("MaxPool2dGather", y, []*Tensor{x}, func(c *BackwardContext, h *Tensor) []*Tensor {
		return c.one(poolScatter(h, idx, geo, inShape))
	})
}

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
