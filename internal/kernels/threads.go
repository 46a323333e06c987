package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// threads is the worker count set by SetThreads; 0 means GOMAXPROCS.
var threads atomic.Int64

// inParallel is set while a parallel region runs. A kernel that would start
// a region while another is running (nested inside it, or concurrently from
// another goroutine) runs on its own goroutine instead, so the process never
// has more than Threads() kernel workers plus the callers themselves: the
// oversubscription that OpenMP-inside-BLAS causes cannot happen here. It
// also makes the region state below (pool, par, gemmRegion) single-user.
var inParallel atomic.Bool

// SetThreads sets how many goroutines a parallel kernel may use. n < 1
// restores the default, runtime.GOMAXPROCS(0). Results do not depend on it:
// kernels split their work into blocks chosen from the problem's shape alone
// and compute every output element on one goroutine in a fixed order.
func SetThreads(n int) {
	if n < 1 {
		n = 0
	}
	threads.Store(int64(n))
	pool.shrink(Threads() - 1)
}

// Threads returns the number of goroutines a parallel kernel may use.
func Threads() int {
	if n := threads.Load(); n > 0 {
		return int(n)
	}
	return runtime.GOMAXPROCS(0)
}

// Parallel calls fn(i) once for every i in [0, n), spread over up to
// Threads() goroutines (the caller's included), and returns when all calls
// have finished. Callers choose n and what each task computes from the
// problem alone, never from Threads(), so the result does not depend on the
// thread count. Calls in any order, possibly concurrently; fn must not
// share writable state between tasks. A Parallel inside another (or
// concurrent with another) runs its tasks on the calling goroutine.
func Parallel(n int, fn func(i int)) {
	workers := min(Threads(), n)
	if workers <= 1 || !inParallel.CompareAndSwap(false, true) {
		for i := range n {
			fn(i)
		}
		return
	}
	par.n, par.fn = int64(n), fn
	par.next.Store(0)
	runRegion(workers-1, parallelBody)
	par.fn = nil
	inParallel.Store(false)
}

// par is the state of the running Parallel region. It lives in a global,
// not a closure, so that starting a region allocates nothing.
var par struct {
	n    int64
	fn   func(int)
	_    [64]byte // keep the hot counter off the line the workers read
	next atomic.Int64
	_    [56]byte
}

func parallelBody(int) {
	for {
		i := par.next.Add(1) - 1
		if i >= par.n {
			return
		}
		par.fn(int(i))
	}
}

// Worker pool.
//
// Starting a goroutine per region costs little CPU but a lot of latency:
// the new goroutine waits for an idle P and, often, for an OS thread to
// wake, 10-200 µs on a loaded machine, which is the whole length of a
// product like 128x512x512. So Threads()-1 workers live across regions. A
// worker that finishes a region polls for the next one for poolSpin, then
// parks on its channel, so an idle process uses no CPU.
//
// A region is published by bumping the generation in pool.state; workers
// claim helper slots by compare-and-swap on the same word, and the caller
// closes the region (no more claims) once its own share of the work is
// done. Every region's body hands out tasks from a shared counter, so a
// helper that arrives late, or never, changes only who runs a task, never
// what a task computes.

// poolSpin is how long a worker polls for new work after a region before it
// parks, and how long the caller polls for its helpers to finish before it
// sleeps: long enough that back-to-back kernels (a training step's GEMMs
// and the element-wise work between them) find their workers awake, short
// enough that an idle process goes quiet at once. 200 µs measured no
// better than 50 on the MLP training benchmark.
const poolSpin = 50 * time.Microsecond

// State word layout: generation in the high 32 bits, the closed flag, and
// the number of helper slots claimed in the low bits.
const (
	stateGen    = 1 << 32
	stateClosed = 1 << 31
	stateCount  = stateClosed - 1
)

// worker is one pool goroutine; id orders the workers so that shrink can
// stop the last ones.
type worker struct {
	id     int
	parked atomic.Bool
	quit   atomic.Bool
	wake   chan struct{}
}

type workerPool struct {
	state atomic.Uint64
	_     [56]byte
	// finished counts helpers done with the current region; target is the
	// number that claimed a slot once the region is closed, -1 before.
	finished atomic.Int32
	target   atomic.Int32
	waiting  atomic.Bool // the caller sleeps on done
	done     chan struct{}
	// helpers limits the slots of the current region; body is what a
	// helper runs. Both are written before the generation is bumped.
	helpers atomic.Int32
	body    func(w int)

	mu      sync.Mutex
	workers atomic.Pointer[[]*worker] // copy on write under mu
}

