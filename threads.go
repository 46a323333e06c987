package backprop

import (
	"fmt"

	"github.com/gobackprop/backprop/internal/kernels"
)

// SetThreads sets how many goroutines a kernel (a matrix product, a
// convolution, a large element-wise op or reduction, an optimizer step) may
// run on at once, the calling goroutine included. The kernels keep that
// many workers (less one) alive between calls, and a kernel started while
// another runs, nested in it or from another goroutine, runs on its caller
// alone, so a process never has more kernel goroutines than this plus its
// callers. SetThreads(0) restores the default, runtime.GOMAXPROCS(0), read
// afresh at each kernel call. A negative n panics.
//
// Results do not depend on it: kernels split their work into blocks chosen
// from the shapes alone and combine them in a fixed order, so any thread
// count gives the same bits. It changes only speed.
//
// SetThreads is safe to call from any goroutine; it applies to kernels
// started after it. It does not change GOMAXPROCS: a program that wants
// fewer cores for the whole process sets both.
func SetThreads(n int) {
	if n < 0 {
		panic(fmt.Sprintf("backprop: SetThreads(%d): want n >= 0 (0 means GOMAXPROCS)", n))
	}
	kernels.SetThreads(n)
}

// Threads returns how many goroutines a kernel may run on: the count given
// to SetThreads, or runtime.GOMAXPROCS(0) if none was.
func Threads() int {
	return kernels.Threads()
}
