package nn

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
)

// Linear is y = x·Weightᵀ + Bias, as torch.nn.Linear: Weight is [Out, In]
// and Bias [Out]. x is [..., In]. Set Bias to nil for bias=False.
type Linear struct {
	Base
	Weight, Bias *bp.Tensor
	In, Out      int
}

// NewLinear returns a Linear layer with torch's default initialization:
// Weight and Bias uniform in ±1/sqrt(in) (kaiming_uniform with a = sqrt(5)
// for the weight), drawn from rng, weight first.
func NewLinear(in, out int, rng *bp.RNG) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn: NewLinear: %d inputs, %d outputs", in, out))
	}
	mustRNG("NewLinear", rng)
	l := &Linear{Weight: bp.Zeros(out, in), Bias: bp.Zeros(out), In: in, Out: out}
	KaimingUniform(rng, l.Weight, math.Sqrt(5), FanIn)
	b := 1 / math.Sqrt(float64(in))
	Uniform(rng, l.Bias, -b, b)
	l.AddParam("weight", &l.Weight)
	l.AddParam("bias", &l.Bias)
	return l
}

// Forward applies the layer.
func (l *Linear) Forward(x *bp.Tensor) *bp.Tensor {
	if x.Dim() == 0 || x.Size(-1) != l.Weight.Size(1) {
		panic(fmt.Sprintf("nn: Linear: input of shape %v, want [..., %d]", x.Shape(), l.Weight.Size(1)))
	}
	checkDType("Linear", x, l.Weight)
	return bp.Linear(x, l.Weight, l.Bias)
}
