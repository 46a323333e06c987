package data

import (
	"fmt"
	"iter"
	"math/bits"

	"github.com/gobackprop/backprop"
)

// Loader cuts a Dataset into batches, in a shuffled order per epoch:
//
//	ld := &data.Loader{Dataset: train, BatchSize: 128, Shuffle: true, Seed: 1}
//	for epoch := range epochs {
//		for b := range ld.Epoch(epoch) {
//			step(b.X, b.Y) // b.Index is the batch's number within the epoch
//		}
//	}
//
// Epoch numbers are the caller's to choose (from 0 or from 1); the same
// number always gives the same order.
//
// # Order
//
// Without Shuffle, every epoch visits the examples in order 0..N-1. With
// Shuffle, the order of epoch e depends on Seed, e and the dataset's length
// and on nothing else (not on earlier epochs, the batch size or the Go
// version): it is a Fisher–Yates shuffle of 0..N-1 (for i from N-1 down to
// 1, swap i with a uniform j in [0, i]) driven by backprop.NewRNG(s).Uint64,
// where s is the (e+1)-th output of a SplitMix64 generator started at Seed,
// that is mix(Seed + (e+1)·0x9e3779b97f4a7c15). The uniform j is drawn by
// Lemire's multiply-and-reject method. A run resumed from a checkpoint at
// epoch e, batch k therefore sees exactly the batches it would have seen:
// use EpochFrom(e, k).
//
// # Buffers
//
// Each pass over an epoch allocates its batch buffers once, when it starts,
// and refills them for every batch. A Batch's X and Y are valid until the
// loop asks for the next batch; Clone them (or copy their values) to keep
// them longer. A training step's loop therefore allocates nothing in the
// loader.
//
// The Loader's fields are read when Epoch or EpochFrom is called; changing
// them later affects only later calls. Separate passes (even concurrent ones,
// over a TensorDataset) have separate buffers.
type Loader struct {
	Dataset   Dataset
	BatchSize int
	Shuffle   bool
	Seed      uint64
	// DropLast drops the final batch of an epoch when it would be smaller
	// than BatchSize.
	DropLast bool
}

// Batch is one batch of examples.
type Batch struct {
	// Index is the batch's position in its epoch, from 0.
	Index int
	// X is float32 of shape [B, example shape...] (Int64 for a
	// TokenDataset), Y the int64 labels of shape [B] (or targets of shape
	// [B, target shape...] for a TargetShaper); B is BatchSize except
	// perhaps for the last batch.
	X, Y *backprop.Tensor
	// Indices are the dataset indices of the examples, in batch order. The
	// slice is shared with the epoch's order: do not modify it.
	Indices []int
}

// Size is the number of examples in the batch.
func (b Batch) Size() int { return len(b.Indices) }

func (l *Loader) check(op string) {
	if l.Dataset == nil {
		panic(fmt.Sprintf("data: Loader.%s: no Dataset", op))
	}
	if l.BatchSize <= 0 {
		panic(fmt.Sprintf("data: Loader.%s: BatchSize %d must be positive", op, l.BatchSize))
	}
}

// NumBatches is the number of batches in an epoch.
func (l *Loader) NumBatches() int {
	l.check("NumBatches")
	return numBatches(l.Dataset.Len(), l.BatchSize, l.DropLast)
}

func numBatches(n, bs int, dropLast bool) int {
	if dropLast {
		return n / bs
	}
	// Not (n+bs-1)/bs, which overflows for a batch size near MaxInt.
	nb := n / bs
	if n%bs != 0 {
		nb++
	}
	return nb
}

// Order returns the dataset indices in the order epoch visits them (the
// DropLast tail included). See the Loader's documentation for how it is
// drawn.
func (l *Loader) Order(epoch int) []int {
	l.check("Order")
	return order(l.Dataset.Len(), l.Shuffle, l.Seed, epoch)
}

