package nn

import (
	"fmt"
	"iter"
	"strings"

	bp "github.com/gobackprop/backprop"
)

// Language models over token ids: GPT (a decoder-only transformer) and
// LSTMLM. Both take Int64 tokens [B, T] and return logits [B, T, Vocab]
// (train them with cross-entropy against the tokens shifted by one), and
// both decode incrementally for sampling: GPT with a key/value cache per
// layer, LSTMLM with its recurrent state, so each new token costs one
// position.
//
//	g, err := nn.NewGPT(nn.GPTConfig{Vocab: 96, Context: 64, Layers: 4, Heads: 4, Embd: 128}, rng)
//	logits := g.Forward(tokens) // [B, T, 96]
//
//	cache := g.NewCache(1)
//	logits = g.ForwardStep(prompt.NoGrad(), cache) // [1, len(prompt), 96]
//	for ... {
//		next := ... // pick from the last position's logits
//		logits = g.ForwardStep(next.NoGrad(), cache) // [1, 1, 96]
//	}
//
// or, with the loop and the cache handled:
//
//	s := nn.Sampler{Temperature: 0.8, TopK: 40, RNG: bp.NewRNG(seed)}
//	tokens := g.Generate(prompt, 200, s.Next)
//
// or, for text of any length in constant memory, one token at a time:
//
//	for tok := range g.Tokens(prompt, s.Next) {
//		... // write it out; break to stop
//	}

// GPTConfig sizes a GPT.
type GPTConfig struct {
	Vocab   int `json:"vocab"`   // distinct token ids
	Context int `json:"context"` // most positions a sequence may have (the position embedding's size)
	Layers  int `json:"layers"`  // transformer blocks
	Heads   int `json:"heads"`   // attention heads per block; must divide Embd
	Embd    int `json:"embd"`    // width of the residual stream
}

// NumParams is the number of weights the model of c has, counted before
// it is built (a float64: an absurd config overflows an int).
func (c GPTConfig) NumParams() float64 {
	v, t, l, e := float64(c.Vocab), float64(c.Context), float64(c.Layers), float64(c.Embd)
	// Per block: two LayerNorms (2E each), the attention's in and out
	// projections (3E·E+3E, E·E+E) and the MLP's (4E·E+4E, 4E·E+E).
	block := 12*e*e + 13*e
	return v*e + t*e + l*block + 2*e + e*v + v
}

