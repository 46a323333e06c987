package backprop

import (
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The memory arena (Pool), for storage only: max and average pooling are
// in pooling.go, the kernels' worker goroutines in internal/kernels.
//
// What a pooled step still allocates on the heap is small and fixed: the
// Tensor headers and graph nodes of the step (a tensor of up to four axes
// is one allocation, its shape inside it, and an op that will record gets
// its node in the same allocation; see alloc.go), the closures of ops whose
// backward captures arguments, and the worker goroutines of parallel
// kernels. Scratch space (a reduction's partial sums, GEMM packing, the
// engine's walk) is reused across calls. BenchmarkMLPStep measures it.

// Pool is an arena for the storage of tensors computed in a training step
// (or any repeated computation), so that a steady-state step allocates
// almost nothing on the Go heap.
//
// Its use travels with the data, as NoGrad does: x.InPool(p) is a view of x
// marked with p, and every op with a marked input takes its result's
// storage from p and marks the result too. So the whole forward pass from
// x, the loss, and the gradients that Backward computes from them come from
// p; parameters, which are not marked, stay where they are, and the
// gradients that Backward accumulates into their Grad are always allocated
// on the heap, never in a pool. (With CreateGraph the stored Grad is a heap
// copy too, but the graph behind it reaches back into the pool:
// differentiate it before Reset.)
//
//	p := backprop.NewPool()
//	for step := ... {
//		loss := nn.CrossEntropy(model.Forward(x.InPool(p)), y)
//		loss.Backward()
//		opt.Step()
//		fmt.Println(loss.Item()) // read what you need first
//		p.Reset()                // every tensor computed in p is now dead
//	}
//
// Reset makes every buffer that p handed out since the previous Reset free
// for reuse by later ops (free lists by exact size, so a step that repeats
// the shapes of the last one reuses all of it). After Reset, a tensor
// computed in the pool must not be used: its storage belongs to whatever op
// takes it next. Using one anyway (as an op's input, or through Item, At,
// F32 and the other accessors) panics, naming the op; views and Detach
// copies of it are dead too. Copy out what must outlive the step first:
// t.InPool(nil).Clone() makes a heap copy, and Item returns a plain number.
// In debug mode (SetDebug, or BACKPROP_POOL_DEBUG=1 in the environment when
// the pool is made) Reset also fills the freed buffers with NaN (int64
// buffers with math.MinInt64) and never reuses them, so a dead tensor read
// by a path that does not check (the raw storage of a view kept from
// before, say) shows NaN rather than another step's numbers.
//
// A Pool's methods may be called from several goroutines, but a pool is
// meant for one computation at a time: two goroutines computing in the same
// pool share its Reset, and one's Reset kills the other's tensors. Give
// each goroutine its own pool; pools are independent of one another.
type Pool struct {
	mu    sync.Mutex
	gen   atomic.Uint32 // bumped by Reset: storage handed out before is dead
	debug bool
	f32   freeLists[float32]
	f64   freeLists[float64]
	i64   freeLists[int64]
	stats PoolStats
}

// freeLists holds one dtype's buffers: free ones by length, and the ones
// handed out since the last Reset.
type freeLists[T float32 | float64 | int64] struct {
	free map[int][][]T
	used [][]T
}

// PoolStats counts what a Pool has done since it was made.
type PoolStats struct {
	Fresh  int64 // buffers allocated on the heap because none was free
	Reused int64 // buffers handed out again from a free list
	Bytes  int64 // bytes of all the buffers the pool holds (free or in use)
	Resets int64
}

// NewPool returns an empty pool. The environment variable
// BACKPROP_POOL_DEBUG=1 turns its debug mode on (see SetDebug).
func NewPool() *Pool {
	p := &Pool{}
	p.debug = os.Getenv("BACKPROP_POOL_DEBUG") == "1"
	return p
}

// SetDebug turns debug mode on or off and returns p: in debug mode Reset
// poisons the freed buffers (NaN) and drops them instead of reusing them,
// so that a tensor used after Reset cannot silently read another step's
// values.
func (p *Pool) SetDebug(on bool) *Pool {
	p.mu.Lock()
	p.debug = on
	p.mu.Unlock()
	return p
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Reset frees every buffer handed out since the previous Reset for reuse.
// Every tensor computed in the pool before it is dead afterwards; see Pool.
func (p *Pool) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen.Add(1)
	p.stats.Resets++
	if p.debug {
		p.stats.Bytes -= poisonDrop(&p.f32, float32(math.NaN()), 4)
		p.stats.Bytes -= poisonDrop(&p.f64, math.NaN(), 8)
		p.stats.Bytes -= poisonDrop(&p.i64, math.MinInt64, 8)
		return
	}
	recycle(&p.f32)
	recycle(&p.f64)
	recycle(&p.i64)
}

// Release drops every buffer the pool holds, free or in use, so that the
// garbage collector can take them once no tensor refers to them; the pool
// stays usable. Like Reset, it kills every tensor computed in the pool.
func (p *Pool) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen.Add(1)
	p.f32, p.f64, p.i64 = freeLists[float32]{}, freeLists[float64]{}, freeLists[int64]{}
	p.stats.Bytes = 0
}

