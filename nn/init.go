package nn

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
)

// Initializers fill a tensor in place with values drawn from an explicit
// generator, as torch.nn.init's functions do, and return it. They follow
// torch's formulas (so the ranges and spreads match) but not its random
// stream: the same seed gives different numbers than torch.manual_seed.

// Fan selects which fan Kaiming initialization scales by: FanIn keeps the
// variance of activations in the forward pass, FanOut that of gradients in
// the backward pass.
type Fan int

// The fan modes of torch.nn.init.kaiming_*.
const (
	FanIn Fan = iota
	FanOut
)

// Fans returns the fan-in and fan-out of a weight of the given shape, as
// torch computes them: for a Linear weight [out, in] they are in and out;
// for a convolution weight [out, in, kh, kw] each is multiplied by kh·kw.
func Fans(shape []int) (fanIn, fanOut int) {
	if len(shape) < 2 {
		panic(fmt.Sprintf("nn: Fans: fan in and fan out need at least 2 dimensions, got shape %v", shape))
	}
	field := 1
	for _, s := range shape[2:] {
		field *= s
	}
	return shape[1] * field, shape[0] * field
}

// LeakyReLUGain is the gain torch.nn.init.calculate_gain gives leaky_relu
// with negative slope a: sqrt(2 / (1 + a²)). a = 0 is ReLU's sqrt(2).
func LeakyReLUGain(a float64) float64 { return math.Sqrt(2 / (1 + a*a)) }

func kaimingStd(t *bp.Tensor, a float64, mode Fan) float64 {
	in, out := Fans(t.Shape())
	fan := in
	if mode == FanOut {
		fan = out
	}
	return LeakyReLUGain(a) / math.Sqrt(float64(fan))
}

// KaimingUniform fills t from U(-b, b) with b = gain·sqrt(3 / fan), gain =
// LeakyReLUGain(a): torch.nn.init.kaiming_uniform_(t, a, mode) for a layer
// followed by a (leaky) ReLU of slope a. torch's default Linear and Conv2d
// weights use a = sqrt(5), which makes b = 1/sqrt(fan_in).
func KaimingUniform(rng *bp.RNG, t *bp.Tensor, a float64, mode Fan) *bp.Tensor {
	b := math.Sqrt(3) * kaimingStd(t, a, mode)
	return Uniform(rng, t, -b, b)
}

// KaimingNormal fills t from N(0, std²) with std = gain / sqrt(fan),
// torch.nn.init.kaiming_normal_(t, a, mode).
func KaimingNormal(rng *bp.RNG, t *bp.Tensor, a float64, mode Fan) *bp.Tensor {
	return Normal(rng, t, 0, kaimingStd(t, a, mode))
}

// XavierUniform fills t from U(-b, b) with b = gain·sqrt(6 / (fan_in +
// fan_out)), torch.nn.init.xavier_uniform_ (Glorot).
func XavierUniform(rng *bp.RNG, t *bp.Tensor, gain float64) *bp.Tensor {
	in, out := Fans(t.Shape())
	b := gain * math.Sqrt(6/float64(in+out))
	return Uniform(rng, t, -b, b)
}

// XavierNormal fills t from N(0, std²) with std = gain·sqrt(2 / (fan_in +
// fan_out)), torch.nn.init.xavier_normal_.
func XavierNormal(rng *bp.RNG, t *bp.Tensor, gain float64) *bp.Tensor {
	in, out := Fans(t.Shape())
	return Normal(rng, t, 0, gain*math.Sqrt(2/float64(in+out)))
}

// Uniform fills t from U(lo, hi).
func Uniform(rng *bp.RNG, t *bp.Tensor, lo, hi float64) *bp.Tensor {
	mustRNG("Uniform", rng)
	t.CopyFrom(rng.UniformOf(t.DType(), lo, hi, t.Shape()...))
	return t
}

// Normal fills t from N(mean, std²).
func Normal(rng *bp.RNG, t *bp.Tensor, mean, std float64) *bp.Tensor {
	mustRNG("Normal", rng)
	t.CopyFrom(rng.NormalOf(t.DType(), mean, std, t.Shape()...))
	return t
}

// Constant fills t with v.
func Constant(t *bp.Tensor, v float64) *bp.Tensor {
	t.CopyFrom(bp.FullLike(t, v))
	return t
}

// checkDType panics unless x has the dtype of the layer's parameter w, with
// a message that says how to convert the layer.
func checkDType(op string, x, w *bp.Tensor) {
	if w != nil && x.DType() != w.DType() {
		panic(fmt.Sprintf("nn: %s: input is %v of shape %v but the layer is %v (convert one of them: Tensor.To or nn.To)", op, x.DType(), x.Shape(), w.DType()))
	}
}

func mustRNG(op string, rng *bp.RNG) {
	if rng == nil {
		panic(fmt.Sprintf("nn: %s: nil *backprop.RNG (randomness comes from an explicit, seeded generator)", op))
	}
}
