package backprop_test

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// A whole training step of the W2 MLP (784-512-512-10, ReLU, batch 128,
// float32) from root ops only: forward, loss, Backward, and plain SGD on the
// raw slices. It measures what the engine and the ops add around the GEMMs,
// above all what a step allocates.

type stepMLP struct {
	w, b []*bp.Tensor
	x, y *bp.Tensor
}

func newStepMLP(seed uint64) *stepMLP {
	rng := bp.NewRNG(seed)
	sizes := []int{784, 512, 512, 10}
	m := &stepMLP{}
	for l := 1; l < len(sizes); l++ {
		in, out := sizes[l-1], sizes[l]
		s := 1 / math.Sqrt(float64(in))
		m.w = append(m.w, rng.Uniform(-s, s, out, in).SetRequiresGrad(true))
		m.b = append(m.b, rng.Uniform(-s, s, out).SetRequiresGrad(true))
	}
	m.x = rng.Uniform(0, 1, 128, 784)
	lab := make([]int, 128)
	for i := range lab {
		lab[i] = rng.IntN(10)
	}
	m.y = bp.FromInts(lab, 128)
	return m
}

// step runs forward, backward and SGD; fused picks the fused cross-entropy
// over LogSoftmax + Gather.
func (m *stepMLP) step(x *bp.Tensor, fused bool) float64 {
	h := x
	for l := range m.w {
		h = h.MatMul(m.w[l].T()).Add(m.b[l])
		if l < len(m.w)-1 {
			h = h.ReLU()
		}
	}
	var loss *bp.Tensor
	if fused {
		loss = bp.CrossEntropyFromLogits(h, m.y)
	} else {
		n := m.y.Size(0)
		loss = h.LogSoftmax(1).Gather(1, m.y.Reshape(n, 1)).Neg().Mean()
	}
	loss.Backward()
	const lr = 0.05
	for _, p := range append(m.w[:len(m.w):len(m.w)], m.b...) {
		w, g := p.F32(), p.Grad().F32()
		for i := range w {
			w[i] -= lr * g[i]
		}
		p.ZeroGrad()
	}
	return loss.Item()
}

func benchStep(b *testing.B, pooled, fused bool) {
	m := newStepMLP(1)
	var p *bp.Pool
	if pooled {
		p = bp.NewPool()
	}
	run := func() {
		x := m.x
		if p != nil {
			x = x.InPool(p)
		}
		m.step(x, fused)
		if p != nil {
			p.Reset()
		}
	}
	for range 3 { // warm the pool, the grads and the GEMM scratch
		run()
	}
	var before, after runtime.MemStats
	gcCPU := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(gcCPU)
	gc0 := gcCPU[0].Value.Float64()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	metrics.Read(gcCPU)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/step")
	b.ReportMetric((gcCPU[0].Value.Float64()-gc0)*1e6/float64(b.N), "gc-cpu-us/step")
	b.ReportMetric(float64(after.PauseTotalNs-before.PauseTotalNs)/1e3/float64(b.N), "gc-pause-us/step")
	b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "gc/step")
}

// BenchmarkMLPStep: go test -run NONE -bench MLPStep -benchtime 50x.
// GODEBUG=gctrace=1 shows each collection; gc/step, gc-pause-us/step
// (stop-the-world time) and gc-cpu-us/step (all the collector's CPU time,
// from runtime/metrics) summarize them.
func BenchmarkMLPStep(b *testing.B) {
	b.Run("heap", func(b *testing.B) { benchStep(b, false, false) })
	b.Run("heap-fusedCE", func(b *testing.B) { benchStep(b, false, true) })
	b.Run("pool", func(b *testing.B) { benchStep(b, true, false) })
	b.Run("pool-fusedCE", func(b *testing.B) { benchStep(b, true, true) })
}
