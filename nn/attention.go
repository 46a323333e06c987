package nn

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
)

// MultiheadAttention is torch.nn.MultiheadAttention with the same
// parameters under the same names, so a PyTorch state dict loads:
//
//	in_proj_weight   [3E, E]  the query, key and value projections, stacked
//	in_proj_bias     [3E]
//	out_proj.weight  [E, E]
//	out_proj.bias    [E]
//
// Inputs are [L, N, E] (sequence first, torch's default) or, with
// BatchFirst, [N, L, E]. The E features are split into NumHeads heads of
// E/NumHeads; each head attends with scores q·kᵀ/sqrt(E/NumHeads).
// Forward is self-attention without a mask; Attend takes separate query,
// key and value and the masks; ForwardStep decodes incrementally with a
// KVCache. Dropout on the attention weights, add_bias_kv, add_zero_attn and
// separate key/value sizes (kdim, vdim) are not supported.
type MultiheadAttention struct {
	Base
	InProjWeight, InProjBias *bp.Tensor
	OutProj                  *Linear
	EmbedDim, NumHeads       int
	BatchFirst               bool
}

// NewMultiheadAttention returns an attention layer over embedDim features
// in numHeads heads (numHeads must divide embedDim), initialized as torch
// does: in_proj_weight Xavier-uniform, out_proj.weight Linear's default,
// both biases zero.
func NewMultiheadAttention(embedDim, numHeads int, batchFirst bool, rng *bp.RNG) *MultiheadAttention {
	if embedDim <= 0 || numHeads <= 0 || embedDim%numHeads != 0 {
		panic(fmt.Sprintf("nn: NewMultiheadAttention: embed dim %d is not a positive multiple of %d heads", embedDim, numHeads))
	}
	mustRNG("NewMultiheadAttention", rng)
	m := &MultiheadAttention{
		InProjWeight: bp.Zeros(3*embedDim, embedDim),
		InProjBias:   bp.Zeros(3 * embedDim),
		EmbedDim:     embedDim, NumHeads: numHeads, BatchFirst: batchFirst,
	}
	XavierUniform(rng, m.InProjWeight, 1)
	m.OutProj = NewLinear(embedDim, embedDim, rng)
	Constant(m.OutProj.Bias, 0)
	m.AddParam("in_proj_weight", &m.InProjWeight)
	m.AddParam("in_proj_bias", &m.InProjBias)
	m.AddChild("out_proj", m.OutProj)
	return m
}

// AttnOptions are the masks of MultiheadAttention.Attend.
type AttnOptions struct {
	// Causal lets position i attend only to positions j <= i (the mask of
	// torch's is_causal, aligned at the top left when L != S).
	Causal bool
	// AttnMask is [L, S] or [N·NumHeads, L, S], as in torch. A float mask
	// is added to the scores (use -Inf to forbid); an Int64 mask forbids
	// where it is non-zero, as torch's boolean True does.
	AttnMask *bp.Tensor
	// KeyPaddingMask is [N, S]: Int64 non-zero marks keys to ignore
	// (padding), a float mask is added to every query's scores.
	KeyPaddingMask *bp.Tensor
}

// Forward is self-attention of x ([L, N, E], or [N, L, E] with
// BatchFirst) without a mask.
func (m *MultiheadAttention) Forward(x *bp.Tensor) *bp.Tensor {
	return m.Attend(x, x, x, AttnOptions{})
}

