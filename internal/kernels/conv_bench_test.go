package kernels

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// The convolution kernels on the shapes of the MNIST CNN at batch 64
// (../../conv_bench_test.go has the same through the tensor API), on one
// thread and on two. Under a loaded machine take the best of several runs
// (-bench Conv -count 5), and compare cpu-ms, the process's CPU time per
// run, which waiting for a core does not inflate.

var benchConvShapes = []struct {
	name string
	s    ConvShape
}{
	{"conv1", ConvShape{N: 64, C: 1, H: 28, W: 28, O: 32, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, OH: 28, OW: 28}},
	{"conv2", ConvShape{N: 64, C: 32, H: 14, W: 14, O: 64, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, OH: 14, OW: 14}},
}

func benchThreads(b *testing.B, name string, flops float64, fn func()) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("%s/threads=%d", name, th), func(b *testing.B) {
			SetThreads(th)
			defer SetThreads(0)
			c0 := cpuTime()
			for b.Loop() {
				fn()
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms")
			s := b.Elapsed().Seconds() / float64(b.N)
			if flops > 0 {
				b.ReportMetric(flops/s/1e9, "GFLOP/s")
			}
			b.ReportMetric(s*1e3, "ms")
		})
	}
}

func BenchmarkConvKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range benchConvShapes {
		s := c.s
		x := randSlice[float32](r, s.N*s.C*s.H*s.W)
		w := randSlice[float32](r, s.O*s.K())
		bias := randSlice[float32](r, s.O)
		y := make([]float32, s.N*s.O*s.OH*s.OW)
		gx := make([]float32, len(x))
		gw := make([]float32, len(w))
		flops := 2 * float64(s.N*s.O*s.OH*s.OW*s.K())
		benchThreads(b, c.name+"/forward", flops, func() { ConvForward(s, x, w, bias, y) })
		benchThreads(b, c.name+"/input", flops, func() { ConvBackwardInput(s, y, w, gx) })
		benchThreads(b, c.name+"/weight", flops, func() { ConvBackwardWeight(s, x, y, gw, nil) })
		benchThreads(b, c.name+"/weight+bias", flops, func() { ConvBackwardWeight(s, x, y, gw, bias) })
		benchThreads(b, c.name+"/bias", 0, func() { ConvBiasGrad(s, y, bias) })
	}
	for _, c := range []struct {
		name       string
		planes, hw int
	}{{"pool1", 64 * 32, 28}, {"pool2", 64 * 64, 14}} {
		s := ConvShape{N: c.planes, C: 1, H: c.hw, W: c.hw, O: 1, KH: 2, KW: 2, Groups: 1, SH: 2, SW: 2, DH: 1, DW: 1, OH: c.hw / 2, OW: c.hw / 2}
		x := randSlice[float32](r, c.planes*c.hw*c.hw)
		gx := make([]float32, len(x))
		y := make([]float32, len(x)/4)
		idx := make([]int32, len(y))
		benchThreads(b, c.name+"/forward", 0, func() { MaxPool2d(s, x, y, idx) })
		benchThreads(b, c.name+"/scatter", 0, func() { PoolScatter(s, y, idx, gx) })
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
