package nn_test

import (
	"fmt"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// Net is a model of one's own: embed nn.Base, register the children by
// name, and write Forward.
type Net struct {
	nn.Base
	FC1, FC2 *nn.Linear
}

func NewNet(rng *bp.RNG) *Net {
	n := &Net{FC1: nn.NewLinear(4, 8, rng), FC2: nn.NewLinear(8, 3, rng)}
	n.AddChild("fc1", n.FC1)
	n.AddChild("fc2", n.FC2)
	return n
}

func (n *Net) Forward(x *bp.Tensor) *bp.Tensor {
	return n.FC2.Forward(n.FC1.Forward(x).ReLU())
}

func Example() {
	rng := bp.NewRNG(1)
	model := NewNet(rng)
	opt := optim.NewSGD(nn.Parameters(model), 0.5)

	x := rng.Normal(0, 1, 6, 4)
	labels := bp.FromInts([]int{0, 1, 2, 0, 1, 2})
	first := nn.CrossEntropy(model.Forward(x), labels).Item()
	for range 50 {
		loss := nn.CrossEntropy(model.Forward(x), labels)
		loss.Backward()
		opt.Step()
		opt.ZeroGrad()
	}
	nn.Eval(model)
	logits := model.Forward(x.NoGrad()) // inference: no graph is recorded
	last := nn.CrossEntropy(logits, labels).Item()

	fmt.Println(nn.StateKeys(model))
	fmt.Println(nn.NumParams(model), "parameters")
	fmt.Println("loss went down:", last < first/2)
	fmt.Println("graph recorded:", logits.RequiresGrad())
	// Output:
	// [fc1.weight fc1.bias fc2.weight fc2.bias]
	// 67 parameters
	// loss went down: true
	// graph recorded: false
}