func recycle[T float32 | float64 | int64](l *freeLists[T]) {
	if l.free == nil && len(l.used) > 0 {
		l.free = make(map[int][][]T)
	}
	for i, b := range l.used {
		l.free[len(b)] = append(l.free[len(b)], b)
		l.used[i] = nil
	}
	l.used = l.used[:0]
}

// poisonDrop fills the buffers in use with v and forgets them; it returns
// how many bytes it forgot.
func poisonDrop[T float32 | float64 | int64](l *freeLists[T], v T, size int64) int64 {
	var n int64
	for i, b := range l.used {
		for j := range b {
			b[j] = v
		}
		n += int64(len(b)) * size
		l.used[i] = nil
	}
	l.used = l.used[:0]
	return n
}

// take hands out a buffer of length n: a free one (zeroed when zero is
// set) or a new one.
func take[T float32 | float64 | int64](p *Pool, l *freeLists[T], n int, zero bool, size int64) []T {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b []T
	if fl := l.free[n]; len(fl) > 0 {
		b = fl[len(fl)-1]
		fl[len(fl)-1] = nil
		l.free[n] = fl[:len(fl)-1]
		p.stats.Reused++
		if zero {
			clear(b)
		}
	} else {
		b = make([]T, n)
		p.stats.Fresh++
		p.stats.Bytes += int64(n) * size
	}
	l.used = append(l.used, b)
	return b
}

// InPool returns a view of t's data (shared, not copied) marked with p:
// every op that has a marked input allocates its result in p and marks it
// too. InPool(nil) returns an unmarked view, whose results go to the heap
// (its own data stays where it is: a view of pooled storage still dies at
// Reset). When t requires a gradient the view is a recorded identity, so
// gradients flow through it to t. See Pool.
func (t *Tensor) InPool(p *Pool) *Tensor {
	t.checkLive("InPool")
	v := t.view(t.shape, t.strides, t.offset)
	v.noGrad = t.noGrad
	v.pool = p
	return record("InPool", v, []*Tensor{t}, identityGrad)
}

// Pool returns the pool t is marked with (see InPool), or nil.
func (t *Tensor) Pool() *Pool { return t.pool }

// checkLive panics when t's storage came from a pool that has been Reset
// since: the storage may already hold another tensor's values.
func (t *Tensor) checkLive(op string) {
	t.mustTensor(op)
	if t.owner != nil && t.owner.gen.Load() != t.gen {
		panic(fmt.Sprintf("backprop: %s: tensor of shape %v was computed in a Pool that has been Reset since; its storage is reused (copy out what must outlive a step before Reset)", op, t.shape))
	}
}

// poolOf returns the pool an op on the inputs allocates its result from:
// the mark of the first marked input, or nil (the heap). It panics, naming
// op, when an input's storage is dead (see Pool). Every op's result
// allocation goes through it and newIn or rawIn:
//
//	out := rawIn(poolOf("Op", a, b), a.dtype, shape)
func poolOf(op string, in ...*Tensor) *Pool {
	var p *Pool
	for _, t := range in {
		if t == nil {
			continue
		}
		t.checkLive(op)
		if p == nil {
			p = t.pool
		}
	}
	return p
}

// int32sLike returns n int32s (not zeroed) that live as long as t's
// storage: from the pool t was computed in, as float32 storage of the same
// size (neither holds pointers), or from the heap. Max pooling keeps its
// argmax indices in them, so a pooled training step allocates none.
func int32sLike(t *Tensor, n int) []int32 {
	p := t.owner
	if p == nil || n == 0 {
		return make([]int32, n)
	}
	b := take(p, &p.f32, n, false, 4)
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n)
}
