package backprop

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Reductions over any set of axes. With no axes they reduce over all of
// them; negative axes count from the end; an axis given twice panics. The
// ...Keep variants keep reduced axes with length 1 (PyTorch's keepdim), so
// the result broadcasts against the input.
//
// Every reduction visits each output's inputs in the row-major order of the
// reduced axes, whatever the input's layout, and sums accumulate in float64
// in blocks of sumBlock, in kernels.Lanes partial sums: a float32 sum of
// millions of values stays accurate to float32 precision, and the result is
// bit-for-bit the same for a transposed, sliced or contiguous copy of the
// same values. Large reductions share their outputs (or, for a single
// output, their blocks) among goroutines, which changes nothing in the
// result either: every addition's order is fixed by the shape alone.

// dropShape is shape without the given (normalized, sorted) axes.
func dropShape(shape, axes []int) []int {
	out := make([]int, 0, len(shape))
	for i, s := range shape {
		if !slices.Contains(axes, i) {
			out = append(out, s)
		}
	}
	return out
}

// reduceAxes normalizes the axes of a reduction (none means all). A 0-d
// tensor accepts axis 0 or -1, as PyTorch does, and reduces nothing.
func reduceAxes(op string, axes []int, nd int) []int {
	return reduceAxesInto(make([]int, 0, max(len(axes), nd)), op, axes, nd)
}

// reduceAxesInto is reduceAxes appending to dst.
func reduceAxesInto(dst []int, op string, axes []int, nd int) []int {
	if nd > 0 {
		return normAxesInto(dst, op, axes, nd)
	}
	for i, a := range axes {
		if a != 0 && a != -1 {
			panic(fmt.Sprintf("backprop: %s: axis %d out of range for 0 dimensions (a scalar accepts 0 or -1)", op, a))
		}
		if i > 0 {
			panic(fmt.Sprintf("backprop: %s: axis 0 given twice", op))
		}
	}
	return nil
}

// sumBlock is the number of consecutive inputs of one output that are
// summed before the partial sum joins the total: the rounding error then
// grows with sumBlock + n/sumBlock rather than with n. Within a block the
// inputs go to kernels.Lanes partial sums by their index (r mod Lanes),
// combined in a fixed order at the block's end; so the order of every
// addition is fixed by the shape and the reduced axes alone, whatever the
// layout and however the work is split between goroutines.
const sumBlock = 1024

// maxPlanDims bounds the axes of a reduction's walk, after axes of length 1
// are dropped and contiguous neighbours merged.
const maxPlanDims = 16

// planWalk is the walk of a reduction over one input layout, in fixed
// arrays so that it costs no allocation. Axes are ordered so the walk moves
// through memory with small steps (the reduced axes keep their relative
// order, so each output still sees its inputs in row-major order), and
// neighbours that are contiguous in both input and output are merged.
type planWalk struct {
	nd    int
	size  [maxPlanDims]int // axis lengths, outermost first
	inSt  [maxPlanDims]int // input strides
	outSt [maxPlanDims]int // output strides, 0 on reduced axes
	rSt   [maxPlanDims]int // strides of r, the index among an output's inputs; 0 on kept axes

	innerRed bool // the innermost axis is reduced: each run feeds one output
	offset   int  // the input's offset
	empty    bool // the input has no elements
}

// reducePlan is a planWalk with the shapes of the reduction.
type reducePlan struct {
	planWalk
	keep []int // output shape with reduced axes of length 1
	nOut int   // number of outputs
	nRed int   // number of inputs per output
}

// init plans the reduction of a over the normalized axes ax and returns the
// tensor to walk: a, or a contiguous copy of it when a's layout needs more
// than maxPlanDims axes.
func (p *reducePlan) init(op string, a *Tensor, ax []int) *Tensor {
	if p.build(a, ax) {
		return a
	}
	c := a.contiguousData()
	if p.build(c, ax) {
		return c
	}
	panic(fmt.Sprintf("backprop: %s: reducing axes %v of shape %v takes more than %d strided axes", op, slices.Clone(ax), a.shape, maxPlanDims))
}

