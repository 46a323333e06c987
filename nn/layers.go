package nn

import (
	"fmt"
	"strconv"

	bp "github.com/gobackprop/backprop"
)

// Sequential runs its layers one after another, as torch.nn.Sequential
// does. Its children are named by position, so the state dict of
// Sequential(conv, relu, linear) has "0.weight", "0.bias", "2.weight", ...
type Sequential struct {
	Base
	layers []Module
}

// NewSequential returns a Sequential of the given layers.
func NewSequential(layers ...Module) *Sequential {
	s := &Sequential{}
	for _, l := range layers {
		s.Append(l)
	}
	return s
}

// Append adds a layer at the end, named by its position.
func (s *Sequential) Append(l Module) *Sequential {
	s.AddChild(strconv.Itoa(len(s.layers)), l)
	s.layers = append(s.layers, l)
	return s
}

// Layers returns the layers in order (a copy of the list; the layers are
// shared).
func (s *Sequential) Layers() []Module { return append([]Module(nil), s.layers...) }

// Forward feeds x through every layer in turn.
func (s *Sequential) Forward(x *bp.Tensor) *bp.Tensor {
	for _, l := range s.layers {
		x = l.Forward(x)
	}
	return x
}

// Flatten merges axes Start through End (inclusive; negative counts from
// the end) into one, as torch.nn.Flatten does. NewFlatten gives torch's
// default, every axis after the batch axis.
type Flatten struct {
	Base
	Start, End int
}

// NewFlatten returns a Flatten of axes 1 through -1: [N, C, H, W] becomes
// [N, C·H·W].
func NewFlatten() *Flatten { return &Flatten{Start: 1, End: -1} }

// Forward flattens x.
func (l *Flatten) Forward(x *bp.Tensor) *bp.Tensor { return x.Flatten(l.Start, l.End) }

// Dropout zeroes each element with probability P during training and
// scales the others by 1/(1-P) (inverted dropout), so that evaluation, where
// it is the identity, needs no rescaling. The mask comes from RNG, which
// the caller provides and seeds; an RNG is not safe for concurrent use, so
// neither is a Dropout in training mode.
type Dropout struct {
	Base
	P   float64
	RNG *bp.RNG
}

// NewDropout returns a Dropout with drop probability p in [0, 1] drawing
// its masks from rng.
func NewDropout(p float64, rng *bp.RNG) *Dropout {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("nn: NewDropout: probability %v is not in [0, 1]", p))
	}
	return &Dropout{P: p, RNG: rng}
}

// Forward applies dropout in training mode and is the identity otherwise.
func (l *Dropout) Forward(x *bp.Tensor) *bp.Tensor {
	if !l.Training() || l.P == 0 {
		return x
	}
	if l.P >= 1 {
		return x.MulScalar(0)
	}
	mustRNG("Dropout", l.RNG)
	return x.Mul(dropoutMask(l.RNG, x.DType(), l.P, x.Shape()))
}

// dropoutMask draws a tensor of 0 (probability p) and 1/(1-p). It is a
// constant of the graph: the gradient of x·mask is mask·g.
func dropoutMask(rng *bp.RNG, dt bp.DType, p float64, shape []int) *bp.Tensor {
	mask := dt.Zeros(shape...)
	scale := 1 / (1 - p)
	if dt == bp.Float32 {
		m := mask.F32()
		for i := range m {
			if rng.Float64() >= p {
				m[i] = float32(scale)
			}
		}
		return mask
	}
	m := mask.F64()
	for i := range m {
		if rng.Float64() >= p {
			m[i] = scale
		}
	}
	return mask
}

// Embedding maps integer ids to rows of Weight [Num, Dim], as
// torch.nn.Embedding does: Forward(ids) for Int64 ids of any shape returns
// [ids' shape..., Dim]. Only the rows that were looked up get a gradient.
type Embedding struct {
	Base
	Weight   *bp.Tensor
	Num, Dim int
}

// NewEmbedding returns an embedding of num ids into dim dimensions, with
// weights drawn from N(0, 1) as torch does.
func NewEmbedding(num, dim int, rng *bp.RNG) *Embedding {
	if num <= 0 || dim <= 0 {
		panic(fmt.Sprintf("nn: NewEmbedding: %d ids of %d dimensions", num, dim))
	}
	mustRNG("NewEmbedding", rng)
	l := &Embedding{Weight: rng.Normal(0, 1, num, dim), Num: num, Dim: dim}
	l.AddParam("weight", &l.Weight)
	return l
}

// Forward looks up the rows of ids.
func (l *Embedding) Forward(ids *bp.Tensor) *bp.Tensor {
	if ids.DType() != bp.Int64 {
		panic(fmt.Sprintf("nn: Embedding: ids are %v of shape %v, want int64", ids.DType(), ids.Shape()))
	}
	w := l.Weight
	if ids.IsNoGrad() {
		// The ids are not an input of IndexSelect (only saved by it), so
		// their no-grad mark would not reach the result on its own.
		w = w.NoGrad()
	}
	shape := append(ids.Shape(), l.Weight.Size(1))
	return w.IndexSelect(0, ids.Reshape(-1)).Reshape(shape...)
}
