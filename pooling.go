package backprop

import (
	"fmt"
	"math"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Pooling over windows of images (not the memory arena, arena.go).
// MaxPool2d finds each window's maximum and its position in one pass; its
// backward scatters the output gradient to those positions, and the
// scatter's backward gathers from them, so it too differentiates again.
// AvgPool2d is a grouped convolution with a constant weight (conv.go).

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
	return record("MaxPool2d", y, []*Tensor{a}, maxPool2dGrad(idx, geo, inShape))
}

// maxPool2dGrad is the derivative of MaxPool2d.
func maxPool2dGrad(idx []int32, geo convGeom, inShape []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		c.OutputValue().checkLive("MaxPool2d backward") // idx lives in the output's pool
		return c.one(maxPoolScatter(g, idx, geo, inShape))
	}
}

// maxPoolScatter sends g [N, C, OH, OW] back to the winning positions idx of
// a max pool over an input of shape inShape.
func maxPoolScatter(g *Tensor, idx []int32, geo convGeom, inShape []int) *Tensor {
	gx := rawIn(poolOf("MaxPool2dBackward", g), g.dtype, inShape)
	gc := g.contiguousData()
	if g.dtype == Float32 {
		kernels.PoolScatter(geo, gc.f32[gc.offset:], idx, gx.f32)
	} else {
		kernels.PoolScatter(geo, gc.f64[gc.offset:], idx, gx.f64)
	}
	outShape := g.shape
	return record("MaxPool2dBackward", gx, []*Tensor{g}, maxPool2dBackwardGrad(idx, geo, outShape))
}

// maxPool2dBackwardGrad is the derivative of MaxPool2dBackward.
func maxPool2dBackwardGrad(idx []int32, geo convGeom, outShape []int) BackwardFunc {
	return func(c *BackwardContext, h *Tensor) []*Tensor {
		return c.one(maxPoolGather(h, idx, geo, outShape))
	}
}

// maxPoolGather picks the values of x [N, C, H, W] at a max pool's winning
// positions: the adjoint of maxPoolScatter, and with the forward pass's x,
// the pool itself.
func maxPoolGather(x *Tensor, idx []int32, geo convGeom, outShape []int) *Tensor {
	y := rawIn(poolOf("MaxPool2dGather", x), x.dtype, outShape)
	xc := x.contiguousData()
	if x.dtype == Float32 {
		kernels.PoolGather(geo, xc.f32[xc.offset:], idx, y.f32)
	} else {
		kernels.PoolGather(geo, xc.f64[xc.offset:], idx, y.f64)
	}
	inShape := x.shape
	return record("MaxPool2dGather", y, []*Tensor{x}, maxPool2dGatherGrad(idx, geo, inShape))
}

// maxPool2dGatherGrad is the derivative of MaxPool2dGather.
func maxPool2dGatherGrad(idx []int32, geo convGeom, inShape []int) BackwardFunc {
	return func(c *BackwardContext, h *Tensor) []*Tensor {
		return c.one(maxPoolScatter(h, idx, geo, inShape))
	}
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
