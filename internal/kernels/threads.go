package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the worker count set by SetThreads; 0 means GOMAXPROCS.
var threads atomic.Int64

// inParallel is set while a parallel region runs. A kernel that would start
// a region while another is running (nested inside it, or concurrently from
// another goroutine) runs on its own goroutine instead, so the process never
// has more than Threads() kernel workers plus the callers themselves: the
// oversubscription that OpenMP-inside-BLAS causes cannot happen here.
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
	defer inParallel.Store(false)
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(i)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
