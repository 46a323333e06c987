package kernels

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A region gets all Threads() goroutines at once: each of its tasks waits
// until every other one has started, which only works if the pool's
// workers run them concurrently with the caller.
func TestParallelUsesPool(t *testing.T) {
	defer SetThreads(0)
	for _, th := range []int{2, 4, 3} {
		SetThreads(th)
		for range 20 {
			var arrived atomic.Int32
			var timedOut atomic.Bool
			Parallel(th, func(int) {
				arrived.Add(1)
				deadline := time.Now().Add(5 * time.Second)
				for arrived.Load() < int32(th) {
					if time.Now().After(deadline) {
						timedOut.Store(true)
						return
					}
					runtime.Gosched()
				}
			})
			if timedOut.Load() {
				t.Fatalf("threads=%d: only %d of %d tasks ran at once", th, arrived.Load(), th)
			}
		}
		if n := len(*pool.workers.Load()); n != th-1 {
			t.Fatalf("SetThreads(%d): pool has %d workers, want %d", th, n, th-1)
		}
	}
}

// Lowering the thread count stops the surplus workers. Workers are counted
// by their stacks, not by runtime.NumGoroutine: goroutines of other tests
// that start or end meanwhile made that count flaky on a loaded machine.
func TestPoolShrinks(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	Parallel(2, func(int) {})
	SetThreads(6)
	Parallel(6, func(int) {})
	// A worker just started may not show in a stack dump yet: wait for it.
	for deadline := time.Now().Add(5 * time.Second); workerGoroutines() != 5; {
		if time.Now().After(deadline) {
			t.Fatalf("SetThreads(6): %d worker goroutines, want 5", workerGoroutines())
		}
		time.Sleep(time.Millisecond)
	}
	SetThreads(2)
	deadline := time.Now().Add(5 * time.Second)
	for workerGoroutines() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("SetThreads(2): %d worker goroutines still running, want 1", workerGoroutines())
		}
		time.Sleep(time.Millisecond)
	}
}

// workerGoroutines counts the goroutines running a pool worker's loop.
func workerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "kernels.(*worker).loop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Starting a region allocates nothing, and concurrent callers each get
// every task run exactly once.
func TestParallelNoAllocConcurrent(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	var sink atomic.Int64
	fn := func(i int) { sink.Add(int64(i)) }
	if a := testing.AllocsPerRun(200, func() { Parallel(8, fn) }); a != 0 {
		t.Errorf("Parallel allocates %v times per call", a)
	}

	var wg sync.WaitGroup
	var counts [4][64]atomic.Int32
	for g := range counts {
		wg.Go(func() {
			for range 200 {
				Parallel(len(counts[g]), func(i int) { counts[g][i].Add(1) })
			}
		})
	}
	wg.Wait()
	for g := range counts {
		for i := range counts[g] {
			if c := counts[g][i].Load(); c != 200 {
				t.Fatalf("caller %d task %d ran %d times, want 200", g, i, c)
			}
		}
	}
}

// Between regions the workers park: an idle process uses no CPU.
func TestPoolIdle(t *testing.T) {
	defer SetThreads(0)
	SetThreads(4)
	Parallel(4, func(int) {})
	time.Sleep(20 * time.Millisecond) // past the spin
	before := processCPU(t)
	time.Sleep(200 * time.Millisecond)
	if used := processCPU(t) - before; used > 50*time.Millisecond {
		t.Fatalf("idle pool used %v of CPU in 200ms", used)
	}
}

func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Skip("getrusage:", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
