package backprop_test

import (
	"slices"
	"sync"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// sharedModel is a few leaves that every goroutine's graph uses: a Linear
// weight and bias (the weight's gradient is written in place into its
// buffer after ZeroGrad), a vector and a scalar (whose gradient comes
// through the scalar lane). Its values are small integers, so the
// gradients of any number of passes are exact in float64, in any order.
type sharedModel struct{ w, b, v, s *bp.Tensor }

func newSharedModel() *sharedModel {
	return &sharedModel{
		w: bp.FromFloat64s([]float64{1, 0, -1, 2, 1, 0}, 2, 3).SetRequiresGrad(true),
		b: bp.FromFloat64s([]float64{0, 1}).SetRequiresGrad(true),
		v: bp.FromFloat64s([]float64{1, 2, 3}).SetRequiresGrad(true),
		s: bp.Float64.Scalar(2).SetRequiresGrad(true),
	}
}

// pass records one loss on the shared leaves and runs Backward. Its
// gradients: w [[1 2 3] [1 2 3]], b [1 1], v [4 5 6], s 3.
func (m *sharedModel) pass() {
	x := bp.FromFloat64s([]float64{1, 2, 3}, 1, 3)
	c := bp.FromFloat64s([]float64{4, 5, 6})
	loss := bp.Linear(x, m.w, m.b).Sum().Add(m.v.Mul(c).Sum()).Add(m.s.MulScalar(3))
	loss.Backward()
}

func (m *sharedModel) zeroGrad() {
	for _, p := range []*bp.Tensor{m.w, m.b, m.v, m.s} {
		p.ZeroGrad()
	}
}

// check compares the accumulated gradients with those of n passes.
func (m *sharedModel) check(t *testing.T, n int) {
	t.Helper()
	k := float64(n)
	for _, c := range []struct {
		name string
		p    *bp.Tensor
		want []float64
	}{
		{"w", m.w, []float64{k, 2 * k, 3 * k, k, 2 * k, 3 * k}},
		{"b", m.b, []float64{k, k}},
		{"v", m.v, []float64{4 * k, 5 * k, 6 * k}},
		{"s", m.s, []float64{3 * k}},
	} {
		if got := c.p.Grad().Float64s(); !slices.Equal(got, c.want) {
			t.Errorf("after %d passes: grad %s = %v, want %v", n, c.name, got, c.want)
		}
	}
}

// concurrently runs passes backward passes on each of goroutines.
func concurrently(m *sharedModel, goroutines, passes int) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range goroutines {
		wg.Go(func() {
			<-start
			for range passes {
				m.pass()
			}
		})
	}
	close(start)
	wg.Wait()
}

// Backward passes on several goroutines over graphs that share leaves add
// every contribution to the leaves' gradients, as PyTorch's do.
func TestConcurrentBackwardSharedLeaves(t *testing.T) {
	goroutines, passes := 8, 1000
	if raceEnabled || testing.Short() {
		passes = 100
	}
	m := newSharedModel()
	m.pass() // gradient buffers exist; after ZeroGrad the first pass writes w's in place
	m.zeroGrad()
	concurrently(m, goroutines, passes)
	m.check(t, goroutines*passes)
}

// The in-place write into a buffer freed by ZeroGrad is claimed by one walk
// at a time; the others' sums wait for it. Every round starts from
// ZeroGrad, so every round races for the claim.
func TestConcurrentBackwardAfterZeroGrad(t *testing.T) {
	rounds := 300
	if raceEnabled || testing.Short() {
		rounds = 30
	}
	m := newSharedModel()
	m.pass()
	for r := range rounds {
		m.zeroGrad()
		concurrently(m, 8, 2)
		m.check(t, 16)
		if t.Failed() {
			t.Fatalf("in round %d", r)
		}
	}
}
