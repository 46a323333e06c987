package kernels

import (
	"math"
	"unsafe"
)

// Reduction kernels. A reduction walks each output's inputs in one fixed
// order, so its result does not depend on the memory layout or on how the
// caller splits the walk: a "run" kernel folds a strided run of inputs into
// one accumulator (the inputs of one output), a "col" kernel folds one input
// into each of n accumulators (one input of n outputs). The caller passes the
// accumulator in, so a walk split into pieces gives the same bits as one
// that is not. Sums accumulate in float64 whatever the element type, which
// keeps float32 sums accurate without a compensated algorithm, in Lanes
// partial sums per output.

// Ordered is an element type with a total order apart from NaN.
type Ordered interface{ ~float32 | ~float64 | ~int64 }

// isNaN is false for every integer; for floats it is the only self-unequal value.
func isNaN[T Ordered](v T) bool { return v != v }

// Lanes is the number of partial sums a sum keeps for each output: input r
// of an output (its index in the output's fixed order) goes to lane r mod
// Lanes. Independent lanes let the additions overlap instead of waiting on
// one another, and since the lane of an input depends on r alone, a sum
// split into runs and columns however the layout demands still adds the
// same values in the same order.
const Lanes = 4

// LaneSum combines the lanes of one output, always in the same order.
func LaneSum(acc *[Lanes]float64) float64 { return (acc[0] + acc[1]) + (acc[2] + acc[3]) }

// SumLanes adds the n values x[px+i*sx], inputs r, r+1, ... of one output,
// into their lanes of acc, in float64.
func SumLanes[T Float](x []T, px, sx, n, r int, acc *[Lanes]float64) {
	if sx != 1 {
		for i := range n {
			acc[(r+i)&(Lanes-1)] += float64(x[px+i*sx])
		}
		return
	}
	x = x[px : px+n]
	i := 0
	for ; i < len(x) && (r+i)&(Lanes-1) != 0; i++ {
		acc[(r+i)&(Lanes-1)] += float64(x[i])
	}
	i += sumLanesFast(x[i:], acc)
	a0, a1, a2, a3 := acc[0], acc[1], acc[2], acc[3]
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		a0 += float64(v[0])
		a1 += float64(v[1])
		a2 += float64(v[2])
		a3 += float64(v[3])
	}
	acc[0], acc[1], acc[2], acc[3] = a0, a1, a2, a3
	for ; i < len(x); i++ {
		acc[(r+i)&(Lanes-1)] += float64(x[i])
	}
}

// SumLanesRuns is SumLanes for len(acc) outputs at once: the n values
// x[px+k*rs+i*sx], inputs r, r+1, ... of the output whose lanes are acc[k].
// Each output gets SumLanes's additions in SumLanes's order; one output's
// sum is a chain of dependent additions that nothing may reorder, but the
// chains of different outputs (rows, or the independent blocks of one long
// sum) can run side by side, which is what the vector code does.
func SumLanesRuns[T Float](x []T, px, sx, n, r, rs int, acc [][Lanes]float64) {
	if sx != 1 || n < 32 || len(acc) < 4 {
		for k := range acc {
			SumLanes(x, px+k*rs, sx, n, r, &acc[k])
		}
		return
	}
	// A head up to lane 0, the vector part, a tail: each run in order.
	h := min(n, -r&(Lanes-1))
	for k := range acc {
		SumLanes(x, px+k*rs, 1, h, r, &acc[k])
	}
	m := (n - h) &^ (Lanes - 1)
	done := 0
	if rs >= 0 && len(acc) > 0 {
		// The slice ends at the last run's end, so no run reaches past x.
		done = sumRunsFast(x[px+h:px+(len(acc)-1)*rs+n], rs, m, acc)
	}
	for k := range acc {
		if k < done {
			SumLanes(x, px+k*rs+h+m, 1, n-h-m, r+h+m, &acc[k])
		} else {
			SumLanes(x, px+k*rs+h, 1, n-h, r+h, &acc[k])
		}
	}
}