// Validate reports a config that cannot build a model.
func (c GPTConfig) Validate() error {
	var bad []string
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab", c.Vocab}, {"context", c.Context}, {"layers", c.Layers}, {"heads", c.Heads}, {"embd", c.Embd}} {
		if f.v <= 0 {
			bad = append(bad, fmt.Sprintf("%s %d is not positive", f.name, f.v))
		}
	}
	if c.Heads > 0 && c.Embd > 0 && c.Embd%c.Heads != 0 {
		bad = append(bad, fmt.Sprintf("embd %d is not a multiple of heads %d", c.Embd, c.Heads))
	}
	if len(bad) > 0 {
		return fmt.Errorf("nn: GPT config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// GPT is a character-level GPT in the layout of GPT-2 and of the PyTorch
// twin ../shared/bench/w7_gpt_torch.py: token and learned position
// embeddings, Layers causal pre-LayerNorm TransformerBlocks, a final
// LayerNorm and a linear head to the vocabulary, without dropout. Its state
// dict keys are
//
//	tok.weight [Vocab, Embd], pos.weight [Context, Embd]
//	blocks.<i>.ln1.weight, blocks.<i>.ln1.bias               [Embd]
//	blocks.<i>.attn.in_proj_weight [3·Embd, Embd], blocks.<i>.attn.in_proj_bias [3·Embd]
//	blocks.<i>.attn.out_proj.weight [Embd, Embd], blocks.<i>.attn.out_proj.bias [Embd]
//	blocks.<i>.ln2.weight, blocks.<i>.ln2.bias               [Embd]
//	blocks.<i>.fc.weight [4·Embd, Embd], blocks.<i>.fc.bias [4·Embd]
//	blocks.<i>.out.weight [Embd, 4·Embd], blocks.<i>.out.bias [Embd]
//	lnf.weight, lnf.bias [Embd], head.weight [Vocab, Embd], head.bias [Vocab]
//
// which are the twin's, with its qkv and proj under attention's torch
// names (attn.in_proj_*, attn.out_proj.*).
type GPT struct {
	Base
	Config   GPTConfig
	Tok, Pos *Embedding
	Blocks   *ModuleList // of *TransformerBlock
	LNF      *LayerNorm
	Head     *Linear
}

// NewGPT builds a GPT initialized as the twin: every 2-d parameter
// (embeddings and weights) from N(0, 0.02²), biases 0, LayerNorm weights 1.
func NewGPT(cfg GPTConfig, rng *bp.RNG) (*GPT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("nn: NewGPT: nil random generator")
	}
	g := &GPT{
		Config: cfg,
		Tok:    NewEmbedding(cfg.Vocab, cfg.Embd, rng),
		Pos:    NewEmbedding(cfg.Context, cfg.Embd, rng),
		Blocks: NewModuleList(),
		LNF:    NewLayerNorm(cfg.Embd),
	}
	for range cfg.Layers {
		g.Blocks.Append(NewTransformerBlock(cfg.Embd, cfg.Heads, true, rng))
	}
	g.Head = NewLinear(cfg.Embd, cfg.Vocab, rng)
	g.AddChild("tok", g.Tok)
	g.AddChild("pos", g.Pos)
	g.AddChild("blocks", g.Blocks)
	g.AddChild("lnf", g.LNF)
	g.AddChild("head", g.Head)
	for _, p := range Parameters(g) {
		switch {
		case p.T.Dim() == 2:
			Normal(rng, p.T, 0, 0.02)
		case strings.HasSuffix(p.Name, "bias"):
			Constant(p.T, 0)
		}
	}
	return g, nil
}

// Forward maps tokens (Int64 [B, T], T <= Context) to logits [B, T, Vocab].
func (g *GPT) Forward(tokens *bp.Tensor) *bp.Tensor {
	g.checkTokens("Forward", tokens, 0)
	x := g.embed(tokens, 0)
	for _, b := range g.Blocks.mods {
		x = b.(*TransformerBlock).Forward(x)
	}
	return g.Head.Forward(g.LNF.Forward(x))
}

func (g *GPT) checkTokens(op string, tokens *bp.Tensor, past int) {
	if tokens.DType() != bp.Int64 || tokens.Dim() != 2 || tokens.Size(1) == 0 {
		panic(fmt.Sprintf("nn: GPT.%s: tokens are %v of shape %v, want int64 [B, T]", op, tokens.DType(), tokens.Shape()))
	}
	if t := tokens.Size(1); past+t > g.Config.Context {
		panic(fmt.Sprintf("nn: GPT.%s: %d cached and %d new positions exceed the context of %d", op, past, t, g.Config.Context))
	}
}

// embed returns token plus position embeddings [B, T, Embd] for tokens at
// positions past, past+1, ...
func (g *GPT) embed(tokens *bp.Tensor, past int) *bp.Tensor {
	t := tokens.Size(1)
	pos := bp.Int64.Arange(float64(past), float64(past+t), 1)
	if tokens.IsNoGrad() {
		pos = pos.NoGrad()
	}
	return g.Tok.Forward(tokens).Add(g.Pos.Forward(pos))
}

// GPTCache holds one KVCache per block, for one batch of sequences.
type GPTCache struct {
	layers []*KVCache
}

// NewCache returns an empty cache for batch sequences of up to Context
// positions, in the model's dtype.
func (g *GPT) NewCache(batch int) *GPTCache {
	c := &GPTCache{}
	for _, b := range g.Blocks.mods {
		c.layers = append(c.layers, b.(*TransformerBlock).Attn.NewKVCache(batch, g.Config.Context, g.Tok.Weight.DType()))
	}
	return c
}

// Len is the number of positions the cache holds.
func (c *GPTCache) Len() int { return c.layers[0].Len() }

// Reset empties the cache.
func (c *GPTCache) Reset() {
	for _, l := range c.layers {
		l.Reset()
	}
}

// ForwardStep maps the tokens (Int64 [B, T]) that follow the cached
// positions to their logits [B, T, Vocab], and adds them to the cache: the
// logits equal those of Forward over the whole sequence so far. Cached plus
// new positions must fit the context; when a sequence reaches it, Reset
// the cache and feed its last positions again (Generate does). Mark tokens
// NoGrad to record no graph; the cache carries no gradient either way.
func (g *GPT) ForwardStep(tokens *bp.Tensor, cache *GPTCache) *bp.Tensor {
	if cache == nil || len(cache.layers) != g.Blocks.Len() {
		panic("nn: GPT.ForwardStep: the cache was not made by this model's NewCache")
	}
	past := cache.Len()
	g.checkTokens("ForwardStep", tokens, past)
	x := g.embed(tokens, past)
	for i, b := range g.Blocks.mods {
		x = b.(*TransformerBlock).ForwardStep(x, cache.layers[i])
	}
	return g.Head.Forward(g.LNF.Forward(x))
}

// Generate extends prompt (at least one token) by n tokens, one sequence,
// without recording a graph, and returns the n new tokens. next picks each
// token from the logits [Vocab] of the last position (argmax, or sampling
// with a temperature and top-k: the caller decides). See Tokens.
func (g *GPT) Generate(prompt []int64, n int, next func(logits *bp.Tensor) int64) []int64 {
	return take(g.Tokens(prompt, next), n)
}

// Tokens is Generate without an end: the new tokens one at a time, for as
// long as the caller ranges over them, in memory that does not grow with
// their number (a program can stream text of any length). The model sees
// at most the last Context tokens: when the cache is full it is refilled
// with the last three quarters of the context, so a token costs one
// position most of the time.
func (g *GPT) Tokens(prompt []int64, next func(logits *bp.Tensor) int64) iter.Seq[int64] {
	if len(prompt) == 0 {
		panic("nn: GPT.Tokens: empty prompt")
	}
	ctx := g.Config.Context
	keep := max(1, ctx*3/4)
	return func(yield func(int64) bool) {
		// The last ctx tokens, with room to append before sliding down.
		seq := make([]int64, 0, 2*ctx)
		if len(prompt) > ctx {
			prompt = prompt[len(prompt)-ctx:]
		}
		seq = append(seq, prompt...)
		cache := g.NewCache(1)
		feed := func(toks []int64) *bp.Tensor {
			logits := g.ForwardStep(bp.FromInt64s(toks, 1, len(toks)).NoGrad(), cache)
			return logits.Select(1, len(toks)-1).Select(0, 0)
		}
		logits := feed(seq)
		for {
			tok := next(logits)
			if tok < 0 || tok >= int64(g.Config.Vocab) {
				panic(fmt.Sprintf("nn: GPT.Tokens: next returned token %d, want [0, %d)", tok, g.Config.Vocab))
			}
			if !yield(tok) {
				return
			}
			if len(seq) == cap(seq) {
				seq = append(seq[:0], seq[len(seq)-ctx:]...)
			}
			seq = append(seq, tok)
			if cache.Len() == ctx {
				cache.Reset()
				logits = feed(seq[len(seq)-keep:])
			} else {
				logits = feed(seq[len(seq)-1:])
			}
		}
	}
}

// take collects the first n tokens of seq.
func take(seq iter.Seq[int64], n int) []int64 {
	out := make([]int64, 0, min(n, 1<<16))
	if n <= 0 {
		return out
	}
	for tok := range seq {
		out = append(out, tok)
		if len(out) == n {
			break
		}
	}
	return out
}

// LSTMLMConfig sizes an LSTMLM.
type LSTMLMConfig struct {
	Vocab  int `json:"vocab"`  // distinct token ids
	Embd   int `json:"embd"`   // width of the token embedding
	Hidden int `json:"hidden"` // LSTM hidden size
	Layers int `json:"layers"` // LSTM layers
}

// NumParams is the number of weights the model of c has, counted before
// it is built (a float64: an absurd config overflows an int).
func (c LSTMLMConfig) NumParams() float64 {
	v, e, h, l := float64(c.Vocab), float64(c.Embd), float64(c.Hidden), float64(c.Layers)
	if l < 1 {
		return v*e + h*v + v
	}
	// Four gates per layer: input and hidden weights, two biases.
	first := 4*h*e + 4*h*h + 8*h
	rest := (l - 1) * (4*h*h + 4*h*h + 8*h)
	return v*e + first + rest + h*v + v
}

// Validate reports a config that cannot build a model.
func (c LSTMLMConfig) Validate() error {
	if c.Vocab <= 0 || c.Embd <= 0 || c.Hidden <= 0 || c.Layers <= 0 {
		return fmt.Errorf("nn: LSTM LM config: vocab %d, embd %d, hidden %d, layers %d must all be positive", c.Vocab, c.Embd, c.Hidden, c.Layers)
	}
	return nil
}

// LSTMLM is a character-level recurrent language model: an embedding, a
// batch-first LSTM and a linear head, with torch's default initializations.
// Its state dict keys are tok.weight, lstm.weight_ih_l0 ..., head.weight,
// head.bias. Its sequences have no length limit.
type LSTMLM struct {
	Base
	Config LSTMLMConfig
	Tok    *Embedding
	LSTM   *LSTM
	Head   *Linear
}

// NewLSTMLM builds an LSTMLM.
func NewLSTMLM(cfg LSTMLMConfig, rng *bp.RNG) (*LSTMLM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("nn: NewLSTMLM: nil random generator")
	}
	m := &LSTMLM{
		Config: cfg,
		Tok:    NewEmbedding(cfg.Vocab, cfg.Embd, rng),
		LSTM:   NewLSTM(cfg.Embd, cfg.Hidden, cfg.Layers, true, rng),
		Head:   NewLinear(cfg.Hidden, cfg.Vocab, rng),
	}
	m.AddChild("tok", m.Tok)
	m.AddChild("lstm", m.LSTM)
	m.AddChild("head", m.Head)
	return m, nil
}

