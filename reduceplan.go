package backprop

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/gobackprop/backprop/internal/kernels"
)

// How a reduction runs (the reductions themselves are in reduce.go): the
// reduced axes are normalized, the input's layout is planned into a walk
// (planWalk) that moves through memory in small steps, and the walk feeds
// blocked float64 sums, or running extremes, one output at a time or
// shared among goroutines by a split fixed by the shape alone.

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

// build plans the reduction of a's layout over the axes ax; it reports
// false when the walk needs more than maxPlanDims axes.
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
	outSt, rSt := p.indexStrides(a.shape, red)
	return p.order(a, red, outSt, rSt)
}

// indexStrides returns, per axis of shape, the stride of the output index
// and of r, the index among an output's inputs (0 on kept axes), and sets
// p.nRed.
func (p *reducePlan) indexStrides(shape []int, red []bool) (outSt, rSt []int) {
	nd := len(shape)
	outSt = make([]int, nd)
	rSt = make([]int, nd)
	o, n := 1, 1
	for d := nd - 1; d >= 0; d-- {
		outSt[d] = o
		o *= p.keep[d]
		if red[d] {
			rSt[d] = n
			n *= shape[d]
		}
	}
	p.nRed = n
	return outSt, rSt
}

// order lays out the walk's axes, larger input strides outside, merging
// neighbours that are contiguous in input, output and r alike. It reports
// false when more than maxPlanDims axes remain.
func (p *reducePlan) order(a *Tensor, red []bool, outSt, rSt []int) bool {
	nd := len(a.shape)
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
	nOut := len(total)
	// Whole rows of a plain sum, each within one block, are summed four at
	// a time (kernels.SumLanesRuns: every row's additions as if alone, the
	// rows side by side), each finished as sumRow would finish it.
	var bat rowBatch
	defer flushRows(&bat, x, part, total)
	w.each(d, lo, hi, func(pin, sin, pout, sout, r, n int) {
		switch {
		case w.innerRed && mode == sumPlain && sin == 1 && r == 0 && n >= rowBatchMin && n <= sumBlock && lanesZero(part, pout, nOut):
			batchRow(&bat, x, pin, pout, n, part, total)
		case w.innerRed:
			sumRow(x, pin, sin, pout, r, n, mode, center, part, total)
		default:
			sumCols(x, pin, sin, pout, sout, r, n, mode, center, part, total)
		}
	})
}

// sumRow adds n inputs of output pout (indices r, r+1, ...) into its
// lanes, moving each completed block into total.
func sumRow[T kernels.Float](x []T, pin, sin, pout, r, n int, mode sumMode, center, part, total []float64) {
	const L = kernels.Lanes
	nOut := len(total)
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
}

// sumCols adds input r of each of n outputs (pout, sout apart) into their
// lanes, moving the outputs' blocks into total when r completes one.
func sumCols[T kernels.Float](x []T, pin, sin, pout, sout, r, n int, mode sumMode, center, part, total []float64) {
	nOut := len(total)
	lane := part[(r&(kernels.Lanes-1))*nOut:]
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
}

// batchRow adds the row of n inputs at pin, for output pout, to bat,
// summing the batch first when the row does not fit its pattern and after
// when it fills it.
func batchRow[T kernels.Float](bat *rowBatch, x []T, pin, pout, n int, part, total []float64) {
	if bat.k > 0 && (n != bat.n || pin-bat.pin[bat.k-1] < n || (bat.k > 1 && pin-bat.pin[bat.k-1] != bat.rs)) {
		flushRows(bat, x, part, total)
	}
	if bat.k == 1 {
		bat.rs = pin - bat.pin[0]
	}
	bat.pin[bat.k], bat.pout[bat.k], bat.n = pin, pout, n
	if bat.k++; bat.k == len(bat.pin) {
		flushRows(bat, x, part, total)
	}
}

// flushRows sums the rows waiting in bat: a whole block goes to total, a
// shorter row to its output's lanes.
func flushRows[T kernels.Float](bat *rowBatch, x []T, part, total []float64) {
	if bat.k == 0 {
		return
	}
	nOut := len(total)
	var accs [len(bat.pin)][kernels.Lanes]float64
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