func (p *reducePlan) build(a *Tensor, ax []int) bool {
	nd := len(a.shape)
	red := make([]bool, nd)
	for _, d := range ax {
		red[d] = true
	}
	keep := make([]int, nd)
	copy(keep, a.shape)
	for _, d := range ax {
		keep[d] = 1
	}
	*p = reducePlan{keep: keep, nOut: numel(keep)}
	p.offset = a.offset
	p.empty = a.Numel() == 0
	outSt := make([]int, nd)
	rSt := make([]int, nd)
	o, n := 1, 1
	for d := nd - 1; d >= 0; d-- {
		outSt[d] = o
		o *= keep[d]
		if red[d] {
			rSt[d] = n
			n *= a.shape[d]
		}
	}
	p.nRed = n

	redAx := make([]int, 0, nd)
	keptAx := make([]int, 0, nd)
	for d, s := range a.shape {
		switch {
		case s == 1:
		case red[d]:
			redAx = append(redAx, d)
		default:
			keptAx = append(keptAx, d)
		}
	}
	absSt := func(d int) int { return max(a.strides[d], -a.strides[d]) }
	slices.SortStableFunc(keptAx, func(i, j int) int { return cmp.Compare(absSt(j), absSt(i)) })
	// Merge the two lists, larger strides first; on a tie the kept axis goes
	// outside so that each run feeds one output.
	var isRed [maxPlanDims]bool
	for len(redAx) > 0 || len(keptAx) > 0 {
		var d int
		if len(keptAx) == 0 || (len(redAx) > 0 && absSt(redAx[0]) > absSt(keptAx[0])) {
			d, redAx = redAx[0], redAx[1:]
		} else {
			d, keptAx = keptAx[0], keptAx[1:]
		}
		sz, is, os, rs := a.shape[d], a.strides[d], outSt[d], rSt[d]
		if red[d] {
			os = 0
		}
		if m := p.nd - 1; m >= 0 && isRed[m] == red[d] &&
			p.inSt[m] == is*sz && p.outSt[m] == os*sz && p.rSt[m] == rs*sz {
			p.size[m] *= sz
			p.inSt[m], p.outSt[m], p.rSt[m] = is, os, rs
			continue
		}
		if p.nd == maxPlanDims {
			return false
		}
		p.size[p.nd], p.inSt[p.nd], p.outSt[p.nd], p.rSt[p.nd] = sz, is, os, rs
		isRed[p.nd] = red[d]
		p.nd++
	}
	if p.nd == 0 { // a single element
		p.nd, p.size[0] = 1, 1
		isRed[0] = true
	}
	p.innerRed = isRed[p.nd-1]
	return true
}

