package backprop

import (
	"fmt"
	"slices"
	"strings"
)

// Shape ops. Most return views that share storage with their input (no
// copy); gradients flow back through the inverse view.

// Reshape returns a tensor with the same elements in row-major order and a
// new shape. One entry may be -1, inferred from the others. It is a view
// when t is contiguous, a copy otherwise.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	t.mustTensor("Reshape")
	shape = inferShape("Reshape", t.shape, shape)
	if slices.Equal(shape, t.shape) {
		return t
	}
	src := t.contiguousData()
	out := withShape(src, shape)
	inShape := t.shape
	return record("Reshape", out, []*Tensor{t}, reshapeGrad(inShape))
}

// reshapeGrad is the derivative of Reshape.
func reshapeGrad(inShape []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Reshape(inShape...)}
	}
}

func inferShape(op string, from, shape []int) []int {
	shape = slices.Clone(shape)
	infer := -1
	for i, s := range shape {
		switch {
		case s == -1 && infer < 0:
			infer = i
		case s < 0:
			panic(fmt.Sprintf("backprop: %s: bad shape %v for tensor of shape %v", op, shape, from))
		}
	}
	var known int
	if infer >= 0 {
		shape[infer] = 1
		known = checkShape(op, shape)
		shape[infer] = -1
	} else {
		known = checkShape(op, shape)
	}
	n := numel(from)
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			panic(fmt.Sprintf("backprop: %s: shape %v does not fit %d elements of shape %v", op, shape, n, from))
		}
		shape[infer] = n / known
	} else if known != n {
		panic(fmt.Sprintf("backprop: %s: shape %v does not fit %d elements of shape %v", op, shape, n, from))
	}
	return shape
}

// Expand returns a view of t broadcast to shape (axes of length 1, and new
// leading axes, repeat without copying). -1 keeps an axis as it is.
func (t *Tensor) Expand(shape ...int) *Tensor {
	t.mustTensor("Expand")
	shape = slices.Clone(shape)
	if len(shape) < len(t.shape) {
		panic(fmt.Sprintf("backprop: Expand: shape %v has fewer axes than tensor of shape %v", shape, t.shape))
	}
	lead := len(shape) - len(t.shape)
	for i := range t.shape {
		if shape[lead+i] == -1 {
			shape[lead+i] = t.shape[i]
		}
		if t.shape[i] != 1 && t.shape[i] != shape[lead+i] {
			panic(fmt.Sprintf("backprop: Expand: cannot expand shape %v to %v", t.shape, shape))
		}
	}
	if !validShape(shape) {
		panic(fmt.Sprintf("backprop: Expand: bad shape %v", shape))
	}
	if slices.Equal(shape, t.shape) {
		return t
	}
	out := t.view(shape, broadcastStrides(t, shape), t.offset)
	return record("Expand", out, []*Tensor{t}, expandGrad)
}

// expandGrad is the derivative of Expand.
func expandGrad(c *BackwardContext, g *Tensor) []*Tensor {
	return []*Tensor{g} // the engine sums over the expanded axes
}

// Contiguous returns t when its elements are already in row-major order,
// else a copy that is (recorded, so gradients flow through it).
func (t *Tensor) Contiguous() *Tensor {
	t.mustTensor("Contiguous")
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Transpose returns a view of t with axes i and j swapped.
func (t *Tensor) Transpose(i, j int) *Tensor {
	t.mustTensor("Transpose")
	nd := len(t.shape)
	if nd == 0 {
		// As in PyTorch, a scalar has one axis to name (0 or -1), and
		// swapping it with itself changes nothing.
		normAxis("Transpose", i, 1)
		normAxis("Transpose", j, 1)
		return t
	}
	i, j = normAxis("Transpose", i, nd), normAxis("Transpose", j, nd)
	if i == j {
		return t
	}
	axes := make([]int, nd)
	for k := range axes {
		axes[k] = k
	}
	axes[i], axes[j] = j, i
	return t.permute("Transpose", axes)
}

// Permute returns a view of t whose axis k is t's axis axes[k]; axes must
// name every axis once (negative entries count from the end).
func (t *Tensor) Permute(axes ...int) *Tensor {
	t.mustTensor("Permute")
	nd := len(t.shape)
	if len(axes) != nd {
		panic(fmt.Sprintf("backprop: Permute: %d axes %v for tensor of shape %v", len(axes), axes, t.shape))
	}
	norm := make([]int, nd)
	seen := make([]bool, nd)
	for k, a := range axes {
		n := normAxis("Permute", a, nd)
		if seen[n] {
			panic(fmt.Sprintf("backprop: Permute: axes %v name axis %d twice (shape %v)", axes, n, t.shape))
		}
		seen[n] = true
		norm[k] = n
	}
	return t.permute("Permute", norm)
}

// T returns the transpose of a 2-d tensor.
func (t *Tensor) T() *Tensor {
	t.mustTensor("T")
	if len(t.shape) != 2 {
		panic(fmt.Sprintf("backprop: T: tensor of shape %v is not 2-d (use Transpose or Permute)", t.shape))
	}
	return t.Transpose(0, 1)
}

// permute is Permute on normalized axes, recorded under op's name.
func (t *Tensor) permute(op string, axes []int) *Tensor {
	nd := len(axes)
	shape := make([]int, nd)
	strides := make([]int, nd)
	inv := make([]int, nd)
	identity := true
	for k, a := range axes {
		shape[k] = t.shape[a]
		strides[k] = t.strides[a]
		inv[a] = k
		identity = identity && a == k
	}
	if identity {
		return t
	}
	out := t.view(shape, strides, t.offset)
	return record(op, out, []*Tensor{t}, permuteGrad(inv))
}

// permuteGrad is the derivative of the axis permutations (Permute,
// Transpose): the inverse permutation.
func permuteGrad(inv []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Permute(inv...)}
	}
}

