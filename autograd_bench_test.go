package backprop_test

import (
	"math"
	"testing"
	"time"

	bp "github.com/gobackprop/backprop"
)

// The W4 workloads of ../shared/bench/w4_autograd.py: the cost of recording
// and differentiating tiny (0-d) tensors, where the engine's overhead is
// everything.

// scalarChain builds the 100,000-op chain (25,000 repeats of y+a, y*b,
// tanh, exp) from x, a, b and returns y.
func scalarChain(x, a, b *bp.Tensor, ops int) *bp.Tensor {
	y := x
	for range ops / 4 {
		y = y.Add(a)
		y = y.Mul(b)
		y = y.Tanh()
		y = y.Exp()
	}
	return y
}

// BenchmarkScalarChain reports forward (graph building) and backward time
// per op separately, as the PyTorch twin does.
func BenchmarkScalarChain(b *testing.B) {
	const ops = 100_000
	var fwd, bwd time.Duration
	b.ReportAllocs()
	for range b.N {
		x := bp.Float64.Scalar(0.3).SetRequiresGrad(true)
		a := bp.Float64.Scalar(0.1).SetRequiresGrad(true)
		c := bp.Float64.Scalar(0.5).SetRequiresGrad(true)
		t0 := time.Now()
		y := scalarChain(x, a, c, ops)
		t1 := time.Now()
		y.Backward()
		t2 := time.Now()
		fwd += t1.Sub(t0)
		bwd += t2.Sub(t1)
	}
	n := float64(b.N * ops)
	b.ReportMetric(float64(fwd.Nanoseconds())/n, "ns/op-fwd")
	b.ReportMetric(float64(bwd.Nanoseconds())/n, "ns/op-bwd")
}

func TestScalarChainValues(t *testing.T) {
	x := bp.Float64.Scalar(0.3).SetRequiresGrad(true)
	a := bp.Float64.Scalar(0.1).SetRequiresGrad(true)
	c := bp.Float64.Scalar(0.5).SetRequiresGrad(true)
	y := scalarChain(x, a, c, 100_000)
	y.Backward()
	// The PyTorch twin prints y = 2.30264, dy/da = 0.539416, dy/db = 2.59205.
	if math.Abs(y.Item()-2.30264) > 1e-5 || math.Abs(a.Grad().Item()-0.539416) > 1e-6 || math.Abs(c.Grad().Item()-2.59205) > 1e-5 {
		t.Fatalf("y=%v da=%v db=%v", y.Item(), a.Grad().Item(), c.Grad().Item())
	}
}

// moons returns the twin's 100 two-moons points, without its Gaussian noise
// (the benchmark measures the engine, not the data).
func moons() (xs [][2]float64, ys []float64) {
	for i := range 50 {
		t := math.Pi * float64(i) / 49
		xs = append(xs, [2]float64{math.Cos(t), math.Sin(t)})
		ys = append(ys, -1)
	}
	for i := range 50 {
		t := math.Pi * float64(i) / 49
		xs = append(xs, [2]float64{1 - math.Cos(t), 1 - math.Sin(t) - 0.5})
		ys = append(ys, 1)
	}
	return xs, ys
}

type scalarNeuron struct {
	w      []*bp.Tensor
	b      *bp.Tensor
	nonlin bool
}

// scalarMLP is micrograd's MLP: one 0-d tensor per weight.
type scalarMLP [][]scalarNeuron

func newScalarMLP(rng *bp.RNG, sizes ...int) scalarMLP {
	var m scalarMLP
	for l := 1; l < len(sizes); l++ {
		var layer []scalarNeuron
		for range sizes[l] {
			n := scalarNeuron{b: bp.Float64.Scalar(0).SetRequiresGrad(true), nonlin: l != len(sizes)-1}
			for range sizes[l-1] {
				n.w = append(n.w, bp.Float64.Scalar(2*rng.Float64()-1).SetRequiresGrad(true))
			}
			layer = append(layer, n)
		}
		m = append(m, layer)
	}
	return m
}