// each calls fn once per run of the innermost axis, with the input offset
// and stride, the output offset and stride, and r, the index among the
// reduced elements of the run's first input. When w.innerRed the run is n
// inputs of output pout with indices r, r+1, ...; otherwise it is one input
// (index r) of each of n outputs. With d >= 0 only entries lo..hi-1 of
// axis d are walked (a kept axis, when outputs are shared out among
// goroutines).
func (w *planWalk) each(d, lo, hi int, fn func(pin, sin, pout, sout, r, n int)) {
	if w.empty {
		return
	}
	size := w.size
	pin, pout, r := w.offset, 0, 0
	if d >= 0 {
		if hi <= lo {
			return
		}
		size[d] = hi - lo
		pin += lo * w.inSt[d]
		pout += lo * w.outSt[d]
		r += lo * w.rSt[d]
	}
	last := w.nd - 1
	n, sin, sout := size[last], w.inSt[last], w.outSt[last]
	var idx [maxPlanDims]int
	for {
		fn(pin, sin, pout, sout, r, n)
		d := last - 1
		for ; d >= 0; d-- {
			idx[d]++
			pin += w.inSt[d]
			pout += w.outSt[d]
			r += w.rSt[d]
			if idx[d] < size[d] {
				break
			}
			pin -= w.inSt[d] * size[d]
			pout -= w.outSt[d] * size[d]
			r -= w.rSt[d] * size[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// split picks how to share a reduction of many outputs among goroutines:
// the kept axis with the most entries, cut into tasks ranges. It returns
// d = -1 when the reduction is too small to be worth it or has one output.
// The choice depends on the shape alone, and each output is still computed
// by one goroutine in its fixed order.
func (p *reducePlan) split() (d, tasks int) {
	elems := p.nOut * p.nRed
	if elems <= parallelElems {
		return -1, 0
	}
	d = -1
	for i := range p.nd {
		if p.outSt[i] != 0 && (d < 0 || p.size[i] > p.size[d]) {
			d = i
		}
	}
	if d < 0 || p.size[d] < 2 {
		return -1, 0
	}
	tasks = min(p.size[d], blocks(elems))
	if d == p.nd-1 {
		// The innermost axis is what each run walks: cut it into few long
		// pieces, or the walk is all overhead.
		tasks = min(tasks, p.size[d]/minRun)
	}
	if tasks < 2 {
		return -1, 0
	}
	return d, tasks
}

// minRun is the shortest piece of a reduction's innermost axis that split
// hands to a goroutine.
const minRun = 256

// taskRange is the range of axis length n that task t of tasks covers.
func taskRange(n, t, tasks int) (lo, hi int) { return t * n / tasks, (t + 1) * n / tasks }

type sumMode uint8

const (
	sumPlain sumMode = iota // Σ x
	sumSqDev                // Σ (x - c)²
	sumExp                  // Σ exp(x - c)
)

// sums writes the per-output sums of a (float) into total (length
// p.nOut), in the order described at sumBlock. center holds c per output
// for the modes that use it.
func (p *reducePlan) sums(a *Tensor, mode sumMode, center, total []float64) {
	if a.dtype == Float32 {
		reduceSums(p, a.f32, mode, center, total)
	} else {
		reduceSums(p, a.f64, mode, center, total)
	}
}

func reduceSums[T kernels.Float](p *reducePlan, x []T, mode sumMode, center, total []float64) {
	clear(total)
	if p.nOut == 1 && p.nd == 1 && p.innerRed && p.nRed > parallelElems {
		sumBlocksParallel(&p.planWalk, p.nRed, x, mode, center, total)
		return
	}
	// The lanes of every output, lane-major: lane l of output o is
	// part[l*nOut+o], so a column walk adds into contiguous memory.
	part := getF64(kernels.Lanes * p.nOut)
	defer putF64(part)
	clear(part)
	if d, tasks := p.split(); d >= 0 {
		w := p.planWalk
		kernels.Parallel(tasks, func(t int) {
			lo, hi := taskRange(w.size[d], t, tasks)
			sumWalk(&w, d, lo, hi, x, mode, center, part, total)
		})
	} else {
		sumWalk(&p.planWalk, -1, 0, 0, x, mode, center, part, total)
	}
	for o := range total {
		total[o] += laneSum(part, o, p.nOut)
	}
}

// laneSum returns the sum of output o's lanes in part (see reduceSums) and
// zeroes them.
func laneSum(part []float64, o, nOut int) float64 {
	var acc [kernels.Lanes]float64
	for l := range acc {
		acc[l], part[l*nOut+o] = part[l*nOut+o], 0
	}
	return kernels.LaneSum(&acc)
}

// sumWalk adds the inputs that w.each(d, lo, hi) visits into their
// outputs' lanes in part, moving each completed block into total.
func sumWalk[T kernels.Float](w *planWalk, d, lo, hi int, x []T, mode sumMode, center, part, total []float64) {
	const L = kernels.Lanes
	nOut := len(total)
	// Whole rows of a plain sum, each within one block, are summed four at
	// a time (kernels.SumLanesRuns: every row's additions as if alone, the
	// rows side by side), each finished as the loop below finishes it.
	var bat rowBatch
	flush := func() {
		if bat.k == 0 {
			return
		}
		var accs [len(bat.pin)][L]float64
		kernels.SumLanesRuns(x, bat.pin[0], 1, bat.n, 0, bat.rs, accs[:bat.k])
		for i := range bat.k {
			pout := bat.pout[i]
			if bat.n == sumBlock {
				total[pout] += kernels.LaneSum(&accs[i])
				continue
			}
			for l := range accs[i] {
				part[l*nOut+pout] = accs[i][l]
			}
		}
		bat.k = 0
	}
	defer flush()
	w.each(d, lo, hi, func(pin, sin, pout, sout, r, n int) {
		if w.innerRed && mode == sumPlain && sin == 1 && r == 0 && n >= rowBatchMin && n <= sumBlock && lanesZero(part, pout, nOut) {
			if bat.k > 0 && (n != bat.n || pin-bat.pin[bat.k-1] < n || (bat.k > 1 && pin-bat.pin[bat.k-1] != bat.rs)) {
				flush()
			}
			if bat.k == 1 {
				bat.rs = pin - bat.pin[0]
			}
			bat.pin[bat.k], bat.pout[bat.k], bat.n = pin, pout, n
			if bat.k++; bat.k == len(bat.pin) {
				flush()
			}
			return
		}
		if w.innerRed {
			var acc [L]float64
			for l := range acc {
				acc[l] = part[l*nOut+pout]
			}
			for n > 0 {
				m := min(n, sumBlock-r%sumBlock)
				switch mode {
				case sumPlain:
					kernels.SumLanes(x, pin, sin, m, r, &acc)
				case sumSqDev:
					kernels.SumSqDevLanes(x, pin, sin, m, r, center[pout], &acc)
				default:
					kernels.SumExpLanes(x, pin, sin, m, r, center[pout], &acc)
				}
				pin, n, r = pin+m*sin, n-m, r+m
				if r%sumBlock == 0 {
					total[pout] += kernels.LaneSum(&acc)
					acc = [L]float64{}
				}
			}
			for l := range acc {
				part[l*nOut+pout] = acc[l]
			}
			return
		}
		lane := part[(r&(L-1))*nOut:]
		switch mode {
		case sumPlain:
			kernels.AccumCol(lane, pout, sout, x, pin, sin, n)
		case sumSqDev:
			kernels.AccumSqDevCol(lane, pout, sout, x, pin, sin, n, center)
		default:
			kernels.AccumExpCol(lane, pout, sout, x, pin, sin, n, center)
		}
		if (r+1)%sumBlock == 0 {
			for i := range n {
				o := pout + i*sout
				total[o] += laneSum(part, o, nOut)
			}
		}
	})
}

// rowBatch holds rows of a plain sum waiting to be summed side by side:
// k rows of n inputs starting at pin[i], rs apart, for outputs pout[i].
type rowBatch struct {
	pin, pout [4]int
	k, n, rs  int
}

// rowBatchMin is the shortest row worth batching (SumLanesRuns takes
// shorter ones one at a time anyway).
const rowBatchMin = 32

// lanesZero reports whether output o's lanes in part hold nothing yet.
func lanesZero(part []float64, o, nOut int) bool {
	for l := range kernels.Lanes {
		if part[l*nOut+o] != 0 {
			return false
		}
	}
	return true
}

// sumBlocksParallel is the sum of a single output over one strided axis of
// n inputs: its blocks are summed on several goroutines, and their sums
// added in order, which is what the sequential walk adds too.
func sumBlocksParallel[T kernels.Float](w *planWalk, n int, x []T, mode sumMode, center, total []float64) {
	nb := (n + sumBlock - 1) / sumBlock
	bs := getF64(nb)
	defer putF64(bs)
	per := max(1, blockElems/sumBlock)
	off, st := w.offset, w.inSt[0]
	c := 0.0
	if center != nil {
		c = center[0]
	}
	kernels.Parallel((nb+per-1)/per, func(t int) {
		b, end := t*per, min(nb, (t+1)*per)
		if mode == sumPlain && st == 1 {
			// The task's whole blocks side by side: each is its own chain
			// of additions, made in the same order as one at a time.
			var accs [blockElems / sumBlock][kernels.Lanes]float64
			full := min(end, n/sumBlock) - b
			if full > 1 {
				kernels.SumLanesRuns(x, off+b*sumBlock, 1, sumBlock, 0, sumBlock, accs[:full])
				for k := range full {
					bs[b+k] = kernels.LaneSum(&accs[k])
				}
				b += full
			}
		}
		for ; b < end; b++ {
			var acc [kernels.Lanes]float64
			r := b * sumBlock
			m := min(sumBlock, n-r)
			switch mode {
			case sumPlain:
				kernels.SumLanes(x, off+r*st, st, m, r, &acc)
			case sumSqDev:
				kernels.SumSqDevLanes(x, off+r*st, st, m, r, c, &acc)
			default:
				kernels.SumExpLanes(x, off+r*st, st, m, r, c, &acc)
			}
			bs[b] = kernels.LaneSum(&acc)
		}
	})
	t := 0.0
	for _, v := range bs {
		t += v
	}
	if n%sumBlock == 0 { // the sequential walk ends by adding empty lanes
		var zero [kernels.Lanes]float64
		t += kernels.LaneSum(&zero)
	}
	total[0] = t
}

// blockedSum is the sum of one output whose n inputs are one strided run
// (x[px+i*sx], r = i), added exactly as the plan's walk adds them: the
// fast paths of softmax use it to give the same bits as the general one.
func blockedSum[T kernels.Float](x []T, px, sx, n int, mode sumMode, c float64) float64 {
	var acc [kernels.Lanes]float64
	total := 0.0
	for r := 0; r < n; {
		m := min(n-r, sumBlock)
		if mode == sumExp {
			kernels.SumExpLanes(x, px+r*sx, sx, m, r, c, &acc)
		} else {
			kernels.SumLanes(x, px+r*sx, sx, m, r, &acc)
		}
		r += m
		if r%sumBlock == 0 {
			total += kernels.LaneSum(&acc)
			acc = [kernels.Lanes]float64{}
		}
	}
	return total + kernels.LaneSum(&acc)
}

// Scratch float64 buffers for the partial sums of reductions, reused
// across calls (a few, of moderate size: a huge one goes back to the
// garbage collector).
var f64Scratch struct {
	sync.Mutex
	free [][]float64
}

const (
	f64ScratchKeep = 16      // buffers kept
	f64ScratchMax  = 1 << 16 // largest buffer kept, in elements
)

func getF64(n int) []float64 {
	f64Scratch.Lock()
	for i := len(f64Scratch.free) - 1; i >= 0; i-- {
		if b := f64Scratch.free[i]; cap(b) >= n {
			last := len(f64Scratch.free) - 1
			f64Scratch.free[i] = f64Scratch.free[last]
			f64Scratch.free[last] = nil
			f64Scratch.free = f64Scratch.free[:last]
			f64Scratch.Unlock()
			return b[:n]
		}
	}
	f64Scratch.Unlock()
	return make([]float64, n, max(n, 64))
}

func putF64(b []float64) {
	if cap(b) > f64ScratchMax {
		return
	}
	f64Scratch.Lock()
	if len(f64Scratch.free) < f64ScratchKeep {
		f64Scratch.free = append(f64Scratch.free, b[:0])
	}
	f64Scratch.Unlock()
}

// extremes writes the per-output maximum (or minimum) of a into a new
// tensor of the keep shape, NaN where an input is NaN. p.nRed must be
// positive.
func (p *reducePlan) extremes(op string, a *Tensor, isMax bool) *Tensor {
	out := rawIn(poolOf(op, a), a.dtype, p.keep)
	if a.dtype == Float32 {
		reduceExtremes(p, a.f32, out.f32, isMax)
	} else {
		reduceExtremes(p, a.f64, out.f64, isMax)
	}
	return out
}

func reduceExtremes[T kernels.Float](p *reducePlan, x, out []T, isMax bool) {
	if d, tasks := p.split(); d >= 0 {
		w := p.planWalk
		kernels.Parallel(tasks, func(t int) {
			lo, hi := taskRange(w.size[d], t, tasks)
			extremeWalk(&w, d, lo, hi, x, out, isMax)
		})
		return
	}
	extremeWalk(&p.planWalk, -1, 0, 0, x, out, isMax)
}

func extremeWalk[T kernels.Float](w *planWalk, d, lo, hi int, x, out []T, isMax bool) {
	w.each(d, lo, hi, func(pin, sin, pout, sout, r, n int) {
		if w.innerRed {
			acc := out[pout]
			if r == 0 {
				acc = x[pin]
			}
			if isMax {
				out[pout] = kernels.MaxRun(x, pin, sin, n, acc)
			} else {
				out[pout] = kernels.MinRun(x, pin, sin, n, acc)
			}
			return
		}
		if isMax {
			kernels.MaxCol(out, pout, sout, x, pin, sin, n, r == 0)
		} else {
			kernels.MinCol(out, pout, sout, x, pin, sin, n, r == 0)
		}
	})
}

// valuesInto writes float64 values into the contiguous float tensor t,
// rounding them once for float32.
func valuesInto(t *Tensor, v []float64) {
	if t.dtype == Float64 {
		copy(t.f64[t.offset:], v)
		return
	}
	d := t.f32[t.offset : t.offset+len(v)]
	for i, x := range v {
		d[i] = float32(x)
	}
}

// outShape is the shape of a reduction's result.
func (p *reducePlan) outShape(shape, ax []int, keep bool) []int {
	if keep {
		return p.keep
	}
	return dropShape(shape, ax)
}

// withShape returns a view of the contiguous tensor t with another shape of
// the same size, outside autograd.
func withShape(t *Tensor, shape []int) *Tensor {
	v := t.view(shape, nil, t.offset)
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		v.strides[i] = s
		s *= shape[i]
	}
	return v
}

// mustNonEmpty panics when a reduction that has no identity (max, argmax)
// would reduce an axis of length 0.
func mustNonEmpty(op string, p *reducePlan, shape, ax []int) {
	if p.nRed > 0 {
		return
	}
	for _, d := range ax {
		if shape[d] == 0 {
			panic(fmt.Sprintf("backprop: %s: cannot reduce axis %d of length 0 (shape %v)", op, d, shape))
		}
	}
}

// Sum sums over axes (all when none), dropping them. The sum of an empty
// axis is 0.
func (a *Tensor) Sum(axes ...int) *Tensor { return a.sum(axes, false) }

// SumKeep sums over axes (all when none), keeping them with length 1.
func (a *Tensor) SumKeep(axes ...int) *Tensor { return a.sum(axes, true) }

func (a *Tensor) sum(axes []int, keep bool) *Tensor {
	a.mustFloat("Sum")
	var buf [maxPlanDims]int
	ax := reduceAxesInto(buf[:0], "Sum", axes, len(a.shape))
	out := a.sumValues("Sum", ax, keep, 1)
	if !recording(out, a) {
		return out
	}
	inShape, ks := a.shape, keepShape(a.shape, ax)
	return record("Sum", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.Reshape(ks...).Expand(inShape...))
	})
}

// keepShape is shape with the given (normalized) axes set to 1.
func keepShape(shape, axes []int) []int {
	ks := slices.Clone(shape)
	for _, a := range axes {
		ks[a] = 1
	}
	return ks
}

// sumValues returns the sums over ax divided by div (rounded once), not
// recorded.
func (a *Tensor) sumValues(op string, ax []int, keep bool, div float64) *Tensor {
	var p reducePlan
	x := p.init(op, a, ax)
	out := rawIn(poolOf(op, a), a.dtype, p.outShape(a.shape, ax, keep))
	v := getF64(p.nOut)
	p.sums(x, sumPlain, nil, v)
	if div != 1 {
		for i := range v {
			v[i] /= div
		}
	}
	valuesInto(out, v)
	putF64(v)
	return out
}

// Mean averages over axes (all when none), dropping them. The mean of an
// empty axis is NaN, as in PyTorch.
func (a *Tensor) Mean(axes ...int) *Tensor { return a.mean(axes, false) }

// MeanKeep is Mean keeping the reduced axes with length 1.
func (a *Tensor) MeanKeep(axes ...int) *Tensor { return a.mean(axes, true) }

func (a *Tensor) mean(axes []int, keep bool) *Tensor {
	a.mustFloat("Mean")
	var buf [maxPlanDims]int
	ax := reduceAxesInto(buf[:0], "Mean", axes, len(a.shape))
	n := 1
	for _, d := range ax {
		n *= a.shape[d]
	}
	nf := float64(n)
	out := a.sumValues("Mean", ax, keep, nf)
	if !recording(out, a) {
		return out
	}
	inShape, ks := a.shape, keepShape(a.shape, ax)
	return record("Mean", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.Reshape(ks...).DivScalar(nf).Expand(inShape...))
	})
}