// reshapeOnes views t with shape, which differs from t's shape only by axes
// of length 1 added or removed, so it is always a view (Reshape would copy
// a non-contiguous t). It records op, whose backward is the inverse view,
// recorded as inverse.
func (t *Tensor) reshapeOnes(op, inverse string, shape []int) *Tensor {
	if slices.Equal(shape, t.shape) {
		return t
	}
	strides := make([]int, len(shape))
	j := 0
	for i, s := range shape {
		if s == 1 {
			continue
		}
		for t.shape[j] == 1 {
			j++
		}
		strides[i] = t.strides[j]
		j++
	}
	// Give length-1 axes the stride a contiguous layout would have; any
	// value is valid, this one keeps layouts easy to read.
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] == 1 {
			if i == len(shape)-1 {
				strides[i] = 1
			} else {
				strides[i] = strides[i+1] * max(shape[i+1], 1)
			}
		}
	}
	out := t.view(shape, strides, t.offset)
	inShape := t.shape
	return record(op, out, []*Tensor{t}, reshapeOnesGrad(inverse, op, inShape))
}

// reshapeOnesGrad is the derivative of Squeeze and Unsqueeze: the inverse
// reshape.
func reshapeOnesGrad(inverse string, op string, inShape []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.reshapeOnes(inverse, op, inShape)}
	}
}

// Squeeze returns a view of t without the given axes of length 1, or
// without every axis of length 1 when none are given. A given axis whose
// length is not 1 is kept, as in PyTorch.
func (t *Tensor) Squeeze(axes ...int) *Tensor {
	t.mustTensor("Squeeze")
	nd := len(t.shape)
	drop := make([]bool, nd)
	if len(axes) == 0 {
		for i, s := range t.shape {
			drop[i] = s == 1
		}
	}
	for _, a := range axes {
		a = normAxis("Squeeze", a, nd)
		drop[a] = t.shape[a] == 1
	}
	shape := make([]int, 0, nd)
	for i, s := range t.shape {
		if !drop[i] {
			shape = append(shape, s)
		}
	}
	return t.reshapeOnes("Squeeze", "Unsqueeze", shape)
}

// Unsqueeze returns a view of t with a new axis of length 1 at position
// axis, which may be from -(d+1) to d for a d-dimensional t.
func (t *Tensor) Unsqueeze(axis int) *Tensor {
	t.mustTensor("Unsqueeze")
	nd := len(t.shape)
	a := axis
	if a < 0 {
		a += nd + 1
	}
	if a < 0 || a > nd {
		panic(fmt.Sprintf("backprop: Unsqueeze: axis %d out of range for tensor of shape %v (want %d to %d)", axis, t.shape, -(nd + 1), nd))
	}
	shape := slices.Insert(slices.Clone(t.shape), a, 1)
	return t.reshapeOnes("Unsqueeze", "Squeeze", shape)
}