// Epoch returns an iterator over the batches of the given epoch.
func (l *Loader) Epoch(epoch int) iter.Seq[Batch] {
	l.check("Epoch")
	return l.EpochFrom(epoch, 0)
}

// EpochFrom is Epoch starting at batch start (0 <= start <= NumBatches()),
// for resuming a run interrupted in the middle of an epoch. The batches are
// the same as Epoch's from that index on.
func (l *Loader) EpochFrom(epoch, start int) iter.Seq[Batch] {
	l.check("EpochFrom")
	ds, bs, shuffle, seed := l.Dataset, l.BatchSize, l.Shuffle, l.Seed
	n := ds.Len()
	nb := numBatches(n, bs, l.DropLast)
	if start < 0 || start > nb {
		panic(fmt.Sprintf("data: Loader.EpochFrom: start batch %d outside [0, %d]", start, nb))
	}
	shape := ds.ExampleShape()
	per := numel(shape)
	tshape := targetShape(ds)
	tper := numel(tshape)
	tokens, isTokens := ds.(TokenDataset)
	return func(yield func(Batch) bool) {
		if start >= nb {
			return
		}
		ord := order(n, shuffle, seed, epoch)
		bcap := min(bs, n)
		var xs []float32
		var xi []int64
		if isTokens {
			xi = make([]int64, bcap*per)
		} else {
			xs = make([]float32, bcap*per)
		}
		ys := make([]int64, bcap*tper)
		dims := append([]int{bcap}, shape...)
		tdims := append([]int{bcap}, tshape...)
		newX := func(m int) *backprop.Tensor {
			dims[0] = m
			if isTokens {
				return backprop.FromInt64s(xi[:m*per], dims...)
			}
			return backprop.FromFloat32s(xs[:m*per], dims...)
		}
		newY := func(m int) *backprop.Tensor {
			tdims[0] = m
			return backprop.FromInt64s(ys[:m*tper], tdims...)
		}
		full := [2]*backprop.Tensor{newX(bcap), newY(bcap)}
		for b := start; b < nb; b++ {
			lo := b * bs
			hi := lo + min(bs, n-lo) // lo+bs could overflow
			m := hi - lo
			x, y := full[0], full[1]
			if m != bcap { // only the last batch of an epoch
				x, y = newX(m), newY(m)
			}
			idx := ord[lo:hi]
			if isTokens {
				tokens.FillTokens(idx, x.I64(), y.I64())
			} else {
				ds.Fill(idx, x.F32(), y.I64())
			}
			if !yield(Batch{Index: b, X: x, Y: y, Indices: idx}) {
				return
			}
		}
	}
}

// order is the visiting order of an epoch; see Loader.
func order(n int, shuffle bool, seed uint64, epoch int) []int {
	ord := make([]int, n)
	for i := range ord {
		ord[i] = i
	}
	if !shuffle {
		return ord
	}
	rng := backprop.NewRNG(epochSeed(seed, epoch))
	for i := n - 1; i > 0; i-- {
		j := int(uniform(rng, uint64(i)+1))
		ord[i], ord[j] = ord[j], ord[i]
	}
	return ord
}

const golden = 0x9e3779b97f4a7c15

// epochSeed is the (epoch+1)-th output of SplitMix64 started at seed: a
// fresh, well-mixed seed per epoch, so that neighbouring seeds or epochs
// give unrelated orders (seed+epoch alone would make seed 1 epoch 0 repeat
// seed 0 epoch 1).
func epochSeed(seed uint64, epoch int) uint64 {
	z := seed + (uint64(epoch)+1)*golden
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// uniform returns a uniform value in [0, n) (n > 0) from rng's 64-bit
// outputs by Lemire's method, written out here rather than taken from
// math/rand so that shuffles stay the same across Go releases.
func uniform(rng *backprop.RNG, n uint64) uint64 {
	hi, lo := bits.Mul64(rng.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(rng.Uint64(), n)
		}
	}
	return hi
}
