package data

import (
	"fmt"
	"slices"

	"github.com/gobackprop/backprop"
)

// Dataset is a fixed collection of labelled examples, each example a
// float32 array of the same shape. Loaders read it by filling whole batches,
// so that a training step copies examples straight into reused buffers
// instead of building one tensor per example.
//
// Implementations must allow Fill to be called from one goroutine at a time;
// TensorDataset also allows concurrent calls, since it only reads.
type Dataset interface {
	// Len is the number of examples.
	Len() int
	// ExampleShape is the shape of one example, such as [1 28 28] (channels,
	// height, width). The caller may not modify it.
	ExampleShape() []int
	// Fill copies examples idx[0], idx[1], ... into x, one after the other
	// (len(idx)·numel(ExampleShape()) values), and their labels into y
	// (len(idx) values, or len(idx)·numel(TargetShape()) for a
	// TargetShaper). An index outside [0, Len()) panics. A TokenDataset's
	// examples are integers, which loaders fill through FillTokens.
	Fill(idx []int, x []float32, y []int64)
}

// Gather returns examples idx of ds as new tensors: x is float32 of shape
// [len(idx), ExampleShape()...] (Int64 for a TokenDataset) and y is int64
// of shape [len(idx)] (or [len(idx), TargetShape()...]).
func Gather(ds Dataset, idx []int) (x, y *backprop.Tensor) {
	shape := append([]int{len(idx)}, ds.ExampleShape()...)
	tshape := append([]int{len(idx)}, targetShape(ds)...)
	ys := make([]int64, numel(tshape))
	if td, ok := ds.(TokenDataset); ok {
		xs := make([]int64, numel(shape))
		td.FillTokens(idx, xs, ys)
		return backprop.FromInt64s(xs, shape...), backprop.FromInt64s(ys, tshape...)
	}
	xs := make([]float32, numel(shape))
	ds.Fill(idx, xs, ys)
	return backprop.FromFloat32s(xs, shape...), backprop.FromInt64s(ys, tshape...)
}

// TensorDataset holds a whole dataset in memory: the examples as one
// row-major []float32 and the class labels as []int64. The MNIST and
// CIFAR-10 readers return one.
//
// It never changes after it is made, except through Normalize, so any
// number of goroutines may read it at once (Normalize excepted).
type TensorDataset struct {
	x       []float32
	y       []int64
	shape   []int // of one example
	per     int   // numel(shape)
	classes int
}

// NewTensorDataset makes a dataset of len(y) examples of the given shape
// from x, which holds them one after another, and labels y, each in
// [0, classes). It keeps x and y (they are not copied). Inconsistent sizes
// or labels out of range panic.
func NewTensorDataset(x []float32, shape []int, y []int64, classes int) *TensorDataset {
	per := 1
	for _, s := range shape {
		if s <= 0 {
			panic(fmt.Sprintf("data: NewTensorDataset: example shape %v has a non-positive size", shape))
		}
		per *= s
	}
	if len(x) != len(y)*per {
		panic(fmt.Sprintf("data: NewTensorDataset: %d values are not %d examples of shape %v (%d values each)", len(x), len(y), shape, per))
	}
	if classes < 1 {
		panic(fmt.Sprintf("data: NewTensorDataset: %d classes, want at least 1", classes))
	}
	for i, v := range y {
		if v < 0 || v >= int64(classes) {
			panic(fmt.Sprintf("data: NewTensorDataset: label %d of example %d is outside [0, %d)", v, i, classes))
		}
	}
	return &TensorDataset{x: x, y: y, shape: slices.Clone(shape), per: per, classes: classes}
}

// Len is the number of examples.
func (d *TensorDataset) Len() int { return len(d.y) }

// ExampleShape is the shape of one example, such as [1 28 28].
func (d *TensorDataset) ExampleShape() []int { return d.shape }

// Classes is the number of classes: every label lies in [0, Classes()).
func (d *TensorDataset) Classes() int { return d.classes }

// Images returns all examples, one after another. The slice aliases the
// dataset: do not modify it.
func (d *TensorDataset) Images() []float32 { return d.x }

// Labels returns all labels. The slice aliases the dataset: do not modify
// it.
func (d *TensorDataset) Labels() []int64 { return d.y }

// Example returns example i and its label; x aliases the dataset.
func (d *TensorDataset) Example(i int) (x []float32, y int64) {
	d.checkIndex("Example", i)
	return d.x[i*d.per : (i+1)*d.per], d.y[i]
}

// Fill implements Dataset.
func (d *TensorDataset) Fill(idx []int, x []float32, y []int64) {
	if len(x) != len(idx)*d.per || len(y) != len(idx) {
		panic(fmt.Sprintf("data: Fill: %d indices of examples of shape %v need %d values and %d labels, got buffers of %d and %d",
			len(idx), d.shape, len(idx)*d.per, len(idx), len(x), len(y)))
	}
	for k, i := range idx {
		d.checkIndex("Fill", i)
		copy(x[k*d.per:(k+1)*d.per], d.x[i*d.per:(i+1)*d.per])
		y[k] = d.y[i]
	}
}

func (d *TensorDataset) checkIndex(op string, i int) {
	if i < 0 || i >= len(d.y) {
		panic(fmt.Sprintf("data: %s: index %d out of range for a dataset of %d examples", op, i, len(d.y)))
	}
}

// Slice returns examples lo..hi-1 as a dataset that shares this one's
// storage (so Normalize on either changes both).
func (d *TensorDataset) Slice(lo, hi int) *TensorDataset {
	if lo < 0 || hi < lo || hi > len(d.y) {
		panic(fmt.Sprintf("data: Slice: [%d, %d) out of range for a dataset of %d examples", lo, hi, len(d.y)))
	}
	return &TensorDataset{x: d.x[lo*d.per : hi*d.per], y: d.y[lo:hi], shape: d.shape, per: d.per, classes: d.classes}
}

// Tensors returns the whole dataset as tensors that share its storage: x of
// shape [Len(), ExampleShape()...] and y of shape [Len()]. They are for
// evaluation in large slices; do not modify them.
func (d *TensorDataset) Tensors() (x, y *backprop.Tensor) {
	return backprop.FromFloat32s(d.x, append([]int{len(d.y)}, d.shape...)...),
		backprop.FromInt64s(d.y, len(d.y))
}

// Normalize replaces every value v of channel c (the first axis of an
// example) by (v - mean[c]) / std[c], in place, computed in float32 as
// torchvision's Normalize does. mean and std have one entry per channel, or
// one entry for all channels.
func (d *TensorDataset) Normalize(mean, std []float32) {
	ch := 1
	if len(d.shape) > 0 {
		ch = d.shape[0]
	}
	if len(mean) != len(std) || (len(mean) != ch && len(mean) != 1) {
		panic(fmt.Sprintf("data: Normalize: %d means and %d stds for examples of shape %v (%d channels)", len(mean), len(std), d.shape, ch))
	}
	for _, s := range std {
		if !(s > 0) {
			panic(fmt.Sprintf("data: Normalize: std %v must be positive", std))
		}
	}
	plane := d.per / ch
	for e := 0; e < len(d.x); e += d.per {
		for c := range ch {
			m, s := mean[0], std[0]
			if len(mean) > 1 {
				m, s = mean[c], std[c]
			}
			p := d.x[e+c*plane : e+(c+1)*plane]
			for i, v := range p {
				p[i] = (v - m) / s
			}
		}
	}
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}
