package backprop_test

import (
	"math"
	"runtime"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/kernels"
)

func TestSetThreads(t *testing.T) {
	defer bp.SetThreads(0)
	for _, n := range []int{1, 3, 2} {
		bp.SetThreads(n)
		if got := bp.Threads(); got != n {
			t.Fatalf("SetThreads(%d): Threads() = %d", n, got)
		}
		if got := kernels.Threads(); got != n {
			t.Fatalf("SetThreads(%d): the kernels use %d threads", n, got)
		}
	}
	bp.SetThreads(0)
	if got, want := bp.Threads(), runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("SetThreads(0): Threads() = %d, want GOMAXPROCS = %d", got, want)
	}
	bp.SetThreads(2)
	mustPanic(t, "SetThreads(-1)", func() { bp.SetThreads(-1) })
	if got := bp.Threads(); got != 2 {
		t.Fatalf("a rejected SetThreads(-1) changed Threads() from 2 to %d", got)
	}
}

// A layer's forward and backward give the same bits whatever the thread
// count: the promise SetThreads documents. The sizes are large enough that
// the matrix products and reductions split into several blocks.
func TestSetThreadsSameBits(t *testing.T) {
	defer bp.SetThreads(0)
	step := func(threads int) (loss float64, gw, gx []float64) {
		bp.SetThreads(threads)
		rng := bp.NewRNG(7)
		x := rng.NormalOf(bp.Float64, 0, 1, 257, 300).SetRequiresGrad(true)
		w := rng.NormalOf(bp.Float64, 0, 0.1, 300, 190).SetRequiresGrad(true)
		l := x.MatMul(w).Tanh().Mul(x.MatMul(w)).Sum()
		l.Backward()
		return l.Item(), w.Grad().Float64s(), x.Grad().Float64s()
	}
	l1, gw1, gx1 := step(1)
	for _, th := range []int{2, 5} {
		l, gw, gx := step(th)
		if math.Float64bits(l) != math.Float64bits(l1) {
			t.Fatalf("threads=%d: loss %v, with 1 thread %v", th, l, l1)
		}
		for i := range gw {
			if math.Float64bits(gw[i]) != math.Float64bits(gw1[i]) {
				t.Fatalf("threads=%d: dL/dw[%d] = %v, with 1 thread %v", th, i, gw[i], gw1[i])
			}
		}
		for i := range gx {
			if math.Float64bits(gx[i]) != math.Float64bits(gx1[i]) {
				t.Fatalf("threads=%d: dL/dx[%d] = %v, with 1 thread %v", th, i, gx[i], gx1[i])
			}
		}
	}
}