// Flatten merges axes start through end (inclusive; negative values count
// from the end) into one, as torch.flatten does. A 0-d tensor becomes 1-d.
// Like Reshape it is a view when t is contiguous.
func (t *Tensor) Flatten(start, end int) *Tensor {
	t.mustTensor("Flatten")
	nd := len(t.shape)
	if nd == 0 {
		normAxis("Flatten", start, 1)
		normAxis("Flatten", end, 1)
		return t.Reshape(1)
	}
	s, e := normAxis("Flatten", start, nd), normAxis("Flatten", end, nd)
	if s > e {
		panic(fmt.Sprintf("backprop: Flatten: start axis %d comes after end axis %d (shape %v)", start, end, t.shape))
	}
	shape := slices.Clone(t.shape[:s])
	shape = append(shape, numel(t.shape[s:e+1]))
	shape = append(shape, t.shape[e+1:]...)
	return t.Reshape(shape...)
}

// Slice returns the view t[..., start:end, ...] along axis, with Python's
// rules: negative bounds count from the end, bounds past either end are
// clamped, and end <= start gives an empty axis.
func (t *Tensor) Slice(axis, start, end int) *Tensor {
	return t.sliceStep("Slice", axis, start, end, 1)
}

// SliceStep is Slice with a step: t[..., start:end:step, ...]. The step
// must be positive.
func (t *Tensor) SliceStep(axis, start, end, step int) *Tensor {
	return t.sliceStep("SliceStep", axis, start, end, step)
}

func (t *Tensor) sliceStep(op string, axis, start, end, step int) *Tensor {
	t.mustTensor(op)
	a := normAxis(op, axis, len(t.shape))
	if step <= 0 {
		panic(fmt.Sprintf("backprop: %s: step %d must be positive (shape %v, axis %d)", op, step, t.shape, axis))
	}
	n := t.shape[a]
	clamp := func(v int) int {
		if v < 0 {
			v += n
		}
		return min(max(v, 0), n)
	}
	start, end = clamp(start), clamp(end)
	length := 0
	if end > start {
		length = (end - start + step - 1) / step
	}
	return t.sliceView(op, a, start, length, step)
}

// Narrow returns the view of length elements of axis from start (negative
// start counts from the end), as torch.narrow does; unlike Slice the range
// must lie inside the axis.
func (t *Tensor) Narrow(axis, start, length int) *Tensor {
	t.mustTensor("Narrow")
	a := normAxis("Narrow", axis, len(t.shape))
	n := t.shape[a]
	s := start
	if s < 0 {
		s += n
	}
	if s < 0 || length < 0 || s+length > n {
		panic(fmt.Sprintf("backprop: Narrow: start %d length %d out of range for axis %d of length %d (shape %v)", start, length, axis, n, t.shape))
	}
	return t.sliceView("Narrow", a, s, length, 1)
}

// sliceView views elements start, start+step, ... (length of them) of the
// normalized axis a. Its backward writes the gradient into zeros.
func (t *Tensor) sliceView(op string, a, start, length, step int) *Tensor {
	if start == 0 && step == 1 && length == t.shape[a] {
		return t
	}
	shape := slices.Clone(t.shape)
	strides := slices.Clone(t.strides)
	shape[a] = length
	strides[a] *= step
	off := t.offset
	if length > 0 {
		off += start * t.strides[a]
	}
	out := t.view(shape, strides, off)
	inShape := t.shape
	return record(op, out, []*Tensor{t}, sliceViewGrad(inShape, a, start, step))
}

// sliceViewGrad is the derivative of the slicing views: g scattered back
// into zeros of the input's shape.
func sliceViewGrad(inShape []int, a int, start int, step int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{sliceScatter(g, inShape, a, start, step)}
	}
}

// sliceScatter returns zeros of shape inShape with g written into elements
// start, start+step, ... of axis a: the backward of a slice. Its own
// backward slices again, so slices differentiate twice.
func sliceScatter(g *Tensor, inShape []int, a, start, step int) *Tensor {
	out := newIn(poolOf("SliceScatter", g), g.dtype, inShape)
	length := g.shape[a]
	if length > 0 {
		strides := slices.Clone(out.strides)
		strides[a] *= step
		copyStrided(out.view(g.shape, strides, start*out.strides[a]), g)
	}
	return record("SliceScatter", out, []*Tensor{g}, sliceScatterGrad(length, a, start, step))
}

// sliceScatterGrad is the derivative of SliceScatter.
func sliceScatterGrad(length int, a int, start int, step int) BackwardFunc {
	return func(c *BackwardContext, gg *Tensor) []*Tensor {
		if length == 0 {
			return []*Tensor{gg.sliceView("Slice", a, 0, 0, 1)}
		}
		return []*Tensor{gg.sliceView("SliceStep", a, start, length, step)}
	}
}

