package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// naiveGemm is the triple loop Gemm must agree with, summed in float64.
func naiveGemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var x, y T
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				s += float64(x) * float64(y)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = T(v)
		}
	}
}

func randSlice[T Float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.NormFloat64())
	}
	return s
}

// gemmCase is one set of Gemm arguments with random matrices whose
// leading dimensions exceed their widths.
type gemmCase[T Float] struct {
	tA, tB        bool
	m, n, k       int
	alpha, beta   T
	a, b, c       []T
	lda, ldb, ldc int
}

func newGemmCase[T Float](r *rand.Rand, tA, tB bool, m, n, k int, alpha, beta T, pad int) gemmCase[T] {
	g := gemmCase[T]{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = ac+pad, bc+2*pad, n+3*pad
	g.a = randSlice[T](r, ar*g.lda)
	g.b = randSlice[T](r, br*g.ldb)
	g.c = randSlice[T](r, m*g.ldc)
	return g
}

func (g gemmCase[T]) run(c []T) {
	Gemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
}

func (g gemmCase[T]) want() []T {
	c := slices.Clone(g.c)
	naiveGemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	return c
}

func (g gemmCase[T]) String() string {
	return fmt.Sprintf("%T transA=%v transB=%v m=%d n=%d k=%d alpha=%v beta=%v lda=%d ldb=%d ldc=%d",
		g.alpha, g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
}

// check compares got with want, with a tolerance scaled by the size of the
// sum (error grows with k), and checks that padding between rows of C is
// untouched.
func (g gemmCase[T]) check(t *testing.T, got, want []T) {
	t.Helper()
	eps := 1e-13
	var zero T
	if any(zero) == any(float32(0)) {
		eps = 1e-5
	}
	tol := eps * float64(g.k+2) * (1 + math.Abs(float64(g.alpha)) + math.Abs(float64(g.beta)))
	for i := range g.m {
		for j := range g.ldc {
			p := i*g.ldc + j
			if j >= g.n {
				if got[p] != g.c[p] && !(got[p] != got[p] && g.c[p] != g.c[p]) {
					t.Fatalf("%v: padding C[%d][%d] changed from %v to %v", g, i, j, g.c[p], got[p])
				}
				continue
			}
			if d := math.Abs(float64(got[p]) - float64(want[p])); !(d <= tol) {
				t.Fatalf("%v: C[%d][%d] = %v, want %v (diff %g > %g)", g, i, j, got[p], want[p], d, tol)
			}
		}
	}
}

func testGemmAgainstNaive[T Float](t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 7, 33, 65, 130}
	scales := [][2]T{{1, 0}, {0.5, -1.5}, {-2, 1}}
	n := 0
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, m := range sizes {
				for _, nn := range sizes {
					for _, k := range sizes {
						// Every size triple for each transpose pair, with
						// the alpha/beta pairs and paddings taking turns.
						s := scales[n%len(scales)]
						g := newGemmCase(r, tA, tB, m, nn, k, s[0], s[1], n%3)
						n++
						got := slices.Clone(g.c)
						g.run(got)
						g.check(t, got, g.want())
					}
				}
			}
		}
	}
}

func TestGemmFloat32(t *testing.T) { testGemmAgainstNaive[float32](t) }
func TestGemmFloat64(t *testing.T) { testGemmAgainstNaive[float64](t) }

func TestGemmSpecialScalars(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nan := math.NaN()

	// beta == 0 must not read C: NaNs there do not survive.
	g := newGemmCase[float64](r, false, true, 9, 11, 13, 1.5, 0, 1)
	for i := range g.c {
		g.c[i] = nan
	}
	got := slices.Clone(g.c)
	g.run(got)
	want := g.want()
	g.check(t, got, want)

	// alpha == 0 and k == 0 scale C by beta without reading A or B.
	for _, k := range []int{0, 5} {
		g := newGemmCase[float32](r, true, false, 6, 4, k, 0, -2, 2)
		g.alpha = 0
		for i := range g.a {
			g.a[i] = float32(nan)
		}
		if k == 0 {
			g.alpha = 3
		}
		got := slices.Clone(g.c)
		g.run(got)
		for i := range g.m {
			for j := range g.n {
				p := i*g.ldc + j
				if got[p] != -2*g.c[p] {
					t.Fatalf("k=%d: C[%d][%d] = %v, want %v", k, i, j, got[p], -2*g.c[p])
				}
			}
		}
	}

	// beta == 0 with alpha == 0 zeroes C, NaNs included.
	c := []float64{nan, nan, 1}
	Gemm(false, false, 1, 3, 2, 0, []float64{1, 2}, 2, make([]float64, 6), 3, 0, c, 3)
	if !slices.Equal(c, []float64{0, 0, 0}) {
		t.Fatalf("alpha=beta=0: C = %v, want zeros", c)
	}

	// Empty products are no-ops.
	Gemm[float32](false, false, 0, 5, 5, 1, nil, 5, make([]float32, 25), 5, 0, nil, 5)
	Gemm[float32](false, false, 5, 0, 5, 1, make([]float32, 25), 5, nil, 1, 0, nil, 1)
}

