package backprop

import (
	"fmt"

	"github.com/gobackprop/backprop/internal/kernels"
)

// eachRun walks a shape shared by several strided operands (offsets offs,
// strides strides[k], at most maxOps of them) and calls fn once per
// innermost run of n elements, with each operand's offset at the run's
// start and its stride within the run. Axes of length 1 are dropped and
// axes that are contiguous in every operand are merged first, so a
// contiguous tensor is one run. It is runLayout's walk for callers that
// hold their operands in slices; fn must not keep the slices it gets.
func eachRun(shape []int, offs []int, strides [][]int, fn func(offs []int, n int, inner []int)) {
	k := len(offs)
	if k > maxOps {
		panic("backprop: eachRun: more operands than maxOps")
	}
	var base [maxOps]int
	var st [maxOps][]int
	copy(base[:], offs)
	// A layout with more than maxRunDims merged axes: the outermost axes
	// are walked here, one index at a time, and the rest as a runLayout.
	var l runLayout
	outer := 0
	for {
		for j := range k {
			st[j] = strides[j][outer:]
		}
		if l.init(shape[outer:], k, base, &st) {
			break
		}
		outer++
	}
	var p, in [maxOps]int
	for j := range k {
		in[j] = l.inner(j)
	}
	run := func(q [maxOps]int, n int) {
		p = q
		fn(p[:k], n, in[:k])
	}
	if outer == 0 {
		l.runs(0, l.n, run)
		return
	}
	idx := make([]int, outer)
	for {
		l.off = base
		for d, i := range idx {
			for j := range k {
				l.off[j] += i * strides[j][d]
			}
		}
		l.runs(0, l.n, run)
		d := outer - 1
		for ; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// The strided-iteration engine. A runLayout is a shape shared by up to
// maxOps operands with the axes of length 1 dropped and the axes that are
// contiguous in every operand merged, held in fixed arrays so that walking
// it allocates nothing; it walks any range of the elements, which is how a
// large op is cut into blocks for several goroutines. An elementwise result does not depend on the blocks
// (each element is computed alone), so the cut is only about speed.
const (
	maxOps     = 4 // operands of one walk, the result included
	maxRunDims = 8 // collapsed axes; eachRun peels axes off a layout with more

	// parallelElems is the size above which an elementwise op runs on
	// several goroutines, in blocks of blockElems elements: below it,
	// starting them costs more than it saves.
	parallelElems = 1 << 16
	blockElems    = 1 << 14
)

type runLayout struct {
	k, nd int // operands, collapsed axes
	n     int // elements
	size  [maxRunDims]int
	st    [maxOps][maxRunDims]int
	off   [maxOps]int
}

// init collapses shape for k operands. It reports false
// when more than maxRunDims axes remain.
func (l *runLayout) init(shape []int, k int, offs [maxOps]int, strides *[maxOps][]int) bool {
	l.k, l.nd, l.n, l.off = k, 0, 1, offs
	for d, s := range shape {
		l.n *= s
		if s == 1 {
			continue
		}
		if m := l.nd - 1; m >= 0 {
			merge := true
			for j := range k {
				if l.st[j][m] != strides[j][d]*s {
					merge = false
					break
				}
			}
			if merge {
				l.size[m] *= s
				for j := range k {
					l.st[j][m] = strides[j][d]
				}
				continue
			}
		}
		if l.nd == maxRunDims {
			return false
		}
		l.size[l.nd] = s
		for j := range k {
			l.st[j][l.nd] = strides[j][d]
		}
		l.nd++
	}
	return true
}

// flat sets up a single run of n elements with the given strides (0 or 1)
// and offsets: the common case, without collapsing anything.
func (l *runLayout) flat(n, k int, offs, strides [maxOps]int) {
	l.k, l.n, l.off = k, n, offs
	l.nd = 1
	l.size[0] = n
	for j := range k {
		l.st[j][0] = strides[j]
	}
}

// inner is operand j's stride within a run.
func (l *runLayout) inner(j int) int {
	if l.nd == 0 {
		return 0
	}
	return l.st[j][l.nd-1]
}

// runs calls fn for each run of the elements lo..hi-1 (row-major order),
// with the operands' offsets at the run's start and its length.
func (l *runLayout) runs(lo, hi int, fn func(p [maxOps]int, n int)) {
	if lo >= hi {
		return
	}
	if l.nd == 0 {
		fn(l.off, 1)
		return
	}
	last := l.nd - 1
	m := l.size[last]
	var idx [maxRunDims]int
	p := l.off
	q, j := lo/m, lo%m
	for d := last - 1; d >= 0; d-- {
		idx[d] = q % l.size[d]
		q /= l.size[d]
		for o := range l.k {
			p[o] += idx[d] * l.st[o][d]
		}
	}
	for o := range l.k {
		p[o] += j * l.st[o][last]
	}
	for e := lo; ; {
		n := min(m-j, hi-e)
		fn(p, n)
		e += n
		if e >= hi {
			return
		}
		for o := range l.k {
			p[o] -= j * l.st[o][last]
		}
		j = 0
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			for o := range l.k {
				p[o] += l.st[o][d]
			}
			if idx[d] < l.size[d] {
				break
			}
			for o := range l.k {
				p[o] -= l.st[o][d] * l.size[d]
			}
			idx[d] = 0
		}
	}
}

// blocks is the number of blockElems blocks of n elements.
func blocks(n int) int { return (n + blockElems - 1) / blockElems }

type unaryRun[T kernels.Float] func(dst, x []T, px, sx int)

type binaryRun[T kernels.Float] func(dst, a []T, pa, sa int, b []T, pb, sb int)

// applyUnary runs k over l (operand 0 the contiguous result dst, operand 1
// the input x), on several goroutines when it is large.
func applyUnary[T kernels.Float](l *runLayout, dst, x []T, k unaryRun[T]) {
	sx := l.inner(1)
	if l.n > parallelElems {
		lc := *l
		kernels.Parallel(blocks(lc.n), func(i int) {
			lc.runs(i*blockElems, min(lc.n, (i+1)*blockElems), func(p [maxOps]int, n int) {
				k(dst[p[0]:p[0]+n], x, p[1], sx)
			})
		})
		return
	}
	l.runs(0, l.n, func(p [maxOps]int, n int) { k(dst[p[0]:p[0]+n], x, p[1], sx) })
}

// applyBinary is applyUnary for two inputs (operands 1 and 2).
func applyBinary[T kernels.Float](l *runLayout, dst, a, b []T, k binaryRun[T]) {
	sa, sb := l.inner(1), l.inner(2)
	if l.n > parallelElems {
		lc := *l
		kernels.Parallel(blocks(lc.n), func(i int) {
			lc.runs(i*blockElems, min(lc.n, (i+1)*blockElems), func(p [maxOps]int, n int) {
				k(dst[p[0]:p[0]+n], a, p[1], sa, b, p[2], sb)
			})
		})
		return
	}
	l.runs(0, l.n, func(p [maxOps]int, n int) { k(dst[p[0]:p[0]+n], a, p[1], sa, b, p[2], sb) })
}

func checkBinary(op string, a, b *Tensor) {
	mustTensors(op, a, b)
	if a.dtype != b.dtype {
		panic(fmt.Sprintf("backprop: %s: dtypes %v (shape %v) and %v (shape %v) differ; convert one with To", op, a.dtype, a.shape, b.dtype, b.shape))
	}
	a.mustFloat(op)
}

// unaryKernel applies a run kernel elementwise to a into a new contiguous
// tensor (from a's pool, if it has one).
func unaryKernel(op string, a *Tensor, k32 unaryRun[float32], k64 unaryRun[float64]) *Tensor {
	return unaryKernelHdr(op, a, k32, k64, false)
}

// unaryKernelRec is unaryKernel for an op that records its result with
// record right after: when it will attach a node, the result's header
// carries it (see allocOpts.node).
func unaryKernelRec(op string, a *Tensor, k32 unaryRun[float32], k64 unaryRun[float64]) *Tensor {
	// a nil a is refused, naming op, by unaryKernelHdr's mustFloat.
	return unaryKernelHdr(op, a, k32, k64, a != nil && a.requiresGrad && !a.noGrad)
}

func unaryKernelHdr(op string, a *Tensor, k32 unaryRun[float32], k64 unaryRun[float64], withNode bool) *Tensor {
	a.mustFloat(op)
	out := alloc(poolOf(op, a), a.dtype, a.shape, allocOpts{node: withNode, slab: withNode && scalarSlabInput(a)})
	unaryInto(out, a, k32, k64)
	return out
}

// unaryInto writes k(a) into the contiguous out, of a's shape.
func unaryInto(out, a *Tensor, k32 unaryRun[float32], k64 unaryRun[float64]) {
	if len(out.shape) == 0 || out.Numel() == 1 {
		// A single value, whatever the layout: scalar graphs pay for
		// nothing but the arithmetic.
		if a.dtype == Float32 {
			k32(out.f32[out.offset:out.offset+1], a.f32, a.offset, 1)
		} else {
			k64(out.f64[out.offset:out.offset+1], a.f64, a.offset, 1)
		}
		return
	}
	var l runLayout
	if a.IsContiguous() {
		l.flat(out.Numel(), 2, [maxOps]int{out.offset, a.offset}, [maxOps]int{1, 1})
	} else if !l.init(a.shape, 2, [maxOps]int{out.offset, a.offset}, &[maxOps][]int{out.strides, a.strides}) {
		eachRun(a.shape, []int{out.offset, a.offset}, [][]int{out.strides, a.strides}, func(p []int, n int, s []int) {
			if a.dtype == Float32 {
				k32(out.f32[p[0]:p[0]+n], a.f32, p[1], s[1])
			} else {
				k64(out.f64[p[0]:p[0]+n], a.f64, p[1], s[1])
			}
		})
		return
	}
	if a.dtype == Float32 {
		applyUnary(&l, out.f32, a.f32, k32)
	} else {
		applyUnary(&l, out.f64, a.f64, k64)
	}
}

// unaryMap applies f elementwise to a into a new contiguous tensor. It
// calls f once per element: the ops that run on every training step use
// unaryKernel with a dedicated loop instead.
func unaryMap(op string, a *Tensor, f32 func(float32) float32, f64 func(float64) float64) *Tensor {
	return unaryKernel(op, a,
		func(dst, x []float32, px, sx int) { kernels.Map(dst, x, px, sx, f32) },
		func(dst, x []float64, px, sx int) { kernels.Map(dst, x, px, sx, f64) })
}

// binaryKernel applies a run kernel elementwise over the broadcast of a
// and b into a new contiguous tensor (from the first pool among them).
func binaryKernel(op string, a, b *Tensor, k32 binaryRun[float32], k64 binaryRun[float64]) *Tensor {
	return binaryKernelHdr(op, a, b, k32, k64, false)
}

// binaryKernelRec is binaryKernel for an op that records its result with
// record (no saved tensors) right after: when that will attach a node, the
// result's header carries it (see allocOpts.node).
func binaryKernelRec(op string, a, b *Tensor, k32 binaryRun[float32], k64 binaryRun[float64]) *Tensor {
	// A nil operand is refused, naming op, by binaryKernelHdr's checkBinary.
	rec := a != nil && b != nil && (a.requiresGrad || b.requiresGrad) && !a.noGrad && !b.noGrad
	return binaryKernelHdr(op, a, b, k32, k64, rec)
}

func binaryKernelHdr(op string, a, b *Tensor, k32 binaryRun[float32], k64 binaryRun[float64], withNode bool) *Tensor {
	checkBinary(op, a, b)
	shape := a.shape
	if !equalShape(a.shape, b.shape) {
		var buf [maxRunDims]int
		shape = broadcastShapesInto(buf[:0], op, a.shape, b.shape)
	}
	out := alloc(poolOf(op, a, b), a.dtype, shape, allocOpts{node: withNode, slab: withNode && scalarSlabInput(a) && scalarSlabInput(b)})
	binaryInto(out, a, b, k32, k64)
	return out
}

// binaryMap is binaryKernel for a function called once per element.
func binaryMap(op string, a, b *Tensor, f32 func(x, y float32) float32, f64 func(x, y float64) float64) *Tensor {
	return binaryKernel(op, a, b,
		func(dst, a []float32, pa, sa int, b []float32, pb, sb int) {
			kernels.Map2(dst, a, pa, sa, b, pb, sb, f32)
		},
		func(dst, a []float64, pa, sa int, b []float64, pb, sb int) {
			kernels.Map2(dst, a, pa, sa, b, pb, sb, f64)
		})
}

// binaryInto writes k(a, b) into out, whose shape is the broadcast of a's
// and b's. out may be a itself (same layout), for in-place accumulation.
func binaryInto(out, a, b *Tensor, k32 binaryRun[float32], k64 binaryRun[float64]) {
	if len(out.shape) == 0 || out.Numel() == 1 {
		// One value out means one value in each operand (they broadcast
		// to out's shape): scalar graphs pay for nothing but the arithmetic.
		if out.dtype == Float32 {
			k32(out.f32[out.offset:out.offset+1], a.f32, a.offset, 0, b.f32, b.offset, 0)
		} else {
			k64(out.f64[out.offset:out.offset+1], a.f64, a.offset, 0, b.f64, b.offset, 0)
		}
		return
	}
	if !out.IsContiguous() { // never on the engine's paths; kept simple
		tmp := rawIn(nil, out.dtype, out.shape)
		binaryInto(tmp, a, b, k32, k64)
		copyStrided(out, tmp)
		return
	}
	n := out.Numel()
	var l runLayout
	// Flat fast path: same-shape contiguous operands, or one of them a
	// single value. It skips collapsing the layout, which matters for the
	// tiny tensors of scalar graphs as much as for big ones.
	sa, sb := -1, -1
	switch {
	case a.Numel() == 1:
		sa = 0
	case a.IsContiguous() && equalShape(a.shape, out.shape):
		sa = 1
	}
	switch {
	case b.Numel() == 1:
		sb = 0
	case b.IsContiguous() && equalShape(b.shape, out.shape):
		sb = 1
	}
	if sa >= 0 && sb >= 0 {
		l.flat(n, 3, [maxOps]int{out.offset, a.offset, b.offset}, [maxOps]int{1, sa, sb})
	} else {
		var sta, stb [maxRunDims]int
		st := [maxOps][]int{out.strides, broadcastStridesInto(sta[:0], a, out.shape), broadcastStridesInto(stb[:0], b, out.shape)}
		if !l.init(out.shape, 3, [maxOps]int{out.offset, a.offset, b.offset}, &st) {
			eachRun(out.shape, []int{out.offset, a.offset, b.offset}, st[:3], func(p []int, n int, s []int) {
				if out.dtype == Float32 {
					k32(out.f32[p[0]:p[0]+n], a.f32, p[1], s[1], b.f32, p[2], s[2])
				} else {
					k64(out.f64[p[0]:p[0]+n], a.f64, p[1], s[1], b.f64, p[2], s[2])
				}
			})
			return
		}
	}
	if out.dtype == Float32 {
		applyBinary(&l, out.f32, a.f32, b.f32, k32)
	} else {
		applyBinary(&l, out.f64, a.f64, b.f64, k64)
	}
}

// broadcastStridesInto is broadcastStrides appending to dst, which lets a
// caller keep short stride lists on its stack.
func broadcastStridesInto(dst []int, t *Tensor, to []int) []int {
	off := len(to) - len(t.shape)
	for range off {
		dst = append(dst, 0)
	}
	for i := range t.shape {
		if t.shape[i] == 1 && to[i+off] != 1 {
			dst = append(dst, 0)
		} else {
			dst = append(dst, t.strides[i])
		}
	}
	return dst
}

// addInPlace adds g (broadcastable to dst) into dst, outside autograd.
func addInPlace(dst, g *Tensor) {
	checkBinary("addInPlace", dst, g)
	poolOf("addInPlace", dst, g)
	binaryInto(dst, dst, g, kernels.AddRun[float32], kernels.AddRun[float64])
}