// Var is the unbiased variance over axes (all when none), dropping them:
// the sum of squared deviations from the mean divided by n-1, torch.var's
// default. See VarWith.
func (a *Tensor) Var(axes ...int) *Tensor { return a.VarWith(1, false, axes...) }

// VarKeep is Var keeping the reduced axes with length 1.
func (a *Tensor) VarKeep(axes ...int) *Tensor { return a.VarWith(1, true, axes...) }

// VarWith is the variance over axes (all when none) with the sum of squared
// deviations divided by max(0, n - correction): correction 1 is the
// unbiased estimate, 0 the population variance (what BatchNorm uses). When
// correction >= n the result is inf or NaN, as in PyTorch. keepdim keeps the
// reduced axes with length 1.
func (a *Tensor) VarWith(correction int, keepdim bool, axes ...int) *Tensor {
	a.mustFloat("Var")
	ax := reduceAxes("Var", axes, len(a.shape))
	var p reducePlan
	x := p.init("Var", a, ax)
	mean, v := getF64(p.nOut), getF64(p.nOut)
	p.sums(x, sumPlain, nil, mean)
	for i := range mean {
		mean[i] /= float64(p.nRed)
	}
	p.sums(x, sumSqDev, mean, v)
	div := float64(max(0, p.nRed-correction))
	for i := range v {
		v[i] /= div
	}
	out := rawIn(poolOf("Var", a), a.dtype, p.outShape(a.shape, ax, keepdim))
	valuesInto(out, v)
	putF64(mean)
	putF64(v)
	ks := p.keep
	return record("Var", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		// d/dx Σ(x-m)²/div = 2(x-m)/div: the mean's own derivative drops
		// out because the deviations sum to zero. Written with the mean as
		// an op, so that the second derivative keeps that term.
		x := c.Input(0)
		dev := x.Sub(x.MeanKeep(ax...))
		return c.one(g.Reshape(ks...).MulScalar(2 / div).Mul(dev))
	})
}

