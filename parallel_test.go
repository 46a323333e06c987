package backprop_test

import (
	"fmt"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// Large elementwise ops, reductions and softmaxes run on several
// goroutines; their results must not depend on how many. Every op below is
// big enough to be cut into blocks (more than 64K elements), and is run
// with 1, 2 and 3 threads.
func TestParallelBitIdentical(t *testing.T) {
	defer bp.SetThreads(0)
	rng := bp.NewRNG(11)
	x32 := rng.Normal(0, 2, 300, 701) // rows that are not a multiple of anything
	y32 := rng.Normal(0, 2, 300, 701)
	row32 := rng.Normal(0, 2, 701)
	labels := make([]int, 300)
	for i := range labels {
		labels[i] = (i * 13) % 701
	}
	lab := bp.FromInts(labels, 300)
	ops := []struct {
		name string
		f    func(x, y, row *bp.Tensor) *bp.Tensor
	}{
		{"Add", func(x, y, _ *bp.Tensor) *bp.Tensor { return x.Add(y) }},
		{"AddRow", func(x, _, r *bp.Tensor) *bp.Tensor { return x.Add(r) }},
		{"SubT", func(x, y, _ *bp.Tensor) *bp.Tensor { return x.T().Sub(y.T()) }},
		{"MulScalar", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.MulScalar(0.3) }},
		{"Div", func(x, y, _ *bp.Tensor) *bp.Tensor { return x.Div(y) }},
		{"ReLU", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.ReLU() }},
		{"ReLUT", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.T().ReLU() }},
		{"Exp", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Exp() }},
		{"Tanh", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Tanh() }},
		{"Sum", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Sum() }},
		{"SumRows", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Sum(1) }},
		{"SumCols", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Sum(0) }},
		{"SumColsT", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.T().Sum(1) }},
		{"Mean", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Mean(0) }},
		{"Var", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Var(1) }},
		{"LogSumExp", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.LogSumExp(0) }},
		{"Max", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Max(1) }},
		{"MinT", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.T().Min(0) }},
		{"Softmax", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.Softmax(1) }},
		{"SoftmaxT", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.T().Softmax(0) }},
		{"LogSoftmax", func(x, _, _ *bp.Tensor) *bp.Tensor { return x.LogSoftmax(-1) }},
		{"CrossEntropy", func(x, _, _ *bp.Tensor) *bp.Tensor { return bp.CrossEntropyFromLogits(x, lab) }},
		{"CrossEntropyGrad", func(x, _, _ *bp.Tensor) *bp.Tensor {
			v := x.Detach().SetRequiresGrad(true)
			bp.CrossEntropyFromLogits(v, lab).Backward()
			return v.Grad()
		}},
		{"ReLUGrad", func(x, y, _ *bp.Tensor) *bp.Tensor {
			v := x.Detach().SetRequiresGrad(true)
			v.ReLU().Mul(y).Sum().Backward()
			return v.Grad()
		}},
	}
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		x, y, row := x32.To(dt), y32.To(dt), row32.To(dt)
		for _, op := range ops {
			var first []float64
			for _, th := range []int{1, 2, 3} {
				bp.SetThreads(th)
				got := op.f(x, y, row).Float64s()
				if th == 1 {
					first = got
					continue
				}
				if !slices.EqualFunc(first, got, sameBits) {
					t.Errorf("%v %s: %d threads differ from 1", dt, op.name, th)
				}
			}
		}
	}
}

// sameBits is == that also matches NaN with NaN.
func sameBits(a, b float64) bool { return a == b || (a != a && b != b) }

// The row fast paths of Softmax and LogSoftmax compute what the general
// path computes for another layout of the same values.
func TestSoftmaxLayoutIndependent(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		for _, n := range []int{3, 1030, 2500} {
			x := bp.NewRNG(uint64(n)).NormalOf(dt, 0, 4, 5, n)
			xt := x.T().Contiguous().T() // same values, column-major
			for _, f := range []func(*bp.Tensor) *bp.Tensor{
				func(v *bp.Tensor) *bp.Tensor { return v.Softmax(1) },
				func(v *bp.Tensor) *bp.Tensor { return v.LogSoftmax(1) },
			} {
				a, b := f(x).Float64s(), f(xt).Float64s()
				if !slices.Equal(a, b) {
					t.Errorf("%v n=%d: contiguous and column-major rows differ", dt, n)
				}
			}
		}
	}
}

// Elementwise results over every layout kind the walker meets: broadcast
// on either side, transposed, sliced, and more axes than it collapses
// (which falls back to the general walk).
func TestElementwiseLayouts(t *testing.T) {
	deep := make([]int, 10)
	for i := range deep {
		deep[i] = 2
	}
	base := rnd(1, deep...)
	perm := []int{9, 0, 8, 1, 7, 2, 6, 3, 5, 4}
	cases := []struct {
		name string
		a, b *bp.Tensor
	}{
		{"same", rnd(1, 3, 4), rnd(2, 3, 4)},
		{"row", rnd(1, 3, 4), rnd(2, 4)},
		{"col", rnd(1, 3, 1), rnd(2, 3, 4)},
		{"scalar", rnd(1), rnd(2, 3, 4)},
		{"transposed", nonContig(1, 3, 4), rnd(2, 3, 4)},
		{"sliced", rnd(1, 6, 4).SliceStep(0, 0, 6, 2), rnd(2, 1, 4)},
		{"deep", base.Permute(perm...), rnd(3, deep...)},
	}
	for _, c := range cases {
		for _, op := range []struct {
			name string
			f    func(a, b *bp.Tensor) *bp.Tensor
			ref  func(x, y float64) float64
		}{
			{"Add", (*bp.Tensor).Add, func(x, y float64) float64 { return x + y }},
			{"Sub", (*bp.Tensor).Sub, func(x, y float64) float64 { return x - y }},
			{"Mul", (*bp.Tensor).Mul, func(x, y float64) float64 { return x * y }},
			{"Div", (*bp.Tensor).Div, func(x, y float64) float64 { return x / y }},
		} {
			got := op.f(c.a, c.b)
			shape := got.Shape()
			ea, eb := c.a.Expand(shape...).Contiguous().Float64s(), c.b.Expand(shape...).Contiguous().Float64s()
			for i, v := range got.Float64s() {
				if w := op.ref(ea[i], eb[i]); v != w {
					t.Fatalf("%s %s: element %d is %v, want %v", c.name, op.name, i, v, w)
				}
			}
		}
		if c.name == "deep" || c.name == "transposed" {
			got := c.a.ReLU().Float64s()
			for i, v := range c.a.Contiguous().Float64s() {
				if got[i] != max(v, 0) {
					t.Fatalf("%s ReLU: element %d is %v for %v", c.name, i, got[i], v)
				}
			}
		}
	}
}

func BenchmarkThreads(b *testing.B) {
	defer bp.SetThreads(0)
	x := bp.NewRNG(1).Normal(0, 1, 1024, 1024)
	p := bp.NewPool()
	xp := x.InPool(p)
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("Add/threads=%d", th), func(b *testing.B) {
			bp.SetThreads(th)
			benchOp(b, 12*x.Numel(), p, func() *bp.Tensor { return xp.Add(x) })
		})
		b.Run(fmt.Sprintf("Sum/threads=%d", th), func(b *testing.B) {
			bp.SetThreads(th)
			benchOp(b, 4*x.Numel(), p, func() *bp.Tensor { return xp.Sum() })
		})
	}
}
