package kernels

import "math"

// Reduction kernels. A reduction walks each output's inputs in one fixed
// order, so its result does not depend on the memory layout or on how the
// caller splits the walk: a "run" kernel folds a strided run of inputs into
// one accumulator (the inputs of one output), a "col" kernel folds one input
// into each of n accumulators (one input of n outputs). The caller passes the
// accumulator in, so a walk split into pieces gives the same bits as one
// that is not. Sums accumulate in float64 whatever the element type, which
// keeps float32 sums accurate without a compensated algorithm.

// Ordered is an element type with a total order apart from NaN.
type Ordered interface{ ~float32 | ~float64 | ~int64 }

// isNaN is false for every integer; for floats it is the only self-unequal value.
func isNaN[T Ordered](v T) bool { return v != v }

// SumRun returns acc plus the n values x[px+i*sx], added one at a time in
// index order in float64.
func SumRun[T Float](x []T, px, sx, n int, acc float64) float64 {
	if sx == 1 {
		for _, v := range x[px : px+n] {
			acc += float64(v)
		}
		return acc
	}
	for i := range n {
		acc += float64(x[px+i*sx])
	}
	return acc
}

// SumSqDevRun returns acc plus the squared deviations (x - c)² of the n
// values x[px+i*sx] from c (a variance's second pass).
func SumSqDevRun[T Float](x []T, px, sx, n int, c, acc float64) float64 {
	for i := range n {
		d := float64(x[px+i*sx]) - c
		acc += d * d
	}
	return acc
}

// SumExpRun returns acc plus exp(x - c) over the n values x[px+i*sx] (a
// log-sum-exp shifted by c so that no term overflows).
func SumExpRun[T Float](x []T, px, sx, n int, c, acc float64) float64 {
	for i := range n {
		acc += math.Exp(float64(x[px+i*sx]) - c)
	}
	return acc
}

// AccumCol adds x[px+i*sx] to acc[pa+i*sa] for each i < n.
func AccumCol[T Float](acc []float64, pa, sa int, x []T, px, sx, n int) {
	if sa == 1 && sx == 1 {
		acc = acc[pa : pa+n]
		for i, v := range x[px : px+n] {
			acc[i] += float64(v)
		}
		return
	}
	for i := range n {
		acc[pa+i*sa] += float64(x[px+i*sx])
	}
}

// AccumSqDevCol adds (x[px+i*sx] - c[pa+i*sa])² to acc[pa+i*sa].
func AccumSqDevCol[T Float](acc []float64, pa, sa int, x []T, px, sx, n int, c []float64) {
	for i := range n {
		d := float64(x[px+i*sx]) - c[pa+i*sa]
		acc[pa+i*sa] += d * d
	}
}

// AccumExpCol adds exp(x[px+i*sx] - c[pa+i*sa]) to acc[pa+i*sa].
func AccumExpCol[T Float](acc []float64, pa, sa int, x []T, px, sx, n int, c []float64) {
	for i := range n {
		acc[pa+i*sa] += math.Exp(float64(x[px+i*sx]) - c[pa+i*sa])
	}
}

// MaxRun returns the largest of acc and the n values x[px+i*sx]; NaN if any
// of them is NaN (as torch.amax).
func MaxRun[T Float](x []T, px, sx, n int, acc T) T {
	for i := range n {
		if v := x[px+i*sx]; v > acc || v != v {
			acc = v
		}
	}
	return acc
}

// MinRun is MaxRun for the smallest value.
func MinRun[T Float](x []T, px, sx, n int, acc T) T {
	for i := range n {
		if v := x[px+i*sx]; v < acc || v != v {
			acc = v
		}
	}
	return acc
}

// MaxCol folds x[px+i*sx] into acc[pa+i*sa] as MaxRun does; with init it
// stores the values instead (the first input of each output).
func MaxCol[T Float](acc []T, pa, sa int, x []T, px, sx, n int, init bool) {
	for i := range n {
		v, a := x[px+i*sx], &acc[pa+i*sa]
		if init || v > *a || v != v {
			*a = v
		}
	}
}

// MinCol is MaxCol for the smallest value.
func MinCol[T Float](acc []T, pa, sa int, x []T, px, sx, n int, init bool) {
	for i := range n {
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
