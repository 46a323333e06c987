package nn

import (
	"fmt"

	bp "github.com/gobackprop/backprop"
)

// Activation modules wrap the elementwise ops of the root package so that
// they can sit in a Sequential. They have no parameters; their zero values
// are ready to use (LeakyReLU's zero slope is a ReLU, so prefer its
// constructor for torch's default).

// ReLU is max(x, 0).
type ReLU struct{ Base }

// NewReLU returns a ReLU module.
func NewReLU() *ReLU { return &ReLU{} }

// Forward applies ReLU.
func (*ReLU) Forward(x *bp.Tensor) *bp.Tensor { return x.ReLU() }

// LeakyReLU is x for x > 0 and Slope·x otherwise.
type LeakyReLU struct {
	Base
	Slope float64
}

// NewLeakyReLU returns a LeakyReLU with the given negative slope (torch's
// default is 0.01).
func NewLeakyReLU(slope float64) *LeakyReLU { return &LeakyReLU{Slope: slope} }

// Forward applies LeakyReLU.
func (l *LeakyReLU) Forward(x *bp.Tensor) *bp.Tensor { return x.LeakyReLU(l.Slope) }

// GELU is x·Φ(x), the exact (erf) form torch uses by default; with
// Approximate "tanh" it is the tanh approximation GPT-2 used
// (torch.nn.GELU(approximate="tanh")).
type GELU struct {
	Base
	Approximate string // "none" or "" (exact), or "tanh"
}

// NewGELU returns an exact GELU module.
func NewGELU() *GELU { return &GELU{} }

// NewGELUTanh returns a GELU module that uses the tanh approximation.
func NewGELUTanh() *GELU { return &GELU{Approximate: "tanh"} }

// Forward applies GELU.
func (g *GELU) Forward(x *bp.Tensor) *bp.Tensor {
	switch g.Approximate {
	case "", "none":
		return x.GELU()
	case "tanh":
		return x.GELUTanh()
	default:
		panic(fmt.Sprintf("nn: GELU: approximate %q; want \"none\" or \"tanh\"", g.Approximate))
	}
}

// Tanh is the hyperbolic tangent.
type Tanh struct{ Base }

// NewTanh returns a Tanh module.
func NewTanh() *Tanh { return &Tanh{} }

// Forward applies tanh.
func (*Tanh) Forward(x *bp.Tensor) *bp.Tensor { return x.Tanh() }

// Sigmoid is 1 / (1 + exp(-x)).
type Sigmoid struct{ Base }

// NewSigmoid returns a Sigmoid module.
func NewSigmoid() *Sigmoid { return &Sigmoid{} }

// Forward applies the sigmoid.
func (*Sigmoid) Forward(x *bp.Tensor) *bp.Tensor { return x.Sigmoid() }

// Softmax normalizes exp(x) to sum to 1 along Axis (negative counts from
// the end).
type Softmax struct {
	Base
	Axis int
}

// NewSoftmax returns a softmax over axis (torch's dim).
func NewSoftmax(axis int) *Softmax { return &Softmax{Axis: axis} }

// Forward applies the softmax.
func (l *Softmax) Forward(x *bp.Tensor) *bp.Tensor { return x.Softmax(l.Axis) }

// LogSoftmax is the log of Softmax, computed stably.
type LogSoftmax struct {
	Base
	Axis int
}

// NewLogSoftmax returns a log-softmax over axis.
func NewLogSoftmax(axis int) *LogSoftmax { return &LogSoftmax{Axis: axis} }

// Forward applies the log-softmax.
func (l *LogSoftmax) Forward(x *bp.Tensor) *bp.Tensor { return x.LogSoftmax(l.Axis) }
