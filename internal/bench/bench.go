// Package bench holds the workloads behind `backprop bench`, the same ones
// the PyTorch twins in ../shared/bench run, so that both sides measure the
// same thing: one GEMM, the 100,000-op scalar autograd chain, and training
// steps. Each returns raw timings; the command takes medians.
package bench

import (
	"fmt"
	"slices"
	"time"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/kernels"
)

// Median returns the median of xs (the mean of the middle two for an even
// count).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// gemmMinTime is the shortest timing GEMM makes, in seconds.
const gemmMinTime = 0.1

// GEMM times C = op(A)*op(B) in float32 (C is m x n, the inner size k;
// transA/transB read A stored k x m, B stored n x k, as the twin's T shapes
// do) and returns GFLOP/s for each of reps timed repeats, after a warm-up.
func GEMM(m, n, k int, transA, transB bool, reps int) ([]float64, error) {
	if m <= 0 || n <= 0 || k <= 0 || reps <= 0 {
		return nil, fmt.Errorf("gemm: sizes and repeats must be positive (m=%d n=%d k=%d reps=%d)", m, n, k, reps)
	}
	rng := bp.NewRNG(1)
	a := rng.Uniform(-1, 1, m, k).F32()
	b := rng.Uniform(-1, 1, k, n).F32()
	c := make([]float32, m*n)
	flop := 2 * float64(m) * float64(n) * float64(k)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	run := func() { kernels.Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n) }
	// As the twin (w1_sgemm.py) times: warm up, then repeat the product
	// inside each timing until it lasts at least gemmMinTime, so that a
	// timing is not one short call at the mercy of a timer tick or of a
	// core waking up.
	for range 3 {
		run()
	}
	t0 := time.Now()
	run()
	one := time.Since(t0).Seconds()
	inner := max(1, int(gemmMinTime/max(one, 1e-9)))
	out := make([]float64, reps)
	for i := range reps {
		t0 := time.Now()
		for range inner {
			run()
		}
		out[i] = flop * float64(inner) / time.Since(t0).Seconds() / 1e9
	}
	return out, nil
}

// ScalarChain builds the twin's chain of ops 0-d float64 tensors (repeats of
// y+a, y*b, tanh, exp) and differentiates it. It returns the forward
// (recording) and backward time per op, and y.
func ScalarChain(ops int) (fwdNs, bwdNs, y float64) {
	x := bp.Float64.Scalar(0.3).SetRequiresGrad(true)
	a := bp.Float64.Scalar(0.1).SetRequiresGrad(true)
	b := bp.Float64.Scalar(0.5).SetRequiresGrad(true)
	t0 := time.Now()
	out := x
	for range ops / 4 {
		out = out.Add(a).Mul(b).Tanh().Exp()
	}
	t1 := time.Now()
	out.Backward()
	t2 := time.Now()
	n := float64(ops / 4 * 4)
	return float64(t1.Sub(t0).Nanoseconds()) / n, float64(t2.Sub(t1).Nanoseconds()) / n, out.Item()
}