// Attend attends from query ([L, N, E]) to key and value ([S, N, E]),
// batch first with BatchFirst, and returns [L, N, E] (or [N, L, E]); that
// is torch's forward with need_weights=False.
func (m *MultiheadAttention) Attend(query, key, value *bp.Tensor, opt AttnOptions) *bp.Tensor {
	q, k, v := m.toBatchFirst("Attend", query), m.toBatchFirst("Attend", key), m.toBatchFirst("Attend", value)
	n, l, s := q.Size(0), q.Size(1), k.Size(1)
	if k.Size(0) != n || v.Size(0) != n || v.Size(1) != s {
		panic(fmt.Sprintf("nn: MultiheadAttention: query %v, key %v and value %v do not agree on batch and length", query.Shape(), key.Shape(), value.Shape()))
	}
	if query == key && key == value {
		// One projection, attended and merged in place (no head copies,
		// one gradient buffer for q, k and v): the same bits as
		// merge(sdpa(projectQKV(q))), which ForwardStep still uses.
		checkDType("MultiheadAttention", q, m.InProjWeight)
		qkv := bp.Linear(q, m.InProjWeight, m.InProjBias)
		bias := m.maskBias(q.DType(), n, l, s, opt)
		y := bp.PackedSelfAttention(qkv, m.NumHeads, bp.AttentionOptions{Mask: bias, Causal: opt.Causal})
		return m.fromBatchFirst(m.OutProj.Forward(y))
	}
	e := m.EmbedDim
	w, b := m.InProjWeight.Split(0, e, e, e), m.InProjBias.Split(0, e, e, e)
	qh := m.heads(bp.Linear(q, w[0], b[0]))
	kh := m.heads(bp.Linear(k, w[1], b[1]))
	vh := m.heads(bp.Linear(v, w[2], b[2]))
	bias := m.maskBias(q.DType(), n, l, s, opt)
	return m.fromBatchFirst(m.merge(sdpa(qh, kh, vh, bias, opt.Causal)))
}

// projectQKV projects x [N, L, E] with in_proj as one matmul and splits
// the result into queries, keys and values [N, H, L, E/H].
func (m *MultiheadAttention) projectQKV(x *bp.Tensor) (q, k, v *bp.Tensor) {
	checkDType("MultiheadAttention", x, m.InProjWeight)
	// [N, L, 3E] viewed as [N, L, 3, H, E/H] and permuted to [3, N, H, L,
	// E/H]: the heads are strided views of the one projection, not copies.
	n, l := x.Size(0), x.Size(1)
	qkv := bp.Linear(x, m.InProjWeight, m.InProjBias).
		Reshape(n, l, 3, m.NumHeads, m.EmbedDim/m.NumHeads).Permute(2, 0, 3, 1, 4)
	return qkv.Select(0, 0), qkv.Select(0, 1), qkv.Select(0, 2)
}

// heads reshapes [N, L, E] into [N, H, L, E/H].
func (m *MultiheadAttention) heads(x *bp.Tensor) *bp.Tensor {
	return x.Reshape(x.Size(0), x.Size(1), m.NumHeads, m.EmbedDim/m.NumHeads).Transpose(1, 2)
}

// merge joins heads [N, H, L, E/H] into [N, L, E] and applies out_proj.
func (m *MultiheadAttention) merge(y *bp.Tensor) *bp.Tensor {
	y = y.Transpose(1, 2).Reshape(y.Size(0), y.Size(2), m.EmbedDim)
	return m.OutProj.Forward(y)
}

func (m *MultiheadAttention) toBatchFirst(op string, x *bp.Tensor) *bp.Tensor {
	if x.Dim() != 3 || x.Size(2) != m.EmbedDim {
		layout := "[L, N, E]"
		if m.BatchFirst {
			layout = "[N, L, E]"
		}
		panic(fmt.Sprintf("nn: MultiheadAttention.%s: input of shape %v, want %s with E = %d", op, x.Shape(), layout, m.EmbedDim))
	}
	checkDType("MultiheadAttention", x, m.InProjWeight)
	if m.BatchFirst {
		return x
	}
	return x.Transpose(0, 1)
}

func (m *MultiheadAttention) fromBatchFirst(y *bp.Tensor) *bp.Tensor {
	if m.BatchFirst {
		return y
	}
	return y.Transpose(0, 1)
}