// Max is the largest value over axes (all when none), dropping them
// (torch.amax). NaN propagates. The gradient is split evenly among tied
// maxima. Reducing an axis of length 0 panics.
func (a *Tensor) Max(axes ...int) *Tensor { return a.extremum("Max", true, axes, false) }

// MaxKeep is Max keeping the reduced axes with length 1.
func (a *Tensor) MaxKeep(axes ...int) *Tensor { return a.extremum("Max", true, axes, true) }

// Min is the smallest value over axes (all when none), dropping them
// (torch.amin); see Max.
func (a *Tensor) Min(axes ...int) *Tensor { return a.extremum("Min", false, axes, false) }

// MinKeep is Min keeping the reduced axes with length 1.
func (a *Tensor) MinKeep(axes ...int) *Tensor { return a.extremum("Min", false, axes, true) }

func (a *Tensor) extremum(op string, isMax bool, axes []int, keep bool) *Tensor {
	a.mustFloat(op)
	ax := reduceAxes(op, axes, len(a.shape))
	var p reducePlan
	x := p.init(op, a, ax)
	mustNonEmpty(op, &p, a.shape, ax)
	out := p.extremes(op, x, isMax)
	if !keep {
		out = withShape(out, dropShape(a.shape, ax))
	}
	ks := p.keep
	return record(op, out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		w := extremumWeights(c.Input(0).Detach(), c.Output().Detach().Reshape(ks...), ax)
		return c.one(g.Reshape(ks...).Mul(w))
	})
}

