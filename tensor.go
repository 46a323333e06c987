package backprop

import (
	"fmt"
	"slices"
)

// Tensor is an n-dimensional array of float32, float64 or int64 values,
// together with what autograd knows of it: whether it requires a gradient,
// its accumulated gradient (leaves), and the node that produced it.
//
// A Tensor is a view: shape, strides and an offset into storage that other
// views (reshape, transpose, slices, expand) may share. Ops never modify
// their inputs; they return new tensors.
type Tensor struct {
	shape   []int
	strides []int
	offset  int

	// Exactly one of these is non-nil: the storage shared by every view.
	f32 []float32
	f64 []float64
	i64 []int64

	grad  *Tensor
	node  *Node        // nil for leaves
	extra *tensorExtra // rarely used fields, kept out of the hot struct
	pool  *Pool        // where ops on t allocate their results (see InPool)
	owner *Pool        // the pool t was computed in (its storage's); nil for the heap

	// Storage for one-element tensors, so a scalar costs one allocation
	// (a float32 one uses its first four bytes).
	one [1]float64

	// Backing for shape and strides up to inlineDims axes, so that a
	// tensor header is one allocation rather than three. Shapes and strides
	// are never modified once set, so views may share them freely.
	dims [2 * inlineDims]int

	gen          uint32 // owner's generation when t was computed
	dtype        DType
	requiresGrad bool
	noGrad       bool // see NoGrad
	retainGrad   bool

	gradState  // how grad is being filled (accumulate.go)
	allocState // how the header was allocated (alloc.go)
}

// gradState is the bookkeeping of a leaf's stored gradient.
type gradState struct {
	gradZero    bool // grad reads as zeros (ZeroGrad defers the fill)
	gradInPlace bool // a walk is writing grad in place (leafGradBuffer)
}

// allocState says where a tensor's header lives.
type allocState struct {
	spareNode bool // t is the head of a tensorNode whose node is unused yet
	inSlab    bool // t lives in a scalarSlab
}

// inlineDims is how many axes a tensor's header holds without allocating.
const inlineDims = 4

type tensorExtra struct {
	hooks []Hook // run on this tensor's gradient during backward
	name  string // optional, for pictures and tables

	recordedAt []uintptr // the stack that recorded t's node, in anomaly mode
}

func (t *Tensor) ext() *tensorExtra {
	if t.extra == nil {
		t.extra = &tensorExtra{}
	}
	return t.extra
}

func (t *Tensor) hooks() []Hook {
	if t.extra == nil {
		return nil
	}
	return t.extra.hooks
}

// setLayout sets t's shape and strides to copies of the given ones, held in
// the header when they are short.
func (t *Tensor) setLayout(shape, strides []int) {
	n := len(shape)
	if n <= inlineDims {
		t.shape = t.dims[:n:n]
		t.strides = t.dims[inlineDims : inlineDims+n : inlineDims+n]
	} else {
		b := make([]int, 2*n)
		t.shape, t.strides = b[:n:n], b[n:]
	}
	copy(t.shape, shape)
	copy(t.strides, strides)
}

// setContiguous sets t's shape to a copy of shape, with row-major strides.
func (t *Tensor) setContiguous(shape []int) {
	t.setLayout(shape, nil)
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		t.strides[i] = s
		s *= shape[i]
	}
}

// DType is the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return cloneInts(t.shape) }

// Strides returns a copy of the strides, in elements.
func (t *Tensor) Strides() []int { return cloneInts(t.strides) }

// Dim is the number of dimensions; 0 for a scalar.
func (t *Tensor) Dim() int { return len(t.shape) }

// Size returns the length of axis i (negative i counts from the end).
func (t *Tensor) Size(i int) int { return t.shape[normAxis("Size", i, len(t.shape))] }

// Numel is the number of elements.
func (t *Tensor) Numel() int { return numel(t.shape) }