// Select returns the view t[..., index, ...] along axis, without that axis
// (negative index counts from the end).
func (t *Tensor) Select(axis, index int) *Tensor {
	t.mustTensor("Select")
	a := normAxis("Select", axis, len(t.shape))
	n := t.shape[a]
	i := index
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		panic(fmt.Sprintf("backprop: Select: index %d out of range for axis %d of length %d (shape %v)", index, axis, n, t.shape))
	}
	shape := slices.Delete(slices.Clone(t.shape), a, a+1)
	strides := slices.Delete(slices.Clone(t.strides), a, a+1)
	out := t.view(shape, strides, t.offset+i*t.strides[a])
	inShape := t.shape
	return record("Select", out, []*Tensor{t}, selectGrad(a, inShape, i))
}

// selectGrad is the derivative of Select.
func selectGrad(a int, inShape []int, i int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{sliceScatter(g.Unsqueeze(a), inShape, a, i, 1)}
	}
}

// Concat joins tensors along an existing axis, as torch.cat does. They must
// share a dtype and have equal shapes except along axis.
func Concat(axis int, ts ...*Tensor) *Tensor {
	a, shape := joinShape("Concat", axis, ts, false)
	out := rawIn(poolOf("Concat", ts...), ts[0].dtype, shape)
	offs := make([]int, len(ts)+1)
	for i, t := range ts {
		n := t.shape[a]
		offs[i+1] = offs[i] + n
		if n > 0 {
			copyStrided(out.view(t.shape, out.strides, offs[i]*out.strides[a]), t)
		}
	}
	return record("Concat", out, ts, concatGrad(offs, a))
}

// concatGrad is the derivative of Concat.
func concatGrad(offs []int, a int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		gs := make([]*Tensor, len(offs)-1)
		for i := range gs {
			if c.NeedsGrad(i) {
				gs[i] = g.Slice(a, offs[i], offs[i+1])
			}
		}
		return gs
	}
}

// Stack joins tensors of equal shape along a new axis at position axis
// (from -(d+1) to d), as torch.stack does.
func Stack(axis int, ts ...*Tensor) *Tensor {
	a, shape := joinShape("Stack", axis, ts, true)
	out := rawIn(poolOf("Stack", ts...), ts[0].dtype, shape)
	strides := slices.Delete(slices.Clone(out.strides), a, a+1)
	for i, t := range ts {
		copyStrided(out.view(t.shape, strides, i*out.strides[a]), t)
	}
	return record("Stack", out, ts, stackGrad(a))
}

// stackGrad is the derivative of Stack.
func stackGrad(a int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		gs := make([]*Tensor, g.shape[a])
		for i := range gs {
			if c.NeedsGrad(i) {
				gs[i] = g.Select(a, i)
			}
		}
		return gs
	}
}

// joinShape checks the inputs of Concat (newAxis false) or Stack (true) and
// returns the normalized axis and the output shape.
func joinShape(op string, axis int, ts []*Tensor, newAxis bool) (int, []int) {
	if len(ts) == 0 {
		panic(fmt.Sprintf("backprop: %s: no tensors to join", op))
	}
	for i, t := range ts {
		if t == nil {
			panic(nilTensor(op, fmt.Sprintf("tensor %d", i)))
		}
	}
	shapes := func() string {
		var s []string
		for _, t := range ts {
			s = append(s, fmt.Sprint(t.shape))
		}
		return strings.Join(s, " ")
	}
	first := ts[0]
	nd := len(first.shape)
	for _, t := range ts {
		if t.dtype != first.dtype {
			panic(fmt.Sprintf("backprop: %s: dtypes %v and %v differ (shapes %s)", op, first.dtype, t.dtype, shapes()))
		}
	}
	if newAxis {
		a := axis
		if a < 0 {
			a += nd + 1
		}
		if a < 0 || a > nd {
			panic(fmt.Sprintf("backprop: %s: axis %d out of range for shapes %s (want %d to %d)", op, axis, shapes(), -(nd + 1), nd))
		}
		for _, t := range ts {
			if !slices.Equal(t.shape, first.shape) {
				panic(fmt.Sprintf("backprop: %s: shapes %s differ", op, shapes()))
			}
		}
		return a, slices.Insert(slices.Clone(first.shape), a, len(ts))
	}
	if nd == 0 {
		panic(fmt.Sprintf("backprop: %s: cannot join 0-d tensors along an axis (shapes %s)", op, shapes()))
	}
	if axis < -nd || axis >= nd {
		panic(fmt.Sprintf("backprop: %s: axis %d out of range for shapes %s", op, axis, shapes()))
	}
	a := normAxis(op, axis, nd)
	shape := slices.Clone(first.shape)
	shape[a] = 0
	for _, t := range ts {
		ok := len(t.shape) == nd
		for d := 0; ok && d < nd; d++ {
			ok = d == a || t.shape[d] == first.shape[d]
		}
		if !ok {
			panic(fmt.Sprintf("backprop: %s: shapes %s differ outside axis %d", op, shapes(), a))
		}
		shape[a] += t.shape[a]
	}
	return a, shape
}