// extremumWeights is where the gradient of a max or min goes: 1/k at each
// of the k inputs that equal their output (NaN matching NaN), 0 elsewhere.
// It is a constant: the choice of positions has no derivative.
func extremumWeights(x, yKeep *Tensor, ax []int) *Tensor {
	hit32 := func(v, m float32) float32 {
		if v == m || (v != v && m != m) {
			return 1
		}
		return 0
	}
	hit64 := func(v, m float64) float64 {
		if v == m || (v != v && m != m) {
			return 1
		}
		return 0
	}
	mask := binaryMap("Max", x, yKeep, hit32, hit64)
	count := mask.sumValues("Max", ax, true, 1)
	binaryInto(mask, mask, count, kernels.DivRun[float32], kernels.DivRun[float64])
	return mask
}

// ArgMax returns the index of the largest value along axis, which is
// dropped, as an Int64 tensor: the first index on ties, and the first NaN
// if there is one (as torch.argmax). It is not differentiable and never
// recorded. It works on Int64 tensors too. An axis of length 0 panics.
func (a *Tensor) ArgMax(axis int) *Tensor { return a.argExtremum("ArgMax", true, axis) }

// ArgMin is ArgMax for the smallest value.
func (a *Tensor) ArgMin(axis int) *Tensor { return a.argExtremum("ArgMin", false, axis) }

