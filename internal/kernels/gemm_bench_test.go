package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Gemm against gonum's pure-Go BLAS on the same shapes: square float32
// products and the matrix products of one training step of a 784-512-512
// MLP at batch 128. Run with -benchtime=3x or so; GFLOP/s is the figure to
// compare.

type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

var gemmBenchShapes = []benchShape{
	{"N=128", false, false, 128, 128, 128},
	{"N=256", false, false, 256, 256, 256},
	{"N=512", false, false, 512, 512, 512},
	{"N=1024", false, false, 1024, 1024, 1024},
	{"X*W1/128x784x512", false, false, 128, 512, 784},
	{"H*W2/128x512x512", false, false, 128, 512, 512},
	{"XT*G/784x128x512", true, false, 784, 512, 128},
	{"G*W1T/128x512x784", false, true, 128, 784, 512},
}

func benchOperands(s benchShape) (a, b, c []float32, lda, ldb int) {
	r := rand.New(rand.NewPCG(1, 1))
	a = randSlice[float32](r, s.m*s.k)
	b = randSlice[float32](r, s.k*s.n)
	c = make([]float32, s.m*s.n)
	lda, ldb = s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	return
}

func reportGFLOPs(b *testing.B, s benchShape) {
	b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemm(b *testing.B) {
	for _, s := range gemmBenchShapes {
		for _, th := range []int{1, 0} {
			name := fmt.Sprintf("%s/threads=%d", s.name, th)
			if th == 0 {
				name = fmt.Sprintf("%s/threads=%d", s.name, Threads())
			}
			b.Run(name, func(b *testing.B) {
				SetThreads(th)
				defer SetThreads(0)
				a, bb, c, lda, ldb := benchOperands(s)
				b.ReportAllocs()
				for b.Loop() {
					Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				reportGFLOPs(b, s)
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
			a, bb, c, lda, ldb := benchOperands(s)
			for b.Loop() {
				impl.Sgemm(tr(s.transA), tr(s.transB), s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			reportGFLOPs(b, s)
		})
	}
}
