package nn

import (
	"fmt"

	bp "github.com/gobackprop/backprop"
)

// TransformerBlock is the pre-LayerNorm block of GPT-2:
//
//	x = x + attn(ln1(x))
//	x = x + out(GELU(fc(ln2(x))))
//
// with causal (or, with Causal off, full) multi-head self-attention and an
// MLP of 4·E hidden units. Inputs are batch first, [N, L, E]. Its state
// dict keys are ln1.*, attn.in_proj_weight, attn.in_proj_bias,
// attn.out_proj.*, ln2.*, fc.*, out.*. GELU is the exact (erf) form, as
// torch's default, or with TanhGELU the tanh approximation GPT-2 used
// (torch's approximate="tanh").
type TransformerBlock struct {
	Base
	LN1      *LayerNorm
	Attn     *MultiheadAttention
	LN2      *LayerNorm
	FC, Out  *Linear
	Causal   bool
	TanhGELU bool
}

// NewTransformerBlock returns a block of width embd with heads attention
// heads, initialized as torch initializes its layers.
func NewTransformerBlock(embd, heads int, causal bool, rng *bp.RNG) *TransformerBlock {
	if embd <= 0 || heads <= 0 || embd%heads != 0 {
		panic(fmt.Sprintf("nn: NewTransformerBlock: width %d is not a positive multiple of %d heads", embd, heads))
	}
	mustRNG("NewTransformerBlock", rng)
	b := &TransformerBlock{
		LN1:    NewLayerNorm(embd),
		Attn:   NewMultiheadAttention(embd, heads, true, rng),
		LN2:    NewLayerNorm(embd),
		FC:     NewLinear(embd, 4*embd, rng),
		Out:    NewLinear(4*embd, embd, rng),
		Causal: causal,
	}
	b.AddChild("ln1", b.LN1)
	b.AddChild("attn", b.Attn)
	b.AddChild("ln2", b.LN2)
	b.AddChild("fc", b.FC)
	b.AddChild("out", b.Out)
	return b
}

// Forward applies the block to x [N, L, E].
func (b *TransformerBlock) Forward(x *bp.Tensor) *bp.Tensor {
	h := b.LN1.Forward(x)
	x = x.Add(b.Attn.Attend(h, h, h, AttnOptions{Causal: b.Causal}))
	return x.Add(b.mlp(x))
}

// ForwardStep applies the block to the new positions x [N, T, E] that
// follow those in cache (the block's attention cache; see
// MultiheadAttention.ForwardStep). The block must be causal.
func (b *TransformerBlock) ForwardStep(x *bp.Tensor, cache *KVCache) *bp.Tensor {
	if !b.Causal {
		panic("nn: TransformerBlock.ForwardStep: incremental decoding needs a causal block")
	}
	x = x.Add(b.Attn.ForwardStep(b.LN1.Forward(x), cache))
	return x.Add(b.mlp(x))
}

func (b *TransformerBlock) mlp(x *bp.Tensor) *bp.Tensor {
	h := b.FC.Forward(b.LN2.Forward(x))
	if b.TanhGELU {
		h = h.GELUTanh()
	} else {
		h = h.GELU()
	}
	return b.Out.Forward(h)
}