var pool workerPool

func init() {
	pool.done = make(chan struct{}, 1)
	pool.workers.Store(new([]*worker))
}

// runRegion runs body(0) on the calling goroutine and body(w), 1 <= w <=
// helpers, on pool workers that join in time, and returns when every call
// has returned. The caller holds inParallel.
func runRegion(helpers int, body func(w int)) {
	ws := *pool.workers.Load()
	if len(ws) < helpers {
		ws = pool.grow(helpers)
	}
	pool.helpers.Store(int32(helpers))
	pool.body = body
	pool.finished.Store(0)
	pool.target.Store(-1)
	pool.waiting.Store(false)
	s := pool.state.Load()
	pool.state.Store((s &^ (stateClosed | stateCount)) + stateGen)
	for _, w := range ws[:helpers] {
		if w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}

	body(0)

	// Close the region; the helpers that claimed a slot are all there are.
	var claimed int32
	for {
		s := pool.state.Load()
		if pool.state.CompareAndSwap(s, s|stateClosed) {
			claimed = int32(s & stateCount)
			break
		}
	}
	if claimed > 0 {
		pool.target.Store(claimed)
		waitHelpers(claimed)
	}
	pool.body = nil
}

// waitHelpers returns once claimed helpers have finished: at once if they
// have, after polling for up to poolSpin if they are about to, else after
// sleeping until the last one wakes the caller.
func waitHelpers(claimed int32) {
	start := time.Now()
	for i := 0; pool.finished.Load() != claimed; i++ {
		if i&15 == 15 && time.Since(start) > poolSpin {
			pool.waiting.Store(true)
			if pool.finished.Load() == claimed && pool.waiting.CompareAndSwap(true, false) {
				return
			}
			<-pool.done
			return
		}
		runtime.Gosched()
	}
}

// grow starts workers until there are at least n and returns them.
func (p *workerPool) grow(n int) []*worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.workers.Load()
	if len(old) >= n {
		return old
	}
	ws := make([]*worker, n)
	copy(ws, old)
	for id := len(old); id < n; id++ {
		w := &worker{id: id, wake: make(chan struct{}, 1)}
		ws[id] = w
		go w.loop(p.state.Load() / stateGen)
	}
	p.workers.Store(&ws)
	return ws
}

// shrink stops the workers beyond the first n.
func (p *workerPool) shrink(n int) {
	n = max(n, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.workers.Load()
	if len(old) <= n {
		return
	}
	ws := append([]*worker(nil), old[:n]...)
	p.workers.Store(&ws)
	for _, w := range old[n:] {
		w.quit.Store(true)
		if w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
}

// loop is a worker's life: join each new region, poll for the next for
// poolSpin, then park until woken. seen is the generation already past.
func (w *worker) loop(seen uint64) {
	start := time.Now()
	for i := 0; ; i++ {
		if w.quit.Load() {
			return
		}
		s := pool.state.Load()
		if s/stateGen != seen {
			seen = s / stateGen
			pool.join(s)
			start, i = time.Now(), 0
			continue
		}
		if i&15 != 15 || time.Since(start) <= poolSpin {
			runtime.Gosched()
			continue
		}
		// Park. Whoever turns parked back off owes the wake-up: the
		// publisher after bumping the generation, or this worker itself
		// when it sees the new generation first.
		w.parked.Store(true)
		if pool.state.Load()/stateGen == seen || !w.parked.CompareAndSwap(true, false) {
			<-w.wake
		}
		start, i = time.Now(), 0
	}
}

// join claims a helper slot in the region whose state was s, if one is
// left and the region is still open, and runs its share.
func (p *workerPool) join(s uint64) {
	gen := s / stateGen
	for {
		if s&stateClosed != 0 || int32(s&stateCount) >= p.helpers.Load() {
			return
		}
		if p.state.CompareAndSwap(s, s+1) {
			break
		}
		s = p.state.Load()
		if s/stateGen != gen {
			return
		}
	}
	p.body(int(s&stateCount) + 1)
	if p.finished.Add(1) == p.target.Load() && p.waiting.CompareAndSwap(true, false) {
		p.done <- struct{}{}
	}
}