// Forward maps tokens (Int64 [B, T]) to logits [B, T, Vocab], starting
// from a zero state.
func (m *LSTMLM) Forward(tokens *bp.Tensor) *bp.Tensor {
	return m.ForwardStep(tokens, &LSTMState{})
}

// LSTMState is the recurrent state of an LSTMLM between calls of
// ForwardStep: H and C are [Layers, B, Hidden], nil at the start.
type LSTMState struct{ H, C *bp.Tensor }

// ForwardStep maps the tokens (Int64 [B, T]) that follow the state's to
// their logits [B, T, Vocab] and advances the state. Feeding a sequence in
// pieces gives the logits of Forward over the whole. The new state is
// detached (truncated backpropagation: gradients do not flow into earlier
// calls).
func (m *LSTMLM) ForwardStep(tokens *bp.Tensor, state *LSTMState) *bp.Tensor {
	if tokens.DType() != bp.Int64 || tokens.Dim() != 2 || tokens.Size(1) == 0 {
		panic(fmt.Sprintf("nn: LSTMLM: tokens are %v of shape %v, want int64 [B, T]", tokens.DType(), tokens.Shape()))
	}
	// Each step's tokens are embedded on their own, so no step is a slice
	// of one [B, T, Embd] tensor (see recurrent.run).
	xs := make([]*bp.Tensor, tokens.Size(1))
	for t := range xs {
		xs[t] = m.Tok.Forward(tokens.Select(1, t))
	}
	ys, h, c := m.LSTM.steps(xs, state.H, state.C, false)
	state.H, state.C = h.Detach(), c.Detach()
	return m.Head.Forward(bp.Stack(1, ys...))
}