// Name is an optional label shown by graph pictures and the grad table.
func (t *Tensor) Name() string {
	if t.extra == nil {
		return ""
	}
	return t.extra.name
}

// SetName sets the label and returns t.
func (t *Tensor) SetName(name string) *Tensor { t.ext().name = name; return t }

// IsContiguous reports whether the elements lie in row-major order with no
// gaps, so the storage can be read as a flat slice.
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

// Item returns the single value of a one-element tensor as a float64.
func (t *Tensor) Item() float64 {
	t.checkLive("Item")
	if t.Numel() != 1 {
		panic(fmt.Sprintf("backprop: Item: tensor of shape %v has %d elements, want 1", t.shape, t.Numel()))
	}
	return t.getFlat(t.offset)
}

// At returns the element at the given index (one entry per axis; negative
// entries count from the end) as a float64.
func (t *Tensor) At(idx ...int) float64 {
	t.checkLive("At")
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("backprop: At: %d indices for shape %v", len(idx), t.shape))
	}
	off := t.offset
	for i, v := range idx {
		if v < 0 {
			v += t.shape[i]
		}
		if v < 0 || v >= t.shape[i] {
			panic(fmt.Sprintf("backprop: At: index %v out of range for shape %v", idx, t.shape))
		}
		off += v * t.strides[i]
	}
	return t.getFlat(off)
}

// getFlat reads storage position p.
func (t *Tensor) getFlat(p int) float64 {
	switch t.dtype {
	case Float32:
		return float64(t.f32[p])
	case Float64:
		return t.f64[p]
	default:
		return float64(t.i64[p])
	}
}

// setFlat writes storage position p.
func (t *Tensor) setFlat(p int, v float64) {
	switch t.dtype {
	case Float32:
		t.f32[p] = float32(v)
	case Float64:
		t.f64[p] = v
	default:
		t.i64[p] = int64(v)
	}
}

// fill sets every element of a contiguous tensor to v.
func (t *Tensor) fill(v float64) {
	switch t.dtype {
	case Float32:
		s := t.f32[t.offset : t.offset+t.Numel()]
		for i := range s {
			s[i] = float32(v)
		}
	case Float64:
		s := t.f64[t.offset : t.offset+t.Numel()]
		for i := range s {
			s[i] = v
		}
	default:
		s := t.i64[t.offset : t.offset+t.Numel()]
		for i := range s {
			s[i] = int64(v)
		}
	}
}

// Float32s returns a copy of the elements in row-major order as float32
// (converting from other dtypes).
func (t *Tensor) Float32s() []float32 {
	t.checkLive("Float32s")
	out := make([]float32, t.Numel())
	i := 0
	t.eachOffset(func(p int) { out[i] = float32(t.getFlat(p)); i++ })
	return out
}

// Float64s returns a copy of the elements in row-major order as float64.
func (t *Tensor) Float64s() []float64 {
	t.checkLive("Float64s")
	out := make([]float64, t.Numel())
	i := 0
	t.eachOffset(func(p int) { out[i] = t.getFlat(p); i++ })
	return out
}

// Ints returns a copy of the elements in row-major order as ints
// (truncating floats).
func (t *Tensor) Ints() []int {
	t.checkLive("Ints")
	out := make([]int, t.Numel())
	i := 0
	if t.dtype == Int64 { // exactly, not through float64
		t.eachOffset(func(p int) { out[i] = int(t.i64[p]); i++ })
		return out
	}
	t.eachOffset(func(p int) { out[i] = int(t.getFlat(p)); i++ })
	return out
}

// F32 returns the storage of a contiguous float32 tensor as a slice that
// aliases it: writes go straight into the tensor. It is for optimizers,
// loaders and kernels that update values in place, outside autograd.
func (t *Tensor) F32() []float32 {
	t.mustRaw("F32", Float32)
	return t.f32[t.offset : t.offset+t.Numel()]
}

// F64 is F32 for float64 tensors.
func (t *Tensor) F64() []float64 {
	t.mustRaw("F64", Float64)
	return t.f64[t.offset : t.offset+t.Numel()]
}