// SumSqDevLanes is SumLanes for the squared deviations (x - c)² (a
// variance's second pass). The square is converted explicitly so that no
// compiler fuses it into the addition: the vector code rounds it too.
func SumSqDevLanes[T Float](x []T, px, sx, n, r int, c float64, acc *[Lanes]float64) {
	i := 0
	if sx == 1 {
		x, px = x[px:px+n], 0
		for ; i < n && (r+i)&(Lanes-1) != 0; i++ {
			d := float64(x[i]) - c
			acc[(r+i)&(Lanes-1)] += float64(d * d)
		}
		i += sumSqDevFast(x[i:], c, acc)
	}
	for ; i < n; i++ {
		d := float64(x[px+i*sx]) - c
		acc[(r+i)&(Lanes-1)] += float64(d * d)
	}
}

// SumExpLanes is SumLanes for exp(x - c) (a log-sum-exp shifted by c so
// that no term overflows).
func SumExpLanes[T Float](x []T, px, sx, n, r int, c float64, acc *[Lanes]float64) {
	for i := range n {
		acc[(r+i)&(Lanes-1)] += math.Exp(float64(x[px+i*sx]) - c)
	}
}

// AccumCol adds x[px+i*sx], one input of each of n outputs, to acc[pa+i*sa]
// (the outputs' partial sums in one lane).
func AccumCol[T Float](acc []float64, pa, sa int, x []T, px, sx, n int) {
	if sa == 1 && sx == 1 {
		acc = acc[pa : pa+n]
		if isF32[T]() && accumF32Fast(acc, f32s(x[px:px+n])) {
			return
		}
		for i, v := range x[px : px+n] {
			acc[i] += float64(v)
		}
		return
	}
	for i := range n {
		acc[pa+i*sa] += float64(x[px+i*sx])
	}
}

// AccumSqDevCol is AccumCol for (x - c[o])², o = pa+i*sa the output.
func AccumSqDevCol[T Float](acc []float64, pa, sa int, x []T, px, sx, n int, c []float64) {
	i := 0
	if sa == 1 && sx == 1 {
		i = accumSqDevFast(acc[pa:pa+n], x[px:px+n], c[pa:pa+n])
	}
	for ; i < n; i++ {
		o := pa + i*sa
		d := float64(x[px+i*sx]) - c[o]
		acc[o] += float64(d * d)
	}
}

// AccumExpCol is AccumCol for exp(x - c[o]), o = pa+i*sa the output.
func AccumExpCol[T Float](acc []float64, pa, sa int, x []T, px, sx, n int, c []float64) {
	for i := range n {
		o := pa + i*sa
		acc[o] += math.Exp(float64(x[px+i*sx]) - c[o])
	}
}

// MaxRun returns the largest of acc and the n values x[px+i*sx]; NaN if any
// of them is NaN (as torch.amax).
func MaxRun[T Float](x []T, px, sx, n int, acc T) T {
	if sx == 1 {
		if m, ok := extremeRun(x[px:px+n], acc, true); ok {
			return m
		}
	}
	for i := range n {
		if v := x[px+i*sx]; v > acc || v != v {
			acc = v
		}
	}
	return acc
}

// MinRun is MaxRun for the smallest value.
func MinRun[T Float](x []T, px, sx, n int, acc T) T {
	if sx == 1 {
		if m, ok := extremeRun(x[px:px+n], acc, false); ok {
			return m
		}
	}
	for i := range n {
		if v := x[px+i*sx]; v < acc || v != v {
			acc = v
		}
	}
	return acc
}