// Generate extends prompt (at least one token) by n tokens, without
// recording a graph; next picks each token from the last position's logits
// [Vocab]. See Tokens.
func (m *LSTMLM) Generate(prompt []int64, n int, next func(logits *bp.Tensor) int64) []int64 {
	return take(m.Tokens(prompt, next), n)
}

// Tokens is Generate without an end: the new tokens one at a time, for as
// long as the caller ranges over them. Each costs one LSTM step, and the
// memory stays the same however many there are.
func (m *LSTMLM) Tokens(prompt []int64, next func(logits *bp.Tensor) int64) iter.Seq[int64] {
	if len(prompt) == 0 {
		panic("nn: LSTMLM.Tokens: empty prompt")
	}
	return func(yield func(int64) bool) {
		st := &LSTMState{}
		logits := m.ForwardStep(bp.FromInt64s(prompt, 1, len(prompt)).NoGrad(), st)
		for {
			tok := next(logits.Select(1, logits.Size(1)-1).Select(0, 0))
			if tok < 0 || tok >= int64(m.Config.Vocab) {
				panic(fmt.Sprintf("nn: LSTMLM.Tokens: next returned token %d, want [0, %d)", tok, m.Config.Vocab))
			}
			if !yield(tok) {
				return
			}
			logits = m.ForwardStep(bp.FromInt64s([]int64{tok}, 1, 1).NoGrad(), st)
		}
	}
}