// I64 is F32 for int64 tensors.
func (t *Tensor) I64() []int64 {
	t.mustRaw("I64", Int64)
	return t.i64[t.offset : t.offset+t.Numel()]
}

func (t *Tensor) mustRaw(op string, dt DType) {
	t.checkLive(op)
	if t.dtype != dt {
		panic(fmt.Sprintf("backprop: %s: tensor is %v, not %v", op, t.dtype, dt))
	}
	if !t.IsContiguous() {
		panic(fmt.Sprintf("backprop: %s: tensor of shape %v strides %v is not contiguous (call Contiguous first)", op, t.shape, t.strides))
	}
}

// eachOffset calls f with the storage offset of every element, in row-major
// order.
func (t *Tensor) eachOffset(f func(p int)) {
	n := t.Numel()
	if n == 0 {
		return
	}
	if t.IsContiguous() {
		for i := range n {
			f(t.offset + i)
		}
		return
	}
	nd := len(t.shape)
	idx := make([]int, nd)
	p := t.offset
	for {
		f(p)
		d := nd - 1
		for ; d >= 0; d-- {
			idx[d]++
			p += t.strides[d]
			if idx[d] < t.shape[d] {
				break
			}
			p -= t.strides[d] * t.shape[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// view returns a tensor sharing t's storage with a new layout (copies of
// shape and strides). It carries no autograd state (callers record it), but
// t's pool mark and the ownership of its storage.
func (t *Tensor) view(shape, strides []int, offset int) *Tensor {
	v := &Tensor{dtype: t.dtype, offset: offset, f32: t.f32, f64: t.f64, i64: t.i64,
		pool: t.pool, owner: t.owner, gen: t.gen}
	v.setLayout(shape, strides)
	return v
}

// contiguousData returns a contiguous tensor with t's values: t itself when
// already contiguous, else a copy. It is not recorded.
func (t *Tensor) contiguousData() *Tensor {
	if t.IsContiguous() {
		return t
	}
	out := rawIn(poolOf("Contiguous", t), t.dtype, t.shape)
	// Copy whole runs (the innermost contiguous stretch, such as one
	// attention head's features) rather than element by element: the
	// per-element callback was a fifth of a transformer step.
	copyStrided(out, t)
	return out
}

// Clone returns a copy with its own storage, recorded so gradients flow
// through it.
func (t *Tensor) Clone() *Tensor {
	t.mustTensor("Clone")
	out := rawIn(poolOf("Clone", t), t.dtype, t.shape)
	if t.IsContiguous() {
		out.copyFrom(t)
	} else {
		copyStrided(out, t)
	}
	return record("Clone", out, []*Tensor{t}, identityGrad)
}

// identityGrad is the derivative of an identity (Clone, InPool, an alias):
// the gradient passes as it is.
func identityGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return c.one(g)
}

// copyFrom copies a contiguous src of the same dtype and numel into t.
func (t *Tensor) copyFrom(src *Tensor) {
	n := src.Numel()
	switch t.dtype {
	case Float32:
		copy(t.f32[t.offset:t.offset+n], src.f32[src.offset:src.offset+n])
	case Float64:
		copy(t.f64[t.offset:t.offset+n], src.f64[src.offset:src.offset+n])
	default:
		copy(t.i64[t.offset:t.offset+n], src.i64[src.offset:src.offset+n])
	}
}

// To returns t converted to dtype dt (t itself when it already is). The
// conversion is differentiable between float dtypes.
func (t *Tensor) To(dt DType) *Tensor {
	t.mustTensor("To")
	if t.dtype == dt {
		return t
	}
	out := rawIn(poolOf("To", t), dt, t.shape)
	i := 0
	switch dt {
	case Float32:
		t.eachOffset(func(p int) { out.f32[i] = float32(t.getFlat(p)); i++ })
	case Float64:
		t.eachOffset(func(p int) { out.f64[i] = t.getFlat(p); i++ })
	default:
		t.eachOffset(func(p int) { out.i64[i] = int64(t.getFlat(p)); i++ })
	}
	if !dt.IsFloat() || !t.dtype.IsFloat() {
		return out
	}
	from := t.dtype
	return record("To", out, []*Tensor{t}, toGrad(from))
}

// toGrad is the derivative of To.
func toGrad(from DType) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.To(from))
	}
}