// Split returns views of consecutive pieces of axis with the given lengths,
// which must add up to the axis length.
func (t *Tensor) Split(axis int, sizes ...int) []*Tensor {
	t.mustTensor("Split")
	a := normAxis("Split", axis, len(t.shape))
	sum := 0
	for _, s := range sizes {
		if s < 0 {
			sum = -1
			break
		}
		sum += s
	}
	if sum != t.shape[a] {
		panic(fmt.Sprintf("backprop: Split: sizes %v do not add up to length %d of axis %d (shape %v)", sizes, t.shape[a], axis, t.shape))
	}
	out := make([]*Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		out[i] = t.sliceView("Split", a, off, s, 1)
		off += s
	}
	return out
}

// Chunk splits axis into n pieces as torch.chunk does: each of length
// ceil(len/n) but the last, which may be shorter, so there can be fewer
// than n pieces (length 7 in 3 chunks gives 3, 3, 1).
func (t *Tensor) Chunk(n, axis int) []*Tensor {
	t.mustTensor("Chunk")
	a := normAxis("Chunk", axis, len(t.shape))
	if n <= 0 {
		panic(fmt.Sprintf("backprop: Chunk: %d chunks; want at least 1 (shape %v)", n, t.shape))
	}
	l := t.shape[a]
	if l == 0 {
		return t.Split(a, make([]int, n)...)
	}
	cs := (l + n - 1) / n
	var sizes []int
	for off := 0; off < l; off += cs {
		sizes = append(sizes, min(cs, l-off))
	}
	return t.Split(a, sizes...)
}

// Gather picks values along axis by index, as torch.gather does: for a 3-d
// t and axis 1, out[i][j][k] = t[i][index[i][j][k]][k]. index is Int64 with
// t's number of dimensions, and no longer than t on the other axes; the
// result has index's shape.
func (t *Tensor) Gather(axis int, index *Tensor) *Tensor {
	t.mustTensor("Gather")
	a := normAxis("Gather", axis, len(t.shape))
	checkIndexTensor("Gather", index, t, a, nil)
	out := rawIn(poolOf("Gather", t, index), t.dtype, index.shape)
	src := slices.Clone(t.strides)
	src[a] = 0
	gatherKernel(index.shape, out, out.offset, out.strides, t, t.offset, src, t.strides[a], index, index.strides)
	inShape := t.shape
	return recordSaved("Gather", out, []*Tensor{t}, []*Tensor{index}, gatherGrad(inShape, a))
}

// gatherGrad is the derivative of Gather.
func gatherGrad(inShape []int, a int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{newIn(poolOf("Gather", g), g.dtype, inShape).ScatterAdd(a, c.Saved(0), g)}
	}
}

// ScatterAdd returns a copy of t with src's values added at the positions
// index names along axis, as torch.Tensor.scatter_add does (out of place):
// for a 3-d t and axis 1, out[i][index[i][j][k]][k] += src[i][j][k].
// index is Int64 with t's number of dimensions, no longer than src on any
// axis and than t on the others. Differentiable in t and src.
func (t *Tensor) ScatterAdd(axis int, index, src *Tensor) *Tensor {
	t.mustTensor("ScatterAdd")
	a := normAxis("ScatterAdd", axis, len(t.shape))
	checkIndexTensor("ScatterAdd", index, t, a, src)
	out := rawIn(poolOf("ScatterAdd", t, src, index), t.dtype, t.shape)
	copyStrided(out, t)
	dst := slices.Clone(out.strides)
	dst[a] = 0
	scatterAddKernel(index.shape, out, out.offset, dst, out.strides[a], src, src.offset, src.strides, index, index.strides)
	srcShape := src.shape
	return recordSaved("ScatterAdd", out, []*Tensor{t, src}, []*Tensor{index}, scatterAddGrad(a, srcShape))
}

