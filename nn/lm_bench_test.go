package nn

import (
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/optim"
)

// The language-model benchmarks share their sizes: vocabulary 96, batch
// 32, context 64.
const benchVocab, benchBatch, benchCtx = 96, 32, 64

// benchGPT is the twin's default GPT (4 layers, 4 heads, width 128).
func benchGPT(b *testing.B) *GPT {
	g, err := NewGPT(GPTConfig{Vocab: benchVocab, Context: benchCtx, Layers: 4, Heads: 4, Embd: 128}, bp.NewRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// benchLMSteps times training steps of m on a fixed random batch:
// forward, cross-entropy, backward, clipping at 1 and opt's step, with the
// step's tensors in pool when it is not nil (reset after each step).
func benchLMSteps(b *testing.B, m Module, opt optim.Optimizer, pool *bp.Pool) {
	params := Parameters(m)
	rng := bp.NewRNG(2)
	ids := make([]int64, benchBatch*(benchCtx+1))
	for i := range ids {
		ids[i] = int64(rng.IntN(benchVocab))
	}
	all := bp.FromInt64s(ids, benchBatch, benchCtx+1)
	x, y := all.Narrow(1, 0, benchCtx).Contiguous(), all.Narrow(1, 1, benchCtx).Contiguous()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		in := x
		if pool != nil {
			in = x.InPool(pool)
		}
		loss := CrossEntropy(m.Forward(in).Reshape(-1, benchVocab), y.Reshape(-1))
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step()
		opt.ZeroGrad()
		if pool != nil {
			pool.Reset()
		}
	}
	b.ReportMetric(float64(b.N*benchBatch*benchCtx)/b.Elapsed().Seconds(), "tokens/s")
}

// gptOptimizer is the twin's AdamW over the decay groups.
func gptOptimizer(g *GPT) optim.Optimizer {
	return optim.NewAdamWGroups(optim.DecayGroups(Parameters(g), 0.1), 3e-3, optim.Betas(0.9, 0.95))
}

// BenchmarkGPTStep is one training step of the twin's default GPT (4
// layers, 4 heads, width 128, context 64, batch 32, vocabulary 96) in
// float32: forward, cross-entropy, backward, clipping and AdamW over the
// decay groups. ../shared/bench/w7_gpt_torch.py runs the same step in
// PyTorch; tokens/s = 32·64 / (ns/op · 1e-9).
func BenchmarkGPTStep(b *testing.B) {
	g := benchGPT(b)
	benchLMSteps(b, g, gptOptimizer(g), nil)
}

// BenchmarkGPTSample is one cached decoding step (one new token) of the
// same model at a half-full context.
func BenchmarkGPTSample(b *testing.B) {
	g := benchGPT(b)
	cache := g.NewCache(1)
	prompt := bp.FromInt64s(make([]int64, 32), 1, 32).NoGrad()
	tok := bp.FromInt64s([]int64{5}, 1, 1).NoGrad()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		cache.Reset()
		g.ForwardStep(prompt, cache)
		b.StartTimer()
		g.ForwardStep(tok, cache)
	}
}

// BenchmarkLSTMLMStep is one training step of a character LSTM language
// model (vocabulary 96, embedding 128, 2 layers of 256, batch 32, 64
// steps) in float32 with Adam.
func BenchmarkLSTMLMStep(b *testing.B) {
	m, err := NewLSTMLM(LSTMLMConfig{Vocab: benchVocab, Embd: 128, Hidden: 256, Layers: 2}, bp.NewRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	benchLMSteps(b, m, optim.NewAdam(Parameters(m), 3e-3), nil)
}

// BenchmarkGPTStepPool is BenchmarkGPTStep as the trainer runs it: the
// step's tensors come from a Pool that is reset after each step.
func BenchmarkGPTStepPool(b *testing.B) {
	g := benchGPT(b)
	pool := bp.NewPool()
	defer pool.Release()
	benchLMSteps(b, g, gptOptimizer(g), pool)
}
