package backprop_test

import (
	"fmt"
	"os"
	"syscall"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// Throughput of the elementwise ops, reductions and softmax in float32, at
// the MLP's activation size (128x512, which fits in L2) and at 1M elements
// (which does not). MB/s counts the bytes each op must read and write
// (inputs once, the result once), so memory speed is the ceiling. Add
// -cpu 1,2 to see what the second goroutine brings:
//
//	go test -run NONE -bench 'Elementwise|Reduce|Softmax' -cpu 1,2 .

var benchSizes = []struct {
	name  string
	shape []int
}{
	{"128x512", []int{128, 512}},
	{"1M", []int{1024, 1024}},
}

// benchOp runs f, whose inputs are marked with pool p when it is not nil
// (then the result's storage is reused, and the time is the kernel's
// rather than the allocator's), and reports cpu-ns/op besides ns/op: on a
// shared machine CPU time is the steadier figure (it counts every
// goroutine, so it does not show a parallel speedup; ns/op does).
func benchOp(b *testing.B, bytes int, p *bp.Pool, f func() *bp.Tensor) {
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	c0 := procCPUNanos()
	for b.Loop() {
		f()
		if p != nil {
			p.Reset()
		}
	}
	b.ReportMetric(float64(procCPUNanos()-c0)/float64(b.N), "cpu-ns/op")
}

// procCPUNanos is the process's user and system CPU time in nanoseconds.
func procCPUNanos() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchPool is the pool the op benchmarks compute in, or nil (the heap)
// with BENCH_HEAP=1 in the environment.
func benchPool() *bp.Pool {
	if os.Getenv("BENCH_HEAP") == "1" {
		return nil
	}
	return bp.NewPool()
}

func BenchmarkElementwise(b *testing.B) {
	rng := bp.NewRNG(1)
	p := benchPool()
	for _, sz := range benchSizes {
		x := rng.Normal(0, 1, sz.shape...).InPool(p)
		y := rng.Normal(0, 1, sz.shape...)
		row := rng.Normal(0, 1, sz.shape[1])
		s := bp.Scalar(1.5)
		n := x.Numel()
		ops := []struct {
			name  string
			bytes int
			f     func() *bp.Tensor
		}{
			{"Add", 12 * n, func() *bp.Tensor { return x.Add(y) }},
			{"AddRow", 8 * n, func() *bp.Tensor { return x.Add(row) }},
			{"Mul", 12 * n, func() *bp.Tensor { return x.Mul(y) }},
			{"MulScalar", 8 * n, func() *bp.Tensor { return x.Mul(s) }},
			{"Div", 12 * n, func() *bp.Tensor { return x.Div(y) }},
			{"ReLU", 8 * n, func() *bp.Tensor { return x.ReLU() }},
			{"Exp", 8 * n, func() *bp.Tensor { return x.Exp() }},
			{"Tanh", 8 * n, func() *bp.Tensor { return x.Tanh() }},
		}
		for _, op := range ops {
			b.Run(fmt.Sprintf("%s/%s", op.name, sz.name), func(b *testing.B) { benchOp(b, op.bytes, p, op.f) })
		}
	}
}

func BenchmarkReduce(b *testing.B) {
	rng := bp.NewRNG(1)
	p := benchPool()
	for _, sz := range benchSizes {
		x := rng.Normal(0, 1, sz.shape...).InPool(p)
		n := x.Numel()
		b.Run("Sum/"+sz.name, func(b *testing.B) { benchOp(b, 4*n, p, func() *bp.Tensor { return x.Sum() }) })
		b.Run("SumRows/"+sz.name, func(b *testing.B) { benchOp(b, 4*n, p, func() *bp.Tensor { return x.Sum(1) }) })
		b.Run("SumCols/"+sz.name, func(b *testing.B) { benchOp(b, 4*n, p, func() *bp.Tensor { return x.Sum(0) }) })
		b.Run("Max/"+sz.name, func(b *testing.B) { benchOp(b, 4*n, p, func() *bp.Tensor { return x.Max(1) }) })
	}
}

func BenchmarkSoftmax(b *testing.B) {
	rng := bp.NewRNG(1)
	p := benchPool()
	for _, sz := range benchSizes {
		x := rng.Normal(0, 1, sz.shape...).InPool(p)
		n := x.Numel()
		b.Run("Softmax/"+sz.name, func(b *testing.B) { benchOp(b, 8*n, p, func() *bp.Tensor { return x.Softmax(1) }) })
		b.Run("LogSoftmax/"+sz.name, func(b *testing.B) { benchOp(b, 8*n, p, func() *bp.Tensor { return x.LogSoftmax(1) }) })
	}
}
