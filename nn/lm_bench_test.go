package nn

import (
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/optim"
)

// BenchmarkGPTStep is one training step of the twin's default GPT (4
// layers, 4 heads, width 128, context 64, batch 32, vocabulary 96) in
// float32: forward, cross-entropy, backward, clipping and AdamW over the
// decay groups. ../shared/bench/w7_gpt_torch.py runs the same step in
// PyTorch; tokens/s = 32·64 / (ns/op · 1e-9).
func BenchmarkGPTStep(b *testing.B) {
	const vocab, batch, ctx = 96, 32, 64
	g, err := NewGPT(GPTConfig{Vocab: vocab, Context: ctx, Layers: 4, Heads: 4, Embd: 128}, bp.NewRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	params := Parameters(g)
	opt := optim.NewAdamWGroups(optim.DecayGroups(params, 0.1), 3e-3, optim.Betas(0.9, 0.95))
	rng := bp.NewRNG(2)
	ids := make([]int64, batch*(ctx+1))
	for i := range ids {
		ids[i] = int64(rng.IntN(vocab))
	}
	all := bp.FromInt64s(ids, batch, ctx+1)
	x, y := all.Narrow(1, 0, ctx).Contiguous(), all.Narrow(1, 1, ctx).Contiguous()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		loss := CrossEntropy(g.Forward(x).Reshape(-1, vocab), y.Reshape(-1))
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step()
		opt.ZeroGrad()
	}
	b.ReportMetric(float64(b.N*batch*ctx)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGPTSample is one cached decoding step (one new token) of the
// same model at a half-full context.
func BenchmarkGPTSample(b *testing.B) {
	g, _ := NewGPT(GPTConfig{Vocab: 96, Context: 64, Layers: 4, Heads: 4, Embd: 128}, bp.NewRNG(1))
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
	const vocab, batch, ctx = 96, 32, 64
	m, err := NewLSTMLM(LSTMLMConfig{Vocab: vocab, Embd: 128, Hidden: 256, Layers: 2}, bp.NewRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	params := Parameters(m)
	opt := optim.NewAdam(params, 3e-3)
	rng := bp.NewRNG(2)
	ids := make([]int64, batch*(ctx+1))
	for i := range ids {
		ids[i] = int64(rng.IntN(vocab))
	}
	all := bp.FromInt64s(ids, batch, ctx+1)
	x, y := all.Narrow(1, 0, ctx).Contiguous(), all.Narrow(1, 1, ctx).Contiguous()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		loss := CrossEntropy(m.Forward(x).Reshape(-1, vocab), y.Reshape(-1))
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step()
		opt.ZeroGrad()
	}
	b.ReportMetric(float64(b.N*batch*ctx)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGPTStepPool is BenchmarkGPTStep as the trainer runs it: the
// step's tensors come from a Pool that is reset after each step.
func BenchmarkGPTStepPool(b *testing.B) {
	const vocab, batch, ctx = 96, 32, 64
	g, err := NewGPT(GPTConfig{Vocab: vocab, Context: ctx, Layers: 4, Heads: 4, Embd: 128}, bp.NewRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	params := Parameters(g)
	opt := optim.NewAdamWGroups(optim.DecayGroups(params, 0.1), 3e-3, optim.Betas(0.9, 0.95))
	rng := bp.NewRNG(2)
	ids := make([]int64, batch*(ctx+1))
	for i := range ids {
		ids[i] = int64(rng.IntN(vocab))
	}
	all := bp.FromInt64s(ids, batch, ctx+1)
	x, y := all.Narrow(1, 0, ctx).Contiguous(), all.Narrow(1, 1, ctx).Contiguous()
	pool := bp.NewPool()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		loss := CrossEntropy(g.Forward(x.InPool(pool)).Reshape(-1, vocab), y.Reshape(-1))
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step()
		opt.ZeroGrad()
		pool.Reset()
	}
	b.ReportMetric(float64(b.N*batch*ctx)/b.Elapsed().Seconds(), "tokens/s")
}
