package main

import (
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// A tiny run trains and samples.
func TestExampleRunsTiny(t *testing.T) {
	o := options{steps: 30, layers: 1, heads: 2, embd: 16, context: 16, batch: 8, sample: 20, lr: 1e-2}
	if err := run(o); err != nil {
		t.Fatal(err)
	}
}

// The hand-written model learns a repeating sequence: the loss falls well
// below its starting value (log 5) in a few Adam steps.
func TestModelLearns(t *testing.T) {
	g := NewGPT(5, 8, 1, 2, 8, bp.NewRNG(1))
	x := bp.FromInt64s([]int64{0, 1, 2, 3, 4, 0, 1, 2}, 1, 8)
	y := bp.FromInt64s([]int64{1, 2, 3, 4, 0, 1, 2, 3}, 1, 8)
	opt := optim.NewAdam(nn.Parameters(g), 0.05)
	var first, last float64
	for i := range 60 {
		l := bp.CrossEntropyFromLogits(g.Forward(x).Reshape(-1, 5), y.Reshape(-1))
		l.Backward()
		opt.Step()
		opt.ZeroGrad()
		if i == 0 {
			first = l.Item()
		}
		last = l.Item()
	}
	if !(last < first/4) {
		t.Fatalf("loss %v -> %v", first, last)
	}
}