// CopyFrom overwrites t's values with src's (same shape, converting dtype)
// outside autograd. It is for loading weights and for optimizers; t must be
// contiguous and must not be part of a graph still to be differentiated.
func (t *Tensor) CopyFrom(src *Tensor) {
	t.mustTensor("CopyFrom")
	t.checkLive("CopyFrom")
	src.checkLive("CopyFrom")
	if !slices.Equal(t.shape, src.shape) {
		panic(fmt.Sprintf("backprop: CopyFrom: shape %v into shape %v", src.shape, t.shape))
	}
	if !t.IsContiguous() {
		panic(fmt.Sprintf("backprop: CopyFrom: destination of shape %v is not contiguous", t.shape))
	}
	i := t.offset
	if t.dtype == Int64 && src.dtype == Int64 {
		// Directly, not through float64, which holds integers exactly only
		// up to 2^53.
		src.eachOffset(func(p int) { t.i64[i] = src.i64[p]; i++ })
		return
	}
	src.eachOffset(func(p int) { t.setFlat(i, src.getFlat(p)); i++ })
}

func (t *Tensor) mustFloat(op string) {
	t.mustTensor(op)
	if !t.dtype.IsFloat() {
		panic(fmt.Sprintf("backprop: %s: needs a float tensor, got %v of shape %v", op, t.dtype, t.shape))
	}
}

// Offset is the position of t's first element in its storage.
func (t *Tensor) Offset() int { return t.offset }

// StorageF64 returns the whole float64 storage that t views (shared with
// every other view of it), for code that walks it by offset and strides,
// such as gradcheck's perturbations. Writing to it bypasses autograd.
func (t *Tensor) StorageF64() []float64 {
	t.mustRawDType("StorageF64", Float64)
	return t.f64
}

// StorageF32 is StorageF64 for float32 tensors.
func (t *Tensor) StorageF32() []float32 {
	t.mustRawDType("StorageF32", Float32)
	return t.f32
}

func (t *Tensor) mustRawDType(op string, dt DType) {
	t.checkLive(op)
	if t.dtype != dt {
		panic(fmt.Sprintf("backprop: %s: tensor is %v, not %v", op, t.dtype, dt))
	}
}

// AsStrided returns a view of t's storage with an explicit layout. It is a
// low-level tool (torch.as_strided): the result is a new leaf, not recorded,
// and the layout is checked only to stay inside the storage.
func (t *Tensor) AsStrided(shape, strides []int, offset int) *Tensor {
	t.mustTensor("AsStrided")
	if len(shape) != len(strides) || !validShape(shape) || offset < 0 {
		panic(fmt.Sprintf("backprop: AsStrided: bad layout shape %v strides %v offset %d", shape, strides, offset))
	}
	size := t.storageLen()
	lo, hi := offset, offset
	for d, s := range shape {
		if s == 0 {
			lo, hi = offset, offset-1
			break
		}
		if strides[d] >= 0 {
			hi += (s - 1) * strides[d]
		} else {
			lo += (s - 1) * strides[d]
		}
	}
	if lo < 0 || hi >= size {
		panic(fmt.Sprintf("backprop: AsStrided: shape %v strides %v offset %d reaches outside storage of %d elements", shape, strides, offset, size))
	}
	return t.view(cloneInts(shape), cloneInts(strides), offset)
}

func (t *Tensor) storageLen() int {
	switch t.dtype {
	case Float32:
		return len(t.f32)
	case Float64:
		return len(t.f64)
	}
	return len(t.i64)
}
