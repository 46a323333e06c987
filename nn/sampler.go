package nn

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
)

// Sampler picks a next token from a language model's logits [Vocab], the
// way nanoGPT samples: the logits are divided by Temperature, all but the
// TopK largest are dropped (ties with the k-th are kept), and a token is
// drawn from the softmax of the rest with RNG. Temperature 0 picks the
// largest logit (greedy decoding, no randomness). Its Next method is the
// next function of GPT.Generate and LSTMLM.Generate; the same seed gives the
// same tokens. A Sampler is not safe for concurrent use (its RNG is not).
type Sampler struct {
	Temperature float64 // 1 samples from the model's distribution; smaller is more conservative
	TopK        int     // keep the k most likely tokens; 0 keeps them all
	RNG         *bp.RNG // the draws; may be nil when Temperature is 0
}

// Next returns the token drawn from logits [Vocab].
func (s Sampler) Next(logits *bp.Tensor) int64 {
	if logits.Dim() != 1 || logits.Numel() == 0 || !logits.DType().IsFloat() {
		panic(fmt.Sprintf("nn: Sampler.Next: logits are %v of shape %v, want floats [Vocab]", logits.DType(), logits.Shape()))
	}
	if !(s.Temperature >= 0) || math.IsInf(s.Temperature, 0) || s.TopK < 0 {
		panic(fmt.Sprintf("nn: Sampler: temperature %v and top-k %d, want a finite temperature >= 0 and top-k >= 0", s.Temperature, s.TopK))
	}
	logits = logits.Detach()
	if s.Temperature == 0 {
		return int64(logits.ArgMax(0).Item())
	}
	mustRNG("Sampler", s.RNG)
	l := logits.To(bp.Float64).DivScalar(s.Temperature)
	if k := s.TopK; k > 0 && k < l.Numel() {
		top, _ := l.TopK(k, 0, true, true)
		cut := top.At(k - 1)
		v := l.Contiguous().Float64s()
		for i := range v {
			if v[i] < cut {
				v[i] = math.Inf(-1)
			}
		}
		l = bp.FromFloat64s(v, len(v))
	}
	return int64(bp.Multinomial(l.Softmax(0), 1, true, s.RNG).At(0))
}