// scatterAddGrad is the derivative of ScatterAdd.
func scatterAddGrad(a int, srcShape []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		var gs *Tensor
		if c.NeedsGrad(1) {
			gs = g.Gather(a, c.Saved(0)).padTo(srcShape)
		}
		return []*Tensor{g, gs}
	}
}

// padTo pads t with zeros at the end of each axis up to shape.
func (t *Tensor) padTo(shape []int) *Tensor {
	if slices.Equal(t.shape, shape) {
		return t
	}
	pads := make([]int, 2*len(shape))
	for d := range shape {
		pads[2*(len(shape)-1-d)+1] = shape[d] - t.shape[d]
	}
	return t.Pad(pads, 0)
}

// IndexSelect picks whole slices of axis by a 1-d Int64 index, as
// torch.index_select does; the result has len(index) along axis. An
// embedding lookup is weight.IndexSelect(0, ids).
func (t *Tensor) IndexSelect(axis int, index *Tensor) *Tensor {
	t.mustTensor("IndexSelect")
	a := normAxis("IndexSelect", axis, len(t.shape))
	checkIndexVector("IndexSelect", index, t, a)
	shape := slices.Clone(t.shape)
	shape[a] = index.shape[0]
	out := rawIn(poolOf("IndexSelect", t, index), t.dtype, shape)
	src := slices.Clone(t.strides)
	src[a] = 0
	gatherKernel(shape, out, out.offset, out.strides, t, t.offset, src, t.strides[a], index, vectorStrides(index, len(shape), a))
	inShape := t.shape
	return recordSaved("IndexSelect", out, []*Tensor{t}, []*Tensor{index}, indexSelectGrad(inShape, a))
}

// indexSelectGrad is the derivative of IndexSelect.
func indexSelectGrad(inShape []int, a int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{newIn(poolOf("IndexSelect", g), g.dtype, inShape).IndexAdd(a, c.Saved(0), g)}
	}
}

// IndexAdd returns a copy of t with slice i of src along axis added to
// slice index[i] of t, as torch.Tensor.index_add does (out of place). src
// has t's shape except len(index) along axis. Differentiable in t and src.
func (t *Tensor) IndexAdd(axis int, index, src *Tensor) *Tensor {
	t.mustTensor("IndexAdd")
	a := normAxis("IndexAdd", axis, len(t.shape))
	checkIndexVector("IndexAdd", index, t, a)
	want := slices.Clone(t.shape)
	want[a] = index.shape[0]
	if src.dtype != t.dtype || !slices.Equal(src.shape, want) {
		panic(fmt.Sprintf("backprop: IndexAdd: src is %v of shape %v, want %v of shape %v (t %v, index %v, axis %d)", src.dtype, src.shape, t.dtype, want, t.shape, index.shape, axis))
	}
	out := rawIn(poolOf("IndexAdd", t, src, index), t.dtype, t.shape)
	copyStrided(out, t)
	dst := slices.Clone(out.strides)
	dst[a] = 0
	scatterAddKernel(src.shape, out, out.offset, dst, out.strides[a], src, src.offset, src.strides, index, vectorStrides(index, len(want), a))
	return recordSaved("IndexAdd", out, []*Tensor{t, src}, []*Tensor{index}, indexAddGrad(a))
}

// indexAddGrad is the derivative of IndexAdd.
func indexAddGrad(a int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		var gs *Tensor
		if c.NeedsGrad(1) {
			gs = g.IndexSelect(a, c.Saved(0))
		}
		return []*Tensor{g, gs}
	}
}

// vectorStrides reads the 1-d index as if broadcast along axis a of an
// nd-dimensional shape.
func vectorStrides(index *Tensor, nd, a int) []int {
	st := make([]int, nd)
	st[a] = index.strides[0]
	return st
}

func mustInt64Index(op string, index, t *Tensor) {
	mustTensors(op, t, index)
	if index.dtype != Int64 {
		panic(fmt.Sprintf("backprop: %s: index must be int64, got %v (index shape %v, tensor shape %v)", op, index.dtype, index.shape, t.shape))
	}
}

// checkIndexVector validates a 1-d index into axis a of t.
func checkIndexVector(op string, index, t *Tensor, a int) {
	mustInt64Index(op, index, t)
	if len(index.shape) != 1 {
		panic(fmt.Sprintf("backprop: %s: index of shape %v is not 1-d (tensor shape %v)", op, index.shape, t.shape))
	}
	checkIndexRange(op, index, a, t.shape[a])
}