func (m scalarMLP) forward(x []*bp.Tensor) *bp.Tensor {
	for _, layer := range m {
		out := make([]*bp.Tensor, len(layer))
		for j, n := range layer {
			act := n.b
			for i, w := range n.w {
				act = act.Add(w.Mul(x[i]))
			}
			if n.nonlin {
				act = act.ReLU()
			}
			out[j] = act
		}
		x = out
	}
	return x[0]
}

func (m scalarMLP) params() []*bp.Tensor {
	var ps []*bp.Tensor
	for _, layer := range m {
		for _, n := range layer {
			ps = append(ps, n.w...)
			ps = append(ps, n.b)
		}
	}
	return ps
}

// mlpStep is one step of micrograd's demo: SVM max-margin loss plus L2,
// backward, SGD.
func mlpStep(m scalarMLP, xs [][2]float64, ys []float64, k int) float64 {
	var loss *bp.Tensor
	for i, p := range xs {
		s := m.forward([]*bp.Tensor{bp.Float64.Scalar(p[0]), bp.Float64.Scalar(p[1])})
		l := s.MulScalar(-ys[i]).AddScalar(1).ReLU()
		if loss == nil {
			loss = l
		} else {
			loss = loss.Add(l)
		}
	}
	loss = loss.MulScalar(1 / float64(len(xs)))
	var reg *bp.Tensor
	for _, p := range m.params() {
		sq := p.Mul(p)
		if reg == nil {
			reg = sq
		} else {
			reg = reg.Add(sq)
		}
	}
	total := loss.Add(reg.MulScalar(1e-4))
	for _, p := range m.params() {
		p.ClearGrad()
	}
	total.Backward()
	lr := 1 - 0.9*float64(k)/100
	for _, p := range m.params() {
		p.F64()[0] -= lr * p.Grad().Item()
	}
	return total.Item()
}

// BenchmarkMicrogradMLP is one training step of a 2-16-16-1 MLP on 100
// points computed entirely with scalar ops (about 65,000 nodes a step).
func BenchmarkMicrogradMLP(b *testing.B) {
	xs, ys := moons()
	m := newScalarMLP(bp.NewRNG(1337), 2, 16, 16, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		mlpStep(m, xs, ys, i%100)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
}

func TestMicrogradMLPLearns(t *testing.T) {
	xs, ys := moons()
	m := newScalarMLP(bp.NewRNG(1337), 2, 16, 16, 1)
	first := mlpStep(m, xs, ys, 0)
	var last float64
	for k := 1; k < 10; k++ {
		last = mlpStep(m, xs, ys, k)
	}
	if !(last < first*0.7) {
		t.Fatalf("loss %v -> %v: not learning", first, last)
	}
}

// TestManyLeavesGrad sums over more leaves than the engine finds by
// scanning, each used twice and some not at all by the first term, so that
// leaf sums cross from the scan to the map in the middle of a walk.
func TestManyLeavesGrad(t *testing.T) {
	const n = 20
	leaves := make([]*bp.Tensor, n)
	for i := range leaves {
		leaves[i] = bp.Float64.Scalar(float64(i) + 1).SetRequiresGrad(true)
	}
	// y = Σ x_i² + Σ 3·x_i, built as x_i·x_i and x_i·3 so each leaf gets
	// two contributions: dy/dx_i = 2x_i + 3.
	three := bp.Float64.Scalar(3)
	y := bp.Float64.Scalar(0)
	for _, x := range leaves {
		y = y.Add(x.Mul(x))
	}
	for _, x := range leaves {
		y = y.Add(x.Mul(three))
	}
	y.Backward()
	for i, x := range leaves {
		want := 2*(float64(i)+1) + 3
		if g := x.Grad().Item(); g != want {
			t.Fatalf("leaf %d: grad %v, want %v", i, g, want)
		}
	}
}
