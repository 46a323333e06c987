package backprop_test

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// poolNet is a small MLP whose buffers are big enough for the pool to
// matter: 256-256-10 at batch 64.
type poolNet struct {
	w, b []*bp.Tensor
	x, y *bp.Tensor
}

func newPoolNet(dt bp.DType, seed uint64) *poolNet {
	rng := bp.NewRNG(seed)
	sizes := []int{256, 256, 10}
	m := &poolNet{}
	for l := 1; l < len(sizes); l++ {
		s := 1 / math.Sqrt(float64(sizes[l-1]))
		m.w = append(m.w, rng.UniformOf(dt, -s, s, sizes[l], sizes[l-1]).SetRequiresGrad(true))
		m.b = append(m.b, rng.UniformOf(dt, -s, s, sizes[l]).SetRequiresGrad(true))
	}
	m.x = rng.UniformOf(dt, 0, 1, 64, 256)
	lab := make([]int, 64)
	for i := range lab {
		lab[i] = rng.IntN(10)
	}
	m.y = bp.FromInts(lab, 64)
	return m
}

func (m *poolNet) params() []*bp.Tensor { return append(slices.Clone(m.w), m.b...) }

// step runs forward, backward and SGD in p (nil: the heap) and returns the
// loss. It uses both cross-entropies, Tanh and a broadcast Mul so that
// several kinds of op (and their backward) allocate in the pool.
func (m *poolNet) step(p *bp.Pool) float64 {
	x := m.x
	if p != nil {
		x = x.InPool(p)
	}
	h := x.MatMul(m.w[0].T()).Add(m.b[0]).ReLU()
	h = h.Mul(h.Tanh().MeanKeep(0)).Add(h)
	logits := h.MatMul(m.w[1].T()).Add(m.b[1])
	n := m.y.Size(0)
	ce := logits.LogSoftmax(1).Gather(1, m.y.Reshape(n, 1)).Neg().Mean()
	loss := ce.Add(bp.CrossEntropyFromLogits(logits, m.y)).MulScalar(0.5)
	loss.Backward()
	for _, q := range m.params() {
		if q.Grad().Pool() != nil {
			panic("a parameter's gradient is marked with a pool")
		}
		switch q.DType() {
		case bp.Float32:
			w, g := q.F32(), q.Grad().F32()
			for i := range w {
				w[i] -= 0.1 * g[i]
			}
		default:
			w, g := q.F64(), q.Grad().F64()
			for i := range w {
				w[i] -= 0.1 * g[i]
			}
		}
		q.ZeroGrad()
	}
	v := loss.Item()
	if p != nil {
		p.Reset()
	}
	return v
}

// A pool changes where results live, never their values.
func TestPoolSameValues(t *testing.T) {
	for _, dt := range []bp.DType{bp.Float32, bp.Float64} {
		heap, pooled := newPoolNet(dt, 3), newPoolNet(dt, 3)
		p := bp.NewPool()
		for i := range 4 {
			a, b := heap.step(nil), pooled.step(p)
			if a != b {
				t.Fatalf("%v step %d: loss %v on the heap, %v in a pool", dt, i, a, b)
			}
		}
		for i, q := range heap.params() {
			if !slices.Equal(q.Float64s(), pooled.params()[i].Float64s()) {
				t.Fatalf("%v: parameter %d differs after 4 steps", dt, i)
			}
		}
		if st := p.Stats(); st.Reused == 0 || st.Resets != 4 {
			t.Errorf("%v: stats %+v: no buffer was reused", dt, st)
		}
	}
}

// After the first step a pool hands out only buffers it already has, and
// a step allocates a small fraction of what it does on the heap.
func TestPoolReusesMemory(t *testing.T) {
	m := newPoolNet(bp.Float32, 1)
	p := bp.NewPool()
	m.step(p)
	fresh := p.Stats().Fresh
	perStep := func(p *bp.Pool) uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		for range 5 {
			m.step(p)
		}
		runtime.ReadMemStats(&b)
		return (b.TotalAlloc - a.TotalAlloc) / 5
	}
	pooled, heap := perStep(p), perStep(nil)
	if got := p.Stats().Fresh; got != fresh {
		t.Errorf("the pool allocated %d new buffers in steps after the first", got-fresh)
	}
	t.Logf("bytes per step: %d in a pool, %d on the heap", pooled, heap)
	if pooled*5 > heap && !raceEnabled {
		t.Errorf("a pooled step allocates %d bytes, a heap step %d: want less than a fifth", pooled, heap)
	}
}