// maskBias turns the masks into one additive bias broadcastable to
// [N, H, L, S], or nil when there is none.
func (m *MultiheadAttention) maskBias(dt bp.DType, n, l, s int, opt AttnOptions) *bp.Tensor {
	var bias *bp.Tensor
	if am := opt.AttnMask; am != nil {
		switch {
		case am.Dim() == 2 && am.Size(0) == l && am.Size(1) == s:
			bias = additive(am, dt)
		case am.Dim() == 3 && am.Size(0) == n*m.NumHeads && am.Size(1) == l && am.Size(2) == s:
			bias = additive(am, dt).Reshape(n, m.NumHeads, l, s)
		default:
			panic(fmt.Sprintf("nn: MultiheadAttention: attention mask of shape %v, want [%d %d] or [%d %d %d]", am.Shape(), l, s, n*m.NumHeads, l, s))
		}
	}
	if kp := opt.KeyPaddingMask; kp != nil {
		if kp.Dim() != 2 || kp.Size(0) != n || kp.Size(1) != s {
			panic(fmt.Sprintf("nn: MultiheadAttention: key padding mask of shape %v, want [%d %d]", kp.Shape(), n, s))
		}
		kb := additive(kp, dt).Reshape(n, 1, 1, s)
		if bias == nil {
			bias = kb
		} else {
			bias = bias.Add(kb)
		}
	}
	return bias
}

// additive converts a mask to scores to add: an Int64 mask becomes -Inf
// where it is non-zero and 0 elsewhere; a float mask is used as it is.
func additive(mask *bp.Tensor, dt bp.DType) *bp.Tensor {
	if mask.DType().IsFloat() {
		return mask.To(dt)
	}
	ids := mask.Contiguous().I64()
	out := make([]float64, len(ids))
	for i, v := range ids {
		if v != 0 {
			out[i] = math.Inf(-1)
		}
	}
	return bp.FromFloat64s(out, mask.Shape()...).To(dt)
}

// causalBias is the additive [l, s] mask that lets query i see keys 0 ..
// i+past: past = 0 is torch's top-left causal mask, past = s-l lets new
// positions that follow past cached ones see the cache and themselves.
func causalBias(dt bp.DType, l, s, past int) *bp.Tensor {
	out := make([]float64, l*s)
	for i := range l {
		for j := i + past + 1; j < s; j++ {
			out[i*s+j] = math.Inf(-1)
		}
	}
	return bp.FromFloat64s(out, l, s).To(dt)
}

// sdpa is scaled dot-product attention, softmax(q·kᵀ/sqrt(d) + bias)·v, for
// q [N, H, L, d] and k, v [N, H, S, d]; bias (or nil) is a float mask that
// broadcasts to [N, H, L, S]; causal adds the top-left causal mask. It is
// the one place the layers compute attention: the root package's fused
// ScaledDotProductAttention, which never keeps the [L, S] probabilities.
func sdpa(q, k, v, bias *bp.Tensor, causal bool) *bp.Tensor {
	return bp.ScaledDotProductAttention(q, k, v, bp.AttentionOptions{Mask: bias, Causal: causal})
}

// sdpaComposite is sdpa written with matmul and softmax, the definition
// the tests hold the fused op to.
func sdpaComposite(q, k, v, bias *bp.Tensor, causal bool) *bp.Tensor {
	scores := q.MatMul(k.Transpose(-2, -1)).MulScalar(1 / math.Sqrt(float64(q.Size(-1))))
	if causal {
		scores = scores.Add(causalBias(q.DType(), q.Size(-2), k.Size(-2), 0))
	}
	if bias != nil {
		scores = scores.Add(bias)
	}
	return scores.Softmax(-1).MatMul(v)
}