// checkIndexTensor validates a Gather/ScatterAdd index into axis a of t,
// and src when given.
func checkIndexTensor(op string, index, t *Tensor, a int, src *Tensor) {
	mustInt64Index(op, index, t)
	bad := len(index.shape) != len(t.shape)
	for d := 0; !bad && d < len(t.shape); d++ {
		bad = d != a && index.shape[d] > t.shape[d]
	}
	if src != nil {
		if src.dtype != t.dtype {
			panic(fmt.Sprintf("backprop: %s: src is %v, tensor is %v (shapes %v and %v)", op, src.dtype, t.dtype, src.shape, t.shape))
		}
		bad = bad || len(src.shape) != len(index.shape)
		for d := 0; !bad && d < len(index.shape); d++ {
			bad = index.shape[d] > src.shape[d]
		}
		if bad {
			panic(fmt.Sprintf("backprop: %s: index of shape %v does not fit tensor of shape %v and src of shape %v along axis %d", op, index.shape, t.shape, src.shape, a))
		}
	}
	if bad {
		panic(fmt.Sprintf("backprop: %s: index of shape %v does not fit tensor of shape %v along axis %d", op, index.shape, t.shape, a))
	}
	checkIndexRange(op, index, a, t.shape[a])
}

func checkIndexRange(op string, index *Tensor, a, n int) {
	index.eachOffset(func(p int) {
		if v := index.i64[p]; v < 0 || v >= int64(n) {
			panic(fmt.Sprintf("backprop: %s: index %d out of range for axis %d of length %d", op, v, a, n))
		}
	})
}

// Pad pads t with value as torch.nn.functional.pad does in constant mode:
// pads holds (before, after) pairs starting from the last axis, so
// {1, 2} pads the last axis with one value in front and two behind, and
// {0, 0, 1, 1} pads the second-to-last axis on both sides. Negative pads
// crop.
func (t *Tensor) Pad(pads []int, value float64) *Tensor {
	t.mustTensor("Pad")
	nd := len(t.shape)
	if len(pads)%2 != 0 || len(pads) > 2*nd {
		panic(fmt.Sprintf("backprop: Pad: pads %v must be (before, after) pairs for at most %d axes (shape %v)", pads, nd, t.shape))
	}
	shape := slices.Clone(t.shape)
	region := slices.Clone(t.shape)
	inOff, outOff := t.offset, 0
	lo := make([]int, nd) // pad before each axis
	for k := 0; k < len(pads); k += 2 {
		d := nd - 1 - k/2
		lo[d] = pads[k]
		shape[d] += pads[k] + pads[k+1]
		if shape[d] < 0 {
			panic(fmt.Sprintf("backprop: Pad: pads %v crop axis %d of shape %v below length 0", pads, d, t.shape))
		}
	}
	outStrides := contiguousStrides(shape)
	for d := range nd {
		inStart, outStart := max(0, -lo[d]), max(0, lo[d])
		region[d] = max(0, min(t.shape[d]-inStart, shape[d]-outStart))
		inOff += inStart * t.strides[d]
		outOff += outStart * outStrides[d]
	}
	out := newIn(poolOf("Pad", t), t.dtype, shape)
	if value != 0 {
		out.fill(value)
	}
	if numel(region) > 0 {
		copyStrided(out.view(region, outStrides, outOff), t.view(region, t.strides, inOff))
	}
	neg := make([]int, len(pads))
	for i, p := range pads {
		neg[i] = -p
	}
	return record("Pad", out, []*Tensor{t}, padGrad(neg))
}

// padGrad is the derivative of Pad.
func padGrad(neg []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Pad(neg, 0)}
	}
}

// Repeat tiles t reps[d] times along each axis, copying, as
// torch.Tensor.repeat does. reps may be longer than t's shape, which then
// gains leading axes.
func (t *Tensor) Repeat(reps ...int) *Tensor {
	t.mustTensor("Repeat")
	nd := len(t.shape)
	if len(reps) < nd || !validShape(reps) {
		panic(fmt.Sprintf("backprop: Repeat: repeats %v for tensor of shape %v (want at least %d non-negative counts)", reps, t.shape, nd))
	}
	lead := len(reps) - nd
	// Read t through a view of shape (r0, s0, r1, s1, ...) with stride 0 on
	// each repeat axis; the contiguous copy of that is the tiled result.
	tiled := make([]int, 2*len(reps))
	strides := make([]int, 2*len(reps))
	shape := make([]int, len(reps))
	sumAxes := make([]int, len(reps))
	for i, r := range reps {
		s, st := 1, 0
		if i >= lead {
			s, st = t.shape[i-lead], t.strides[i-lead]
		}
		tiled[2*i], tiled[2*i+1] = r, s
		strides[2*i+1] = st
		shape[i] = r * s
		sumAxes[i] = 2 * i
	}
	out := rawIn(poolOf("Repeat", t), t.dtype, tiled)
	copyStrided(out, t.view(tiled, strides, t.offset))
	out = withShape(out, shape)
	inShape := t.shape
	return record("Repeat", out, []*Tensor{t}, repeatGrad(tiled, sumAxes, inShape))
}

