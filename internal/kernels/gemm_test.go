package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
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

// gemmImplNames are the micro-kernel families tests try, whichever this
// build and CPU have.
var gemmImplNames = []string{"generic", "avx2", "avx512"}

// forEachGemmImpl runs f once per kernel family, as a subtest with that
// family active, and skips (saying why) those this binary or CPU lacks.
// Products of every size go through the kernels, even those Gemm would
// sum directly (see TestGemmSmall).
func forEachGemmImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer SetGemmImpl("")
	defer func(s int64) { gemmSmallMax = s }(gemmSmallMax)
	gemmSmallMax = 0
	for _, name := range gemmImplNames {
		t.Run(name, func(t *testing.T) {
			if err := SetGemmImpl(name); err != nil {
				t.Skipf("skipping the %s kernels: %v", name, err)
			}
			if got := GemmImpl(); got != name {
				t.Fatalf("GemmImpl() = %q after SetGemmImpl(%q)", got, name)
			}
			f(t)
		})
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

// testGemmDeep covers sums deeper than one packed slice (k > kc), and
// sizes around the SIMD tiles (6, 8, 12, 16, 32).
func testGemmDeep[T Float](t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 0
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			// 301 rows exceed every family's block height (mc), so B is
			// packed once for all tasks; with fewer, tasks pack their own
			// slivers of a transposed B.
			for _, sz := range [][3]int{{6, 16, 300}, {12, 32, 513}, {25, 47, 700}, {13, 9, 257}, {5, 3, 1000}, {48, 64, 129}, {301, 45, 260}} {
				g := newGemmCase(r, tA, tB, sz[0], sz[1], sz[2], T(0.75), T(n%2), n%3)
				n++
				got := slices.Clone(g.c)
				g.run(got)
				g.check(t, got, g.want())
			}
		}
	}
}

func TestGemmFloat32(t *testing.T) { forEachGemmImpl(t, testGemmAgainstNaive[float32]) }
func TestGemmFloat64(t *testing.T) { forEachGemmImpl(t, testGemmAgainstNaive[float64]) }

func TestGemmDeep(t *testing.T) {
	forEachGemmImpl(t, func(t *testing.T) {
		testGemmDeep[float32](t)
		testGemmDeep[float64](t)
	})
}

// Products too big for gemmPackLimit are cut into chunks along k, rows
// and columns; the result is the same as unchunked, bit for bit.
func TestGemmChunked(t *testing.T) {
	forEachGemmImpl(t, func(t *testing.T) {
		testGemmChunked[float32](t)
		testGemmChunked[float64](t)
	})
}

func testGemmChunked[T Float](t *testing.T) {
	defer func(l int) { gemmPackLimit = l }(gemmPackLimit)
	r := rand.New(rand.NewPCG(9, 10))
	for i, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		m := []int{37, 300}[i%2]
		g := newGemmCase(r, tr[0], tr[1], m, 50, 600, T(1.5), T(i%2), 1)
		gemmPackLimit = 1 << 30
		whole := slices.Clone(g.c)
		g.run(whole)
		g.check(t, whole, g.want())
		var zero T
		for _, limit := range []int{9000, 1} {
			gemmPackLimit = limit * int(unsafe.Sizeof(zero))
			got := slices.Clone(g.c)
			g.run(got)
			if !slices.Equal(got, whole) {
				t.Fatalf("%v: pack limit %d changes the result", g, limit)
			}
		}
	}
}

// Tiny products, summed directly.
func TestGemmSmall(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n := 0
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {6, 6, 6}, {1, 40, 2}, {7, 1, 30}, {2, 100, 1}} {
				if int64(sz[0]*sz[1]*sz[2]) > gemmSmallMax {
					t.Fatalf("%v is not a small product", sz)
				}
				g := newGemmCase(r, tA, tB, sz[0], sz[1], sz[2], 1.5, float64(n%2), n%3)
				n++
				got := slices.Clone(g.c)
				g.run(got)
				g.check(t, got, g.want())
			}
		}
	}
}

