package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Gemm against gonum's pure-Go BLAS on the same shapes: square float32
// products and the matrix products of one training step of a 784-512-512
// MLP at batch 128 (the shapes of shared/bench/w1_shapes.tsv). Run with
// -benchtime=1s or so; GFLOP/s is the figure to compare. The benchmark
// names carry the kernel family (GemmImpl); BACKPROP_GEMM=generic (or
// avx2) picks another one.

type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

var gemmBenchShapes = []benchShape{
	{"sq128", false, false, 128, 128, 128},
	{"sq256", false, false, 256, 256, 256},
	{"sq512", false, false, 512, 512, 512},
	{"sq1024", false, false, 1024, 1024, 1024},
	{"sq2048", false, false, 2048, 2048, 2048},
	{"mlp_l1_fwd", false, false, 128, 512, 784},
	{"mlp_l2_fwd", false, false, 128, 512, 512},
	{"mlp_l3_fwd", false, false, 128, 10, 512},
	{"tn_sq1024", true, false, 1024, 1024, 1024},
	{"tn_l1_dW", true, false, 784, 512, 128},
	{"nt_l1_dX", false, true, 128, 784, 512},
}

func benchOperands[T Float](s benchShape) (a, b, c []T, lda, ldb int) {
	r := rand.New(rand.NewPCG(1, 1))
	a = randSlice[T](r, s.m*s.k)
	b = randSlice[T](r, s.k*s.n)
	c = make([]T, s.m*s.n)
	lda, ldb = s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	return
}

// reportGFLOPs reports GFLOP/s over wall time, and over the CPU time the
// process used since cpu0 (from cpuSeconds): on a machine shared with other
// work the second one moves much less, and its ratio to the first tells
// how many cores the run had.
func reportGFLOPs(b *testing.B, s benchShape, cpu0 float64) {
	flop := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(flop/cpu/1e9, "GFLOP/cpu-s")
	}
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkGemm runs float32 Gemm on every shape with 1 thread and with
// Threads() (BENCH_THREADS=2 alone runs only the 2-thread ones).
func BenchmarkGemm(b *testing.B) { benchGemm[float32](b, gemmBenchShapes) }

// BenchmarkGemm64 runs float64 Gemm on the square shapes up to 1024 and
// the MLP's first layer.
func BenchmarkGemm64(b *testing.B) {
	benchGemm[float64](b, []benchShape{gemmBenchShapes[1], gemmBenchShapes[2], gemmBenchShapes[3], gemmBenchShapes[5]})
}

func benchGemm[T Float](b *testing.B, shapes []benchShape) {
	threads := []int{1, Threads()}
	if s := os.Getenv("BENCH_THREADS"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		threads = []int{n}
	}
	for _, s := range shapes {
		for _, th := range threads {
			b.Run(fmt.Sprintf("%s/%s/threads=%d", GemmImpl(), s.name, th), func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(0)
				a, bb, c, lda, ldb := benchOperands[T](s)
				b.ReportAllocs()
				Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				cpu0 := cpuSeconds()
				for b.Loop() {
					Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				reportGFLOPs(b, s, cpu0)
			})
		}
	}
}

// BenchmarkGonumSgemm runs gonum's Sgemm (which itself uses every
// GOMAXPROCS thread) on the shapes of BenchmarkGemm.
func BenchmarkGonumSgemm(b *testing.B) {
	impl := gonum.Implementation{}
	tr := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	for _, s := range gemmBenchShapes {
		b.Run(s.name, func(b *testing.B) {
			a, bb, c, lda, ldb := benchOperands[float32](s)
			cpu0 := cpuSeconds()
			for b.Loop() {
				impl.Sgemm(tr(s.transA), tr(s.transB), s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			reportGFLOPs(b, s, cpu0)
		})
	}
}

// BenchmarkGemmTile runs the active micro-kernel alone on packed slivers
// that stay in L1: the ceiling that packing and blocking can approach.
func BenchmarkGemmTile(b *testing.B) {
	for _, f64 := range []bool{false, true} {
		if f64 {
			b.Run(GemmImpl()+"/float64", benchTile[float64])
		} else {
			b.Run(GemmImpl()+"/float32", benchTile[float32])
		}
	}
}

func benchTile[T Float](b *testing.B) {
	kern := kernelFor[T]()
	const kc = 256
	r := rand.New(rand.NewPCG(1, 1))
	a := randSlice[T](r, kern.mr*kc)
	bb := randSlice[T](r, kern.nr*kc)
	c := make([]T, kern.mr*kern.nr)
	cpu0 := cpuSeconds()
	for b.Loop() {
		kern.tile(kc, 1, a, bb, 1, c, kern.nr)
	}
	reportGFLOPs(b, benchShape{m: kern.mr, n: kern.nr, k: kc}, cpu0)
}