// KVCache holds the keys and values that one MultiheadAttention has seen,
// so that incremental decoding (ForwardStep) computes only the new
// positions: each new token costs one position's projections and one row
// of attention over the cache, not the whole context again. It is for
// inference: the cached keys and values carry no gradient.
type KVCache struct {
	k, v *bp.Tensor // [N, H, Cap, E/H], filled up to n
	n    int
}

// NewKVCache returns an empty cache for m, a batch of batch sequences, and
// at most capacity positions, in dtype dt (the model's).
func (m *MultiheadAttention) NewKVCache(batch, capacity int, dt bp.DType) *KVCache {
	if batch <= 0 || capacity <= 0 || !dt.IsFloat() {
		panic(fmt.Sprintf("nn: MultiheadAttention.NewKVCache: batch %d, capacity %d, dtype %v", batch, capacity, dt))
	}
	hd := m.EmbedDim / m.NumHeads
	return &KVCache{k: dt.Zeros(batch, m.NumHeads, capacity, hd), v: dt.Zeros(batch, m.NumHeads, capacity, hd)}
}

// Len is the number of positions the cache holds.
func (c *KVCache) Len() int { return c.n }

// Cap is the most positions the cache can hold.
func (c *KVCache) Cap() int { return c.k.Size(2) }

// Reset empties the cache (keeping its storage).
func (c *KVCache) Reset() { c.n = 0 }

// append writes k, v [N, H, T, d] after the cached positions and returns
// views of everything cached so far.
func (c *KVCache) append(k, v *bp.Tensor) (ks, vs *bp.Tensor) {
	n, h, t, d := k.Size(0), k.Size(1), k.Size(2), k.Size(3)
	if n != c.k.Size(0) || k.DType() != c.k.DType() {
		panic(fmt.Sprintf("nn: KVCache: %v input of batch %d for a %v cache of batch %d", k.DType(), n, c.k.DType(), c.k.Size(0)))
	}
	if c.n+t > c.Cap() {
		panic(fmt.Sprintf("nn: KVCache: %d cached positions and %d new ones exceed the capacity %d (Reset the cache and feed the last positions again)", c.n, t, c.Cap()))
	}
	for _, p := range [2][2]*bp.Tensor{{c.k, k}, {c.v, v}} {
		dst, src := p[0], p[1].Detach().Contiguous()
		if dst.DType() == bp.Float32 {
			copyRows(dst.F32(), src.F32(), n*h, t, d, c.Cap(), c.n)
		} else {
			copyRows(dst.F64(), src.F64(), n*h, t, d, c.Cap(), c.n)
		}
	}
	c.n += t
	return c.k.Narrow(2, 0, c.n), c.v.Narrow(2, 0, c.n)
}

// copyRows copies rows blocks of t·d values of src into dst, whose blocks
// hold capacity·d values, starting at row at of each block.
func copyRows[T float32 | float64](dst, src []T, blocks, t, d, capacity, at int) {
	for b := range blocks {
		copy(dst[(b*capacity+at)*d:(b*capacity+at+t)*d], src[b*t*d:(b+1)*t*d])
	}
}

// ForwardStep is causal self-attention of the new positions x ([N, T, E],
// or [T, N, E] without BatchFirst) that follow the positions already in
// cache: it appends their keys and values to cache and attends from each
// new position to every cached position up to its own. Feeding a sequence
// in pieces gives the same outputs as Attend with Causal over the whole
// sequence. The cache belongs to one sequence batch and one goroutine.
func (m *MultiheadAttention) ForwardStep(x *bp.Tensor, cache *KVCache) *bp.Tensor {
	xb := m.toBatchFirst("ForwardStep", x)
	q, k, v := m.projectQKV(xb)
	past := cache.Len()
	ks, vs := cache.append(k, v)
	var bias *bp.Tensor
	if t := q.Size(2); t > 1 {
		bias = causalBias(q.DType(), t, past+t, past)
	}
	return m.fromBatchFirst(m.merge(sdpa(q, ks, vs, bias, false)))
}