func TestGemmSpecialScalars(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nan := math.NaN()

	// beta == 0 must not read C: NaNs there do not survive, in small
	// products and packed ones, full tiles and edges.
	for _, sz := range [][3]int{{3, 4, 5}, {9, 11, 13}, {40, 37, 20}} {
		g := newGemmCase[float64](r, false, true, sz[0], sz[1], sz[2], 1.5, 0, 1)
		for i := range g.c {
			g.c[i] = nan
		}
		got := slices.Clone(g.c)
		g.run(got)
		g.check(t, got, g.want())
	}

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

// The result is bit-for-bit the same for any thread count, and so for any
// cut of C into tasks (the plan follows the worker count).
func TestGemmDeterministic(t *testing.T) {
	forEachGemmImpl(t, func(t *testing.T) {
		testGemmDeterministic[float32](t)
		testGemmDeterministic[float64](t)
	})
}

func testGemmDeterministic[T Float](t *testing.T) {
	defer SetThreads(0)
	r := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][3]int{{130, 130, 130}, {67, 203, 300}, {128, 512, 200}, {300, 70, 260}} {
		for _, tr := range [][2]bool{{false, false}, {true, true}, {true, false}} {
			g := newGemmCase(r, tr[0], tr[1], sz[0], sz[1], sz[2], T(1.25), T(0.5), 1)
			var results [][]T
			for _, th := range []int{1, 2, 3, 5} {
				SetThreads(th)
				got := slices.Clone(g.c)
				g.run(got)
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

// Gemms from several goroutines at once (one runs in parallel, the others
// on their callers) each get their own packing buffers and the same
// results as alone.
func TestGemmConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var cases []gemmCase[float32]
	var want [][]float32
	for i := range 6 {
		g := newGemmCase[float32](r, i%2 == 0, i%3 == 0, 70+i, 90-i, 150, 1, 0.5, 1)
		got := slices.Clone(g.c)
		g.run(got)
		cases, want = append(cases, g), append(want, got)
	}
	results := make([][]float32, len(cases))
	var wg sync.WaitGroup
	for i, g := range cases {
		wg.Go(func() {
			for range 3 {
				results[i] = slices.Clone(g.c)
				g.run(results[i])
			}
		})
	}
	wg.Wait()
	for i := range cases {
		if !slices.Equal(results[i], want[i]) {
			t.Errorf("%v: concurrent result differs", cases[i])
		}
	}
}

// Element types named after float32 and float64 use their kernels.
func TestGemmNamedFloat(t *testing.T) {
	type f32 float32
	type f64 float64
	r := rand.New(rand.NewPCG(15, 16))
	g := newGemmCase[float32](r, false, true, 30, 40, 50, 1, 0, 0)
	want := slices.Clone(g.c)
	g.run(want)
	a, b, c := make([]f32, len(g.a)), make([]f32, len(g.b)), make([]f32, len(g.c))
	for i, v := range g.a {
		a[i] = f32(v)
	}
	for i, v := range g.b {
		b[i] = f32(v)
	}
	Gemm(g.tA, g.tB, g.m, g.n, g.k, 1, a, g.lda, b, g.ldb, 0, c, g.ldc)
	for i := range c {
		if float32(c[i]) != want[i] {
			t.Fatalf("C[%d] = %v with a named float32, %v with float32", i, c[i], want[i])
		}
	}
	d := []f64{1, 2, 3, 4}
	e := make([]f64, 4)
	Gemm(false, false, 2, 2, 2, 1, d, 2, d, 2, 0, e, 2)
	if !slices.Equal(e, []f64{7, 10, 15, 22}) {
		t.Fatalf("named float64 product = %v", e)
	}
}

func TestGemmImplSelection(t *testing.T) {
	defer SetGemmImpl("")
	impls := GemmImpls()
	if len(impls) == 0 || impls[len(impls)-1] != "generic" {
		t.Fatalf("GemmImpls() = %v, want a list ending in generic", impls)
	}
	if GemmImpl() != impls[0] && os.Getenv(gemmImplEnv) == "" {
		t.Errorf("default GemmImpl() = %q, want the fastest, %q", GemmImpl(), impls[0])
	}
	if err := SetGemmImpl("generic"); err != nil || GemmImpl() != "generic" {
		t.Fatalf("SetGemmImpl(generic) = %v, GemmImpl() = %q", err, GemmImpl())
	}
	if err := SetGemmImpl("nosuch"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("SetGemmImpl(nosuch) = %v, want an error naming it", err)
	}
	if GemmImpl() != "generic" {
		t.Errorf("a failed SetGemmImpl changed the kernels to %q", GemmImpl())
	}
	if err := SetGemmImpl(""); err != nil || GemmImpl() != defaultGemmImpl().name {
		t.Errorf("SetGemmImpl(\"\") = %v, GemmImpl() = %q", err, GemmImpl())
	}

	// The environment picks the default, when it names a family that runs.
	t.Setenv(gemmImplEnv, "generic")
	if got := defaultGemmImpl().name; got != "generic" {
		t.Errorf("%s=generic: default %q", gemmImplEnv, got)
	}
	t.Setenv(gemmImplEnv, "nosuch")
	if got := defaultGemmImpl().name; got != impls[0] {
		t.Errorf("%s=nosuch: default %q, want %q", gemmImplEnv, got, impls[0])
	}
}

// The SIMD kernels exist exactly where they should: the purego tag or
// another architecture leaves the generic one alone.
func TestGemmImplsBuilt(t *testing.T) {
	hasAsm := false
	for _, im := range gemmImplList() {
		if im.name != "generic" {
			hasAsm = true
		}
	}
	if want := runtime.GOARCH == "amd64" && !puregoBuild; hasAsm != want {
		t.Errorf("assembly kernels built: %v, want %v (GOARCH %s, purego %v)", hasAsm, want, runtime.GOARCH, puregoBuild)
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
	for _, sz := range [][2]int{{1, 1}, {128, 128}, {128, 512}, {784, 512}, {128, 784}, {1024, 1024}, {5, 2000}, {3000, 7}} {
		for _, workers := range []int{1, 2, 3} {
			for _, tile := range [][2]int{{2, 3}, {6, 16}, {12, 32}} {
				mr, nr := tile[0], tile[1]
				name := fmt.Sprintf("%dx%d, %dx%d tiles, %d workers", sz[0], sz[1], mr, nr, workers)
				keep := workers == 2
				p := planGemm(sz[0], sz[1], 144, 512, mr, nr, workers, keep)
				if keep && sz[0] <= 144 && sz[1] >= 16*gemmMinBlock && p.mb != 1 {
					t.Errorf("%s: rows cut into %d blocks", name, p.mb)
				}
				// The blocks cover the tile grid exactly, each at most
				// 144 x 512, and differ by at most a tile.
				var area int
				sizes := map[[2]int]bool{}
				for task := range p.tasks() {
					i0, i1, j0, j1 := p.block(task)
					if i1 <= i0 || j1 <= j0 || (i1-i0)*mr > max(144, mr) || (j1-j0)*nr > max(512, nr) {
						t.Fatalf("%s: block %d is tiles [%d,%d) x [%d,%d)", name, task, i0, i1, j0, j1)
					}
					area += (i1 - i0) * (j1 - j0)
					sizes[[2]int{i1 - i0, j1 - j0}] = true
				}
				if area != ceilDiv(sz[0], mr)*ceilDiv(sz[1], nr) {
					t.Errorf("%s: blocks cover %d tiles", name, area)
				}
				if len(sizes) > 4 {
					t.Errorf("%s: blocks of %d sizes", name, len(sizes))
				}
				if workers > 1 && sz[0] >= 8*gemmMinBlock && sz[1] >= 8*gemmMinBlock && p.tasks() < gemmTargetTasks {
					t.Errorf("%s: only %d tasks", name, p.tasks())
				}
				if workers == 1 && p.tasks() != ceilDiv(sz[0], 144/mr*mr)*ceilDiv(sz[1], 512/nr*nr) {
					t.Errorf("%s: %d tasks on one worker", name, p.tasks())
				}
				if workers == 2 && p.tasks() > 1 && sz[0]*sz[1] >= 128*128 && p.tasks()%2 != 0 {
					t.Errorf("%s: %d tasks", name, p.tasks())
				}
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