func (a *Tensor) argExtremum(op string, isMax bool, axis int) *Tensor {
	a.mustTensor(op)
	ax := reduceAxes(op, []int{axis}, len(a.shape))
	var p reducePlan
	x := p.init(op, a, ax)
	mustNonEmpty(op, &p, a.shape, ax)
	out := rawIn(poolOf(op, a), Int64, dropShape(a.shape, ax))
	switch a.dtype {
	case Float32:
		reduceArg(&p, x.f32, out.i64, isMax)
	case Float64:
		reduceArg(&p, x.f64, out.i64, isMax)
	default:
		reduceArg(&p, x.i64, out.i64, isMax)
	}
	out.noGrad = a.noGrad
	return out
}

func reduceArg[T kernels.Ordered](p *reducePlan, x []T, idx []int64, isMax bool) {
	var best []T
	if !p.innerRed {
		best = make([]T, p.nOut)
	}
	p.each(-1, 0, 0, func(pin, sin, pout, sout, r, n int) {
		switch {
		case p.innerRed && isMax:
			idx[pout] = int64(kernels.ArgMaxRun(x, pin, sin, n))
		case p.innerRed:
			idx[pout] = int64(kernels.ArgMinRun(x, pin, sin, n))
		case isMax:
			kernels.ArgMaxCol(best, idx, pout, sout, x, pin, sin, n, r)
		default:
			kernels.ArgMinCol(best, idx, pout, sout, x, pin, sin, n, r)
		}
	})
}