func TestPoolMarks(t *testing.T) {
	p := bp.NewPool()
	w := bp.NewRNG(1).Normal(0, 1, 3, 4).SetRequiresGrad(true)
	x := bp.NewRNG(2).Normal(0, 1, 2, 3)
	xp := x.InPool(p)
	if xp.Pool() != p || x.Pool() != nil {
		t.Fatal("InPool marked the wrong tensor")
	}
	y := xp.MatMul(w).ReLU()
	for _, r := range []*bp.Tensor{y, y.T(), y.Reshape(8), y.Detach(), y.NoGrad(), y.Sum(), xp.Mul(x), x.Mul(xp)} {
		if r.Pool() != p {
			t.Errorf("result of shape %v is not marked", r.Shape())
		}
	}
	if u := y.InPool(nil); u.Pool() != nil || u.Add(u).Pool() != nil {
		t.Error("InPool(nil) kept the mark")
	}
	if x.Add(x).Pool() != nil || w.Mul(w).Pool() != nil {
		t.Error("unmarked inputs gave a marked result")
	}
	y.Sum().Backward()
	if w.Grad().Pool() != nil {
		t.Error("the parameter's gradient is marked with the pool")
	}
	g := slices.Clone(w.Grad().Float32s())
	p.Reset()
	xp.MatMul(w).Exp().Sum() // reuses the freed buffers
	if !slices.Equal(g, w.Grad().Float32s()) {
		t.Error("the parameter's gradient changed when the pool was reused")
	}

	// With CreateGraph the stored gradient is a graph, still off the pool.
	v := bp.NewRNG(3).NormalOf(bp.Float64, 0, 1, 4).SetRequiresGrad(true)
	v.InPool(p).Square().Sum().BackwardWith(nil, bp.BackwardOptions{CreateGraph: true})
	if v.Grad().Pool() != nil || !v.Grad().RequiresGrad() {
		t.Errorf("CreateGraph gradient: pool %v, requires grad %v", v.Grad().Pool(), v.Grad().RequiresGrad())
	}
	p.Reset()
	v2 := v.Grad().Sum() // still alive and differentiable after Reset
	if !v2.RequiresGrad() {
		t.Error("the CreateGraph gradient lost its graph")
	}
}

// A tensor computed in a pool is dead after Reset: using it panics.
func TestPoolUseAfterReset(t *testing.T) {
	p := bp.NewPool()
	x := bp.NewRNG(1).Normal(0, 1, 4, 5).InPool(p)
	y := x.Exp()
	v := y.T()
	p.Reset()
	mustPanic(t, "Reset", func() { y.Add(x) })
	mustPanic(t, "Reset", func() { x.Mul(v.T()) })
	mustPanic(t, "Reset", func() { y.Float32s() })
	mustPanic(t, "Reset", func() { y.F32() })
	mustPanic(t, "Reset", func() { y.Sum().Item() })
	mustPanic(t, "Reset", func() { v.At(0, 0) })
	// x itself only marks the pool: its data is the heap's, so it lives on.
	if x.Exp().Pool() != p {
		t.Error("a marked heap tensor stopped working after Reset")
	}
	// Backward through a graph whose tensors died.
	w := bp.NewRNG(2).Normal(0, 1, 5, 3).SetRequiresGrad(true)
	loss := x.MatMul(w).Tanh().Sum()
	p.Reset()
	mustPanic(t, "Reset", func() { loss.Backward() })
}

// In debug mode Reset poisons what it frees and never reuses it, so a
// dead tensor read by a path without checks shows NaN.
func TestPoolDebugPoisons(t *testing.T) {
	for _, env := range []bool{false, true} {
		var p *bp.Pool
		if env {
			t.Setenv("BACKPROP_POOL_DEBUG", "1")
			p = bp.NewPool()
		} else {
			p = bp.NewPool().SetDebug(true)
		}
		y := bp.NewRNG(1).Normal(0, 1, 4, 5).InPool(p).Exp()
		raw := y.StorageF32() // kept past Reset: nothing can check it
		p.Reset()
		for i, v := range raw {
			if !math.IsNaN(float64(v)) {
				t.Fatalf("env %v: element %d is %v after Reset, want NaN", env, i, v)
			}
		}
		z := bp.NewRNG(1).Normal(0, 1, 4, 5).InPool(p).Exp()
		if &z.StorageF32()[0] == &raw[0] {
			t.Errorf("env %v: debug mode reused a freed buffer", env)
		}
	}
	if bp.NewPool().SetDebug(false) == nil {
		t.Fatal("SetDebug returned nil")
	}
}

