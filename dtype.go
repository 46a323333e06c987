package backprop

import (
	"fmt"
	"math"
)

// DType is the element type of a tensor. Float32 is the default for
// training; Float64 is what gradient checking needs; Int64 holds indices
// (class labels, gather indices, ArgMax results) and takes part in no
// arithmetic.
type DType uint8

const (
	Float32 DType = iota
	Float64
	Int64
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// IsFloat reports whether tensors of this dtype can take part in arithmetic
// and carry gradients.
func (d DType) IsFloat() bool { return d == Float32 || d == Float64 }

// Size is the number of bytes of one element.
func (d DType) Size() int {
	if d == Float32 {
		return 4
	}
	return 8
}

// Zeros returns a tensor of this dtype filled with zeros.
func (d DType) Zeros(shape ...int) *Tensor {
	checkAlloc("Zeros", d, shape)
	return empty(d, shape)
}

// Ones returns a tensor of this dtype filled with ones.
func (d DType) Ones(shape ...int) *Tensor { return d.full("Ones", 1, shape) }

// Full returns a tensor of this dtype filled with v.
func (d DType) Full(v float64, shape ...int) *Tensor { return d.full("Full", v, shape) }

func (d DType) full(op string, v float64, shape []int) *Tensor {
	checkAlloc(op, d, shape)
	t := empty(d, shape)
	t.fill(v)
	return t
}

// Scalar returns a 0-d tensor of this dtype holding v.
func (d DType) Scalar(v float64) *Tensor { return scalarOf(d, v) }

// scalarOf is Scalar, apart so that Scalar stays small enough to inline
// (a 0-d shape needs no size check).
func scalarOf(d DType, v float64) *Tensor {
	t := empty(d, nil)
	t.fill(v)
	return t
}

// Arange returns the 1-d tensor start, start+step, ... up to but excluding
// stop, as numpy.arange and torch.arange do.
func (d DType) Arange(start, stop, step float64) *Tensor {
	if step == 0 || math.IsNaN(step) || math.IsInf(step, 0) {
		panic(fmt.Sprintf("backprop: Arange: step %v must be finite and non-zero", step))
	}
	if math.IsNaN(start) || math.IsInf(start, 0) || math.IsNaN(stop) || math.IsInf(stop, 0) {
		panic(fmt.Sprintf("backprop: Arange: start %v and stop %v must be finite", start, stop))
	}
	count := math.Ceil((stop - start) / step)
	if count <= 0 {
		return empty(d, []int{0})
	}
	if count >= math.MaxInt {
		panic(fmt.Sprintf("backprop: Arange(%v, %v, %v): %v values are more than an int can count", start, stop, step, count))
	}
	n := int(count)
	checkAlloc("Arange", d, []int{n})
	t := empty(d, []int{n})
	for i := range n {
		t.setFlat(i, start+float64(i)*step)
	}
	return t
}

// Zeros returns a float32 tensor of zeros.
func Zeros(shape ...int) *Tensor { return Float32.Zeros(shape...) }

// Ones returns a float32 tensor of ones.
func Ones(shape ...int) *Tensor { return Float32.Ones(shape...) }

// Full returns a float32 tensor filled with v.
func Full(v float64, shape ...int) *Tensor { return Float32.Full(v, shape...) }

// Scalar returns a float32 0-d tensor.
func Scalar(v float64) *Tensor { return Float32.Scalar(v) }

// Arange returns a float32 range; see DType.Arange.
func Arange(start, stop, step float64) *Tensor { return Float32.Arange(start, stop, step) }

// ZerosLike returns zeros with t's dtype and shape.
func ZerosLike(t *Tensor) *Tensor {
	t.mustTensor("ZerosLike")
	return empty(t.dtype, t.shape)
}

// OnesLike returns ones with t's dtype and shape.
func OnesLike(t *Tensor) *Tensor {
	t.mustTensor("OnesLike")
	return t.dtype.full("OnesLike", 1, t.shape)
}

// FullLike returns a tensor of t's dtype and shape filled with v.
func FullLike(t *Tensor, v float64) *Tensor {
	t.mustTensor("FullLike")
	return t.dtype.full("FullLike", v, t.shape)
}

// FromFloat32s makes a float32 tensor of the given shape that owns data
// (it is not copied; the caller must not keep using it). With no shape the
// result is 1-d.
func FromFloat32s(data []float32, shape ...int) *Tensor {
	shape = shapeFor("FromFloat32s", len(data), shape)
	return &Tensor{dtype: Float32, shape: shape, strides: contiguousStrides(shape), f32: data}
}

// FromFloat64s makes a float64 tensor that owns data; see FromFloat32s.
func FromFloat64s(data []float64, shape ...int) *Tensor {
	shape = shapeFor("FromFloat64s", len(data), shape)
	return &Tensor{dtype: Float64, shape: shape, strides: contiguousStrides(shape), f64: data}
}

// FromInt64s makes an int64 tensor (indices, labels) that owns data.
func FromInt64s(data []int64, shape ...int) *Tensor {
	shape = shapeFor("FromInt64s", len(data), shape)
	return &Tensor{dtype: Int64, shape: shape, strides: contiguousStrides(shape), i64: data}
}

// FromInts makes an int64 tensor from ints, copying them.
func FromInts(data []int, shape ...int) *Tensor {
	d := make([]int64, len(data))
	for i, v := range data {
		d[i] = int64(v)
	}
	return FromInt64s(d, shape...)
}

func shapeFor(op string, n int, shape []int) []int {
	if len(shape) == 0 {
		return []int{n}
	}
	shape = cloneInts(shape)
	if checkShape(op, shape) != n {
		panic(fmt.Sprintf("backprop: %s: %d values do not fill shape %v", op, n, shape))
	}
	return shape
}