// logSumExpValues writes log Σ exp(x) per output into dst in float64,
// shifted by each output's maximum so no term overflows. An infinite
// maximum is not used as the shift (it would make inf - inf), which gives
// -inf for an output whose inputs are all -inf and inf when one is +inf, as
// PyTorch. x is the tensor p.init returned.
func logSumExpValues(op string, x *Tensor, p *reducePlan, dst []float64) {
	shift := getF64(p.nOut)
	defer putF64(shift)
	clear(shift)
	if p.nRed > 0 {
		m := p.extremes(op, x, true)
		for i := range shift {
			if v := m.getFlat(i); !math.IsInf(v, 0) {
				shift[i] = v
			}
		}
	}
	p.sums(x, sumExp, shift, dst)
	for i := range dst {
		dst[i] = math.Log(dst[i]) + shift[i]
	}
}

// LogSumExp is log Σ exp(x) over axes (all when none), dropping them,
// computed stably by shifting by the maximum. Its gradient is the softmax
// over the same axes. An empty axis gives -inf.
func (a *Tensor) LogSumExp(axes ...int) *Tensor { return a.logSumExp(axes, false) }

// LogSumExpKeep is LogSumExp keeping the reduced axes with length 1.
func (a *Tensor) LogSumExpKeep(axes ...int) *Tensor { return a.logSumExp(axes, true) }

func (a *Tensor) logSumExp(axes []int, keep bool) *Tensor {
	a.mustFloat("LogSumExp")
	ax := reduceAxes("LogSumExp", axes, len(a.shape))
	var p reducePlan
	x := p.init("LogSumExp", a, ax)
	v := getF64(p.nOut)
	logSumExpValues("LogSumExp", x, &p, v)
	out := rawIn(poolOf("LogSumExp", a), a.dtype, p.outShape(a.shape, ax, keep))
	valuesInto(out, v)
	putF64(v)
	ks := p.keep
	return record("LogSumExp", out, []*Tensor{a}, func(c *BackwardContext, g *Tensor) []*Tensor {
		return c.one(g.Reshape(ks...).Mul(softmaxAxes(c.Input(0), ax)))
	})
}

// mapKeep returns f(x, c) elementwise over a, where c is a float64 per
// output of a reduction with keep shape keep (broadcast along the reduced
// axes). It computes in float64 and rounds once.
func mapKeep(op string, a *Tensor, keep []int, c []float64, f func(x, c float64) float64) *Tensor {
	out := rawIn(poolOf(op, a), a.dtype, a.shape)
	cs := contiguousStrides(keep)
	for d := range cs {
		if keep[d] == 1 {
			cs[d] = 0
		}
	}
	eachRun(a.shape, []int{0, a.offset, 0}, [][]int{out.strides, a.strides, cs}, func(p []int, n int, s []int) {
		if a.dtype == Float32 {
			dst := out.f32[p[0] : p[0]+n]
			for i := range dst {
				dst[i] = float32(f(float64(a.f32[p[1]+i*s[1]]), c[p[2]+i*s[2]]))
			}
			return
		}
		dst := out.f64[p[0] : p[0]+n]
		for i := range dst {
			dst[i] = f(a.f64[p[1]+i*s[1]], c[p[2]+i*s[2]])
		}
	})
	return out
}