// repeatGrad is the derivative of Repeat.
func repeatGrad(tiled []int, sumAxes []int, inShape []int) BackwardFunc {
	return func(c *BackwardContext, g *Tensor) []*Tensor {
		return []*Tensor{g.Reshape(tiled...).Sum(sumAxes...).Reshape(inShape...)}
	}
}

// copyStrided copies src into dst, both of the same shape and dtype, with
// any layouts (dst must not overlap itself).
func copyStrided(dst, src *Tensor) {
	offs := []int{dst.offset, src.offset}
	st := [][]int{dst.strides, src.strides}
	switch dst.dtype {
	case Float32:
		copyRuns(dst.f32, src.f32, dst.shape, offs, st)
	case Float64:
		copyRuns(dst.f64, src.f64, dst.shape, offs, st)
	default:
		copyRuns(dst.i64, src.i64, dst.shape, offs, st)
	}
}

type element interface{ float32 | float64 | int64 }

func copyRuns[T element](d, s []T, shape, offs []int, st [][]int) {
	eachRun(shape, offs, st, func(p []int, n int, in []int) {
		if in[0] == 1 && in[1] == 1 {
			copy(d[p[0]:p[0]+n], s[p[1]:p[1]+n])
			return
		}
		i, j := p[0], p[1]
		for range n {
			d[i] = s[j]
			i += in[0]
			j += in[1]
		}
	})
}

// gatherKernel sets, for every position of shape, out[po] = src[ps +
// index[pi]*ax], where po, ps and pi walk the given offsets and strides
// (src's stride on the gathered axis is 0; ax is its real stride). Index
// values must already be checked.
func gatherKernel(shape []int, out *Tensor, oo int, os []int, src *Tensor, so int, ss []int, ax int, index *Tensor, is []int) {
	offs := []int{oo, so, index.offset}
	st := [][]int{os, ss, is}
	switch out.dtype {
	case Float32:
		gatherRuns(out.f32, src.f32, index.i64, ax, shape, offs, st)
	case Float64:
		gatherRuns(out.f64, src.f64, index.i64, ax, shape, offs, st)
	default:
		gatherRuns(out.i64, src.i64, index.i64, ax, shape, offs, st)
	}
}

func gatherRuns[T element](o, s []T, idx []int64, ax int, shape, offs []int, st [][]int) {
	eachRun(shape, offs, st, func(p []int, n int, in []int) {
		po, ps, pi := p[0], p[1], p[2]
		if in[2] == 0 { // one index for the whole run: a strided copy
			ps += int(idx[pi]) * ax
			for range n {
				o[po] = s[ps]
				po += in[0]
				ps += in[1]
			}
			return
		}
		for range n {
			o[po] = s[ps+int(idx[pi])*ax]
			po += in[0]
			ps += in[1]
			pi += in[2]
		}
	})
}

// scatterAddKernel adds, for every position of shape, src[ps] into
// out[po + index[pi]*ax], in row-major order so that results are
// deterministic.
func scatterAddKernel(shape []int, out *Tensor, oo int, os []int, ax int, src *Tensor, so int, ss []int, index *Tensor, is []int) {
	offs := []int{oo, so, index.offset}
	st := [][]int{os, ss, is}
	switch out.dtype {
	case Float32:
		scatterAddRuns(out.f32, src.f32, index.i64, ax, shape, offs, st)
	case Float64:
		scatterAddRuns(out.f64, src.f64, index.i64, ax, shape, offs, st)
	default:
		scatterAddRuns(out.i64, src.i64, index.i64, ax, shape, offs, st)
	}
}

func scatterAddRuns[T element](o, s []T, idx []int64, ax int, shape, offs []int, st [][]int) {
	eachRun(shape, offs, st, func(p []int, n int, in []int) {
		po, ps, pi := p[0], p[1], p[2]
		for range n {
			o[po+int(idx[pi])*ax] += s[ps]
			po += in[0]
			ps += in[1]
			pi += in[2]
		}
	})
}