// The result is bit-for-bit the same for any thread count and any cut of C
// into tasks.
func TestGemmDeterministic(t *testing.T) {
	defer SetThreads(0)
	r := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][3]int{{130, 130, 130}, {67, 203, 150}} {
		for _, tr := range [][2]bool{{false, false}, {true, true}, {true, false}} {
			g := newGemmCase[float32](r, tr[0], tr[1], sz[0], sz[1], sz[2], 1.25, 0.5, 1)
			var results [][]float32
			for _, th := range []int{1, 2, 3} {
				SetThreads(th)
				got := slices.Clone(g.c)
				g.run(got)
				results = append(results, got)
			}
			// One block covering all of C, and small ones.
			kern := kernelFor[float32]()
			for _, pl := range []gemmPlan{
				planGemm(g.m, g.n, 1<<30, 1<<30, kern.mr, kern.nr, false),
				planGemm(g.m, g.n, 8*kern.mr, 8*kern.nr, kern.mr, kern.nr, false),
			} {
				got := slices.Clone(g.c)
				gc := gemmCall[float32]{kern: kern, plan: pl, transA: g.tA, transB: g.tB,
					m: g.m, n: g.n, k: g.k, alpha: g.alpha, beta: g.beta,
					a: g.a, lda: g.lda, b: g.b, ldb: g.ldb, c: got, ldc: g.ldc}
				gc.run()
				results = append(results, got)
			}
			for i, res := range results[1:] {
				if !slices.Equal(res, results[0]) {
					t.Errorf("%v: run %d differs from the single-threaded result", g, i+1)
				}
			}
			g.check(t, results[0], g.want())
		}
	}
}

func TestGemmPanics(t *testing.T) {
	cases := []struct {
		want string
		f    func()
	}{
		{"negative size", func() { Gemm[float64](false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }},
		{"leading dimension 2 of A is less than its 3 columns", func() {
			Gemm(false, false, 2, 2, 3, 1, make([]float64, 6), 2, make([]float64, 6), 2, 0, make([]float64, 4), 2)
		}},
		{"leading dimension 2 of A is less than its 4 columns", func() {
			Gemm(true, false, 4, 2, 3, 1, make([]float64, 12), 2, make([]float64, 6), 2, 0, make([]float64, 8), 2)
		}},
		{"B is 2 x 3 with leading dimension 3, needs 6 elements, has 5", func() {
			Gemm(false, false, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 5), 3, 0, make([]float32, 6), 3)
		}},
		{"C is 2 x 3 with leading dimension 4, needs 7 elements, has 6", func() {
			Gemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 2, 0, make([]float32, 6), 4)
		}},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, "kernels: Gemm: ") || !strings.Contains(msg, c.want) {
					t.Errorf("panic %v, want one mentioning %q", r, c.want)
				}
			}()
			c.f()
		}()
	}
}

func TestPlanGemm(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {128, 128}, {128, 512}, {1024, 1024}, {5, 2000}, {3000, 7}} {
		for _, par := range []bool{false, true} {
			p := planGemm(sz[0], sz[1], 128, 384, 2, 3, par)
			if p.mc%2 != 0 || p.nc%3 != 0 || p.mc > max(128, 2) || p.nc > 384 {
				t.Errorf("%v: blocks %d x %d not multiples of the tile or too big", sz, p.mc, p.nc)
			}
			if (p.mb-1)*p.mc >= sz[0] || p.mb*p.mc < sz[0] || (p.nb-1)*p.nc >= sz[1] || p.nb*p.nc < sz[1] {
				t.Errorf("%v: %d x %d blocks of %d x %d do not tile C exactly", sz, p.mb, p.nb, p.mc, p.nc)
			}
			if par && sz[0] >= 4*gemmMinBlock && sz[1] >= 4*gemmMinBlock && p.tasks() < gemmTargetTasks {
				t.Errorf("%v: only %d tasks", sz, p.tasks())
			}
		}
	}
}

func TestThreads(t *testing.T) {
	defer SetThreads(0)
	SetThreads(3)
	if Threads() != 3 {
		t.Fatalf("Threads() = %d after SetThreads(3)", Threads())
	}
	SetThreads(0)
	if Threads() < 1 {
		t.Fatalf("default Threads() = %d", Threads())
	}

	SetThreads(2)
	var counts [100]atomic.Int32
	var nested atomic.Int32
	Parallel(len(counts), func(i int) {
		counts[i].Add(1)
		if i == 7 {
			// A nested region runs inline on this goroutine.
			Parallel(5, func(int) { nested.Add(1) })
		}
	})
	for i := range counts {
		if c := counts[i].Load(); c != 1 {
			t.Fatalf("task %d ran %d times", i, c)
		}
	}
	if nested.Load() != 5 {
		t.Fatalf("nested region ran %d tasks, want 5", nested.Load())
	}
	if inParallel.Load() {
		t.Fatal("parallel region still marked active")
	}
}