// extremeRun is MaxRun (isMax) or MinRun of a contiguous run with the
// vector code, if it applies: not on a run with a NaN, whose result is its
// last NaN, left to the Go loop. Without NaN the loop's result is the first
// of acc, x[0], x[1], ... that equals the extremum; its bits are the
// extremum's unless that is zero, where -0 and +0 are equal but differ.
func extremeRun[T Float](x []T, acc T, isMax bool) (T, bool) {
	m, k, nan := extremeFast(x, isMax)
	if k == 0 || nan {
		return 0, false
	}
	for _, v := range x[k:] {
		if v != v {
			return 0, false
		}
		if (isMax && v > m) || (!isMax && v < m) {
			m = v
		}
	}
	if acc != acc || acc == m || (isMax && acc > m) || (!isMax && acc < m) {
		return acc, true
	}
	if m == 0 {
		for _, v := range x {
			if v == 0 {
				return v, true
			}
		}
	}
	return m, true
}

// MaxCol folds x[px+i*sx] into acc[pa+i*sa] as MaxRun does; with init it
// stores the values instead (the first input of each output).
func MaxCol[T Float](acc []T, pa, sa int, x []T, px, sx, n int, init bool) {
	i := 0
	if sa == 1 && sx == 1 {
		if init {
			copy(acc[pa:pa+n], x[px:px+n])
			return
		}
		i = extremeColFast(acc[pa:pa+n], x[px:px+n], true)
	}
	for ; i < n; i++ {
		v, a := x[px+i*sx], &acc[pa+i*sa]
		if init || v > *a || v != v {
			*a = v
		}
	}
}

// MinCol is MaxCol for the smallest value.
func MinCol[T Float](acc []T, pa, sa int, x []T, px, sx, n int, init bool) {
	i := 0
	if sa == 1 && sx == 1 {
		if init {
			copy(acc[pa:pa+n], x[px:px+n])
			return
		}
		i = extremeColFast(acc[pa:pa+n], x[px:px+n], false)
	}
	for ; i < n; i++ {
		v, a := x[px+i*sx], &acc[pa+i*sa]
		if init || v < *a || v != v {
			*a = v
		}
	}
}

// ArgMaxRun returns the index i < n of the largest value x[px+i*sx]: the
// first one on ties, and the first NaN if there is one (as torch.argmax).
// n must be positive.
func ArgMaxRun[T Ordered](x []T, px, sx, n int) int {
	best, bi := x[px], 0
	if isNaN(best) {
		return 0
	}
	for i := 1; i < n; i++ {
		v := x[px+i*sx]
		if v > best || isNaN(v) {
			if isNaN(v) {
				return i
			}
			best, bi = v, i
		}
	}
	return bi
}

// ArgMinRun is ArgMaxRun for the smallest value.
func ArgMinRun[T Ordered](x []T, px, sx, n int) int {
	best, bi := x[px], 0
	if isNaN(best) {
		return 0
	}
	for i := 1; i < n; i++ {
		v := x[px+i*sx]
		if v < best || isNaN(v) {
			if isNaN(v) {
				return i
			}
			best, bi = v, i
		}
	}
	return bi
}

// ArgMaxCol offers x[px+i*sx], the element of index r along the reduced
// axis, to output pa+i*sa, whose best value so far is in best and its index
// in idx. r == 0 initializes. Ties and NaN are resolved as in ArgMaxRun.
func ArgMaxCol[T Ordered](best []T, idx []int64, pa, sa int, x []T, px, sx, n, r int) {
	for i := range n {
		v, o := x[px+i*sx], pa+i*sa
		if r == 0 || (!isNaN(best[o]) && (v > best[o] || isNaN(v))) {
			best[o], idx[o] = v, int64(r)
		}
	}
}

// ArgMinCol is ArgMaxCol for the smallest value.
func ArgMinCol[T Ordered](best []T, idx []int64, pa, sa int, x []T, px, sx, n, r int) {
	for i := range n {
		v, o := x[px+i*sx], pa+i*sa
		if r == 0 || (!isNaN(best[o]) && (v < best[o] || isNaN(v))) {
			best[o], idx[o] = v, int64(r)
		}
	}
}

// f64View views a []T of a float64 T as []float64.
func f64View[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
