package nn

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
)

// Conv2d is a 2-d convolution (cross-correlation) of x [N, In, H, W] with
// Weight [Out, In/Groups, K, K], plus Bias [Out], as torch.nn.Conv2d. Opt
// holds stride, padding, dilation and groups. Set Bias to nil for
// bias=False.
type Conv2d struct {
	Base
	Weight, Bias *bp.Tensor
	Opt          bp.Conv2dOptions
}

// NewConv2d returns a convolution from in to out channels with a square
// kernel, with torch's default initialization: Weight and Bias uniform in
// ±1/sqrt(fan_in), fan_in = in/groups·kernel², drawn from rng, weight first.
func NewConv2d(in, out, kernel int, opt bp.Conv2dOptions, rng *bp.RNG) *Conv2d {
	g := max(opt.Groups, 1)
	if in <= 0 || out <= 0 || kernel <= 0 || in%g != 0 || out%g != 0 {
		panic(fmt.Sprintf("nn: NewConv2d: %d in and %d out channels (both divisible by %d groups), kernel %d", in, out, g, kernel))
	}
	mustRNG("NewConv2d", rng)
	l := &Conv2d{Weight: bp.Zeros(out, in/g, kernel, kernel), Bias: bp.Zeros(out), Opt: opt}
	KaimingUniform(rng, l.Weight, math.Sqrt(5), FanIn)
	fanIn, _ := Fans(l.Weight.Shape())
	b := 1 / math.Sqrt(float64(fanIn))
	Uniform(rng, l.Bias, -b, b)
	l.AddParam("weight", &l.Weight)
	l.AddParam("bias", &l.Bias)
	return l
}

// Forward convolves x.
func (l *Conv2d) Forward(x *bp.Tensor) *bp.Tensor {
	checkDType("Conv2d", x, l.Weight)
	return x.Conv2dBias(l.Weight, l.Bias, l.Opt) // nil Bias: no bias
}

// MaxPool2d takes the maximum over windows of x [N, C, H, W], as
// torch.nn.MaxPool2d; Opt holds kernel, stride (zero: the kernel),
// padding and dilation.
type MaxPool2d struct {
	Base
	Opt bp.Pool2dOptions
}

// NewMaxPool2d returns a max pool with a square kernel and stride equal to
// it, torch's MaxPool2d(kernel).
func NewMaxPool2d(kernel int) *MaxPool2d {
	return &MaxPool2d{Opt: bp.Pool2dOptions{Kernel: [2]int{kernel, kernel}}}
}

// Forward pools x.
func (l *MaxPool2d) Forward(x *bp.Tensor) *bp.Tensor { return x.MaxPool2d(l.Opt) }

// AvgPool2d averages over windows of x [N, C, H, W], as
// torch.nn.AvgPool2d with its defaults (zero padding counts in the
// average).
type AvgPool2d struct {
	Base
	Opt bp.Pool2dOptions
}

// NewAvgPool2d returns an average pool with a square kernel and stride
// equal to it, torch's AvgPool2d(kernel).
func NewAvgPool2d(kernel int) *AvgPool2d {
	return &AvgPool2d{Opt: bp.Pool2dOptions{Kernel: [2]int{kernel, kernel}}}
}

// Forward pools x.
func (l *AvgPool2d) Forward(x *bp.Tensor) *bp.Tensor { return x.AvgPool2d(l.Opt) }
