package nn_test

import (
	"fmt"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/optim"
)

// A character-level GPT learns to continue a repeating text, then
// generates from a prompt with its key/value cache.
func ExampleGPT() {
	text := []byte("abcdefgh")
	const vocab, ctx = 8, 8
	ids := make([]int64, 64)
	for i := range ids { // row r is the text rotated by r
		ids[i] = int64(text[(i/8+i%8)%len(text)] - 'a')
	}
	rng := bp.NewRNG(1)
	g, err := nn.NewGPT(nn.GPTConfig{Vocab: vocab, Context: ctx, Layers: 1, Heads: 2, Embd: 16}, rng)
	if err != nil {
		panic(err)
	}
	params := nn.Parameters(g)
	opt := optim.NewAdamWGroups(optim.DecayGroups(params, 0.1), 3e-2, optim.Betas(0.9, 0.95))
	all := bp.FromInt64s(ids, 8, 8)
	x, y := all.Narrow(1, 0, ctx-1).Contiguous(), all.Narrow(1, 1, ctx-1).Contiguous()
	for range 100 {
		loss := nn.CrossEntropy(g.Forward(x).Reshape(-1, vocab), y.Reshape(-1))
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step()
		opt.ZeroGrad()
	}
	greedy := func(logits *bp.Tensor) int64 { return int64(logits.ArgMax(0).Item()) }
	out := g.Generate([]int64{2, 3}, 12, greedy) // "cd" and twelve more
	s := "cd"
	for _, t := range out {
		s += string(rune('a' + t))
	}
	fmt.Println(s)
	// Output: cdefghabcdefgh
}