// Pools are independent: two goroutines, each with its own pool, train
// their own model while a third runs inference on one of them in a third
// pool, and they get the values they get alone.
func TestPoolConcurrent(t *testing.T) {
	want := make([][]float64, 2)
	for g := range 2 {
		m := newPoolNet(bp.Float64, uint64(10+g))
		for range 3 {
			want[g] = append(want[g], m.step(nil))
		}
	}
	shared := newPoolNet(bp.Float64, 99)
	wantInf := shared.x.MatMul(shared.w[0].T()).Sum().Item()
	got := make([][]float64, 2)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			m, p := newPoolNet(bp.Float64, uint64(10+g)), bp.NewPool()
			for range 3 {
				got[g] = append(got[g], m.step(p))
			}
		})
	}
	var inf []float64
	wg.Go(func() {
		p := bp.NewPool()
		for range 3 {
			x := shared.x.NoGrad().InPool(p)
			inf = append(inf, x.MatMul(shared.w[0].T()).Sum().Item())
			p.Reset()
		}
	})
	wg.Wait()
	for g := range 2 {
		if !slices.Equal(got[g], want[g]) {
			t.Errorf("goroutine %d: losses %v, alone %v", g, got[g], want[g])
		}
	}
	for _, v := range inf {
		if v != wantInf {
			t.Errorf("inference gave %v, alone %v", v, wantInf)
		}
	}
}

// Release drops the pool's buffers; it then starts afresh.
func TestPoolRelease(t *testing.T) {
	p := bp.NewPool()
	y := bp.Ones(100, 100).InPool(p).Exp()
	if p.Stats().Bytes < 40000 {
		t.Fatalf("stats %+v", p.Stats())
	}
	p.Release()
	if p.Stats().Bytes != 0 {
		t.Errorf("stats after Release %+v", p.Stats())
	}
	mustPanic(t, "Reset", func() { y.Item() })
	if v := bp.Ones(2, 2).InPool(p).Sum().Item(); v != 4 {
		t.Errorf("pool after Release: sum %v", v)
	}
}

// ZeroGrad defers its fill: Backward then writes the gradient into the
// kept buffer, and Grad reads zeros when asked first.
func TestZeroGradDeferred(t *testing.T) {
	w := bp.Float64.Full(2, 3).SetRequiresGrad(true)
	w.Mul(w).Sum().Backward() // grad 2w = 4
	buf := w.Grad()
	w.ZeroGrad()
	if g := w.Grad(); g != buf || !slices.Equal(g.Float64s(), []float64{0, 0, 0}) {
		t.Fatalf("after ZeroGrad: %v", g)
	}
	w.ZeroGrad()
	w.MulScalar(3).Sum().Backward()
	if g := w.Grad(); g != buf || !slices.Equal(g.Float64s(), []float64{3, 3, 3}) {
		t.Fatalf("Backward after ZeroGrad: %v (same buffer %v)", g, g == buf)
	}
	w.MulScalar(3).Sum().Backward() // accumulates
	if g := w.Grad().Float64s(); !slices.Equal(g, []float64{6, 6, 6}) {
		t.Fatalf("second Backward: %v", g)
	}
	w.ZeroGrad()
	w.SetGrad(bp.Float64.Full(1, 3))
	if g := w.Grad().Float64s(); !slices.Equal(g, []float64{1, 1, 1}) {
		t.Fatalf("SetGrad after ZeroGrad: %v", g)
	}
	w.ZeroGrad()
	w.ClearGrad()
	if w.Grad() != nil {
		t.Fatal("ClearGrad after ZeroGrad left a gradient")
	}
	// A gradient buffer that is a view at an offset is written in place.
	store := bp.Float64.Full(7, 5)
	w.SetGrad(store.Slice(0, 2, 5))
	w.ZeroGrad()
	w.MulScalar(3).Sum().Backward()
	if g := store.Float64s(); !slices.Equal(g, []float64{7, 7, 3, 3, 3}) {
		t.Fatalf("gradient view after ZeroGrad and Backward: storage %v", g)
	}
}

// Max pooling keeps its argmax indices in the pool: gradients through a
// pooled MaxPool2d match the heap's, and a backward pass after Reset is the
// usual clear error rather than a scatter through reused indices.
func TestPoolMaxPoolIndices(t *testing.T) {
	opt := bp.Pool2dOptions{Kernel: [2]int{2, 2}}
	grads := func(p *bp.Pool) []float64 {
		x := bp.NewRNG(3).Normal(0, 1, 2, 3, 6, 6).SetRequiresGrad(true)
		var g []float64
		for range 3 { // later steps reuse the pool's buffers
			x.ZeroGrad()
			xi := x
			if p != nil {
				xi = x.InPool(p)
			}
			xi.MaxPool2d(opt).Square().Sum().Backward()
			g = x.Grad().Float64s()
			if p != nil {
				p.Reset()
			}
		}
		return g
	}
	if heap, pooled := grads(nil), grads(bp.NewPool()); !slices.Equal(heap, pooled) {
		t.Fatalf("pooled MaxPool2d gradient differs from the heap's")
	}
	p := bp.NewPool()
	x := bp.NewRNG(4).Normal(0, 1, 1, 2, 4, 4).SetRequiresGrad(true)
	loss := x.InPool(p).MaxPool2d(opt).Sum()
	p.Reset()
	mustPanic(t, "Reset", func() { loss.Backward() })
}
