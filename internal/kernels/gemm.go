package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// Matrix multiplication, organized as in BLIS and GotoBLAS: C is cut into
// blocks (tasks, which run in parallel); for each block the k sum runs in
// equal slices of depth at most kern.kc, and each slice of op(A) and op(B) is first copied
// ("packed") into the order the micro-kernel reads, so the kernel streams
// through contiguous memory whatever the transposes and leading dimensions
// were. The micro-kernel (gemm_tile.go) computes one small tile of C from
// a packed sliver of A and of B.
//
// Determinism: element C(i, j) always sums its k products in the same
// order (slices, fixed by k alone, in turn; steps within a slice in
// turn), on one
// goroutine, and lands in the same micro-tile (tiles sit at multiples of
// mr and nr from the origin, since blocks are multiples of them). How C is
// cut into tasks, and how many goroutines run them, changes nothing in
// the result.

// gemmParallelMin is the m*n*k below which Gemm runs on the calling
// goroutine: starting goroutines costs more than it saves.
const gemmParallelMin = 64 * 64 * 64

// gemmTargetTasks and gemmMinBlock shape the task grid of a parallel
// Gemm: blocks are split until there are this many tasks, so that a few
// threads balance, but not below this many rows or columns, so that the
// repeated packing stays cheap. Both depend on nothing but the problem.
const (
	gemmTargetTasks = 8
	gemmMinBlock    = 64
)

// Gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where
// op(X) is X or its transpose: op(A) is m x k, op(B) is k x n and C is
// m x n. A is stored as m x k with row stride lda (k x m when transA), B as
// k x n with row stride ldb (n x k when transB), C with row stride ldc.
// With beta == 0, C is not read; with alpha == 0 or k == 0, A and B are not
// read. A and B must not overlap C.
//
// Gemm uses up to Threads() goroutines for large problems, and its result
// does not depend on how many it uses. It panics with a message naming the
// sizes when a leading dimension or a slice is too small.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		return
	}
	kern := kernelFor[T]()
	parallel := int64(m)*int64(n)*int64(k) >= gemmParallelMin
	g := gemmCall[T]{
		kern: kern, plan: planGemm(m, n, kern.mc, kern.nc, kern.mr, kern.nr, parallel),
		transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}
	if !parallel {
		g.run()
		return
	}
	Parallel(g.plan.tasks(), g.task)
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, la, lda)
	checkMatrix("B", br, bc, lb, ldb)
	checkMatrix("C", m, n, lc, ldc)
}

// checkMatrix panics unless a slice of length l with row stride ld holds a
// rows x cols row-major matrix.
func checkMatrix(name string, rows, cols, l, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: Gemm: leading dimension %d of %s is less than its %d columns", ld, name, cols))
	}
	if rows > 0 && cols > 0 && l < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: Gemm: %s is %d x %d with leading dimension %d, needs %d elements, has %d", name, rows, cols, ld, (rows-1)*ld+cols, l))
	}
}

// scaleMatrix sets C = beta*C (C = 0 when beta == 0, whatever C held).
func scaleMatrix[T Float](m, n int, beta T, c []T, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// gemmPlan is the grid of C blocks: mb x nb blocks of mc x nc (smaller at
// the bottom and right edges). Task t is block (t / nb, t % nb).
type gemmPlan struct{ mc, nc, mb, nb int }

func (p gemmPlan) tasks() int { return p.mb * p.nb }

// planGemm cuts an m x n C into blocks of at most mcMax x ncMax whose sides
// are multiples of mr and nr. When the product runs in parallel, blocks
// are split further until there are gemmTargetTasks of them (for load
// balance), as long as they keep gemmMinBlock rows and columns.
func planGemm(m, n, mcMax, ncMax, mr, nr int, parallel bool) gemmPlan {
	mb, nb := ceilDiv(m, mcMax), ceilDiv(n, ncMax)
	for parallel && mb*nb < gemmTargetTasks {
		hm, hn := ceilDiv(m, mb), ceilDiv(n, nb)
		if hn >= hm && hn >= 2*gemmMinBlock {
			nb++
		} else if hm >= 2*gemmMinBlock {
			mb++
		} else if hn >= 2*gemmMinBlock {
			nb++
		} else {
			break
		}
	}
	mc := roundUp(ceilDiv(m, mb), mr)
	nc := roundUp(ceilDiv(n, nb), nr)
	return gemmPlan{mc: mc, nc: nc, mb: ceilDiv(m, mc), nb: ceilDiv(n, nc)}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// gemmCall holds one Gemm's arguments, shared read-only by its tasks.
type gemmCall[T Float] struct {
	kern           gemmKernel[T]
	plan           gemmPlan
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a              []T
	lda            int
	b              []T
	ldb            int
	c              []T
	ldc            int
}

// run computes every block on the calling goroutine.
func (g *gemmCall[T]) run() {
	for t := range g.plan.tasks() {
		g.task(t)
	}
}

// task computes block t of C: for each kc slice of the k sum, it packs the
// block's rows of op(A) and columns of op(B), then runs the micro-kernel
// over every tile of the block.
func (g *gemmCall[T]) task(t int) {
	kern := g.kern
	mr, nr := kern.mr, kern.nr
	i0 := (t / g.plan.nb) * g.plan.mc
	j0 := (t % g.plan.nb) * g.plan.nc
	mcb := min(g.plan.mc, g.m-i0)
	ncb := min(g.plan.nc, g.n-j0)
	// The k sum runs in equal slices of at most kern.kc, rather than full
	// ones and a sliver, which would cost a whole pass over C for little.
	kcMax := ceilDiv(g.k, ceilDiv(g.k, kern.kc))
	mPad, nPad := roundUp(mcb, mr), roundUp(ncb, nr)

	buf := getScratch[T](kcMax*(mPad+nPad) + mr*nr)
	defer putScratch(buf)
	s := *buf
	apack := s[:kcMax*mPad]
	bpack := s[kcMax*mPad : kcMax*(mPad+nPad)]
	edge := s[kcMax*(mPad+nPad):]

	for p0 := 0; p0 < g.k; p0 += kcMax {
		kc := min(kcMax, g.k-p0)
		// op(A)(i, p): stored at a[i*lda+p], or a[p*lda+i] when transposed.
		var offA, ldA int
		if g.transA {
			offA, ldA = p0*g.lda+i0, g.lda
		} else {
			offA, ldA = i0*g.lda+p0, g.lda
		}
		packPanels(apack, g.a, offA, ldA, g.transA, kc, mcb, mr)
		// op(B)(p, j): stored at b[p*ldb+j], or b[j*ldb+p] when transposed.
		var offB int
		if g.transB {
			offB = j0*g.ldb + p0
		} else {
			offB = p0*g.ldb + j0
		}
		packPanels(bpack, g.b, offB, g.ldb, !g.transB, kc, ncb, nr)

		beta := g.beta
		if p0 > 0 {
			beta = 1 // later slices add to what the first one wrote
		}
		for jj := 0; jj < ncb; jj += nr {
			w := min(nr, ncb-jj)
			bs := bpack[(jj/nr)*kc*nr : (jj/nr+1)*kc*nr]
			for ii := 0; ii < mcb; ii += mr {
				h := min(mr, mcb-ii)
				as := apack[(ii/mr)*kc*mr : (ii/mr+1)*kc*mr]
				off := (i0+ii)*g.ldc + j0 + jj
				if h == mr && w == nr {
					kern.tile(kc, g.alpha, as, bs, beta, g.c[off:], g.ldc)
					continue
				}
				// A tile hanging over the edge of C: compute it whole into
				// scratch and copy in the part that exists.
				kern.tile(kc, g.alpha, as, bs, 0, edge, nr)
				for r := range h {
					row := g.c[off+r*g.ldc : off+r*g.ldc+w]
					e := edge[r*nr : r*nr+w]
					if beta == 0 {
						copy(row, e)
						continue
					}
					for q := range row {
						row[q] = e[q] + beta*row[q]
					}
				}
			}
		}
	}
}

// packPanels copies a kc x size slice of a matrix X into slivers of width
// w: sliver s holds, for each p in [0, kc), the w values X(p, s*w+q), with
// zeros past size. X(p, q) is src[off+p*ld+q] when alongRows (the sliver
// runs along stored rows), else src[off+q*ld+p]. Either way the source is
// read one stored row at a time: striding across rows instead touches a
// new page at every step and runs several times slower.
func packPanels[T Float](dst, src []T, off, ld int, alongRows bool, kc, size, w int) {
	slivers := ceilDiv(size, w)
	if alongRows {
		// A few rows at a time, so that each sliver receives a run of
		// values per visit rather than w of them (every sliver lies on
		// a different page).
		const rows = 16
		for p0 := 0; p0 < kc; p0 += rows {
			p1 := min(p0+rows, kc)
			for s0 := 0; s0 < size; s0 += w {
				n := min(w, size-s0)
				d := dst[(s0/w)*kc*w:]
				for p := p0; p < p1; p++ {
					o := off + p*ld + s0
					dp := d[p*w : p*w+w]
					copySmall(dp, src[o:o+n])
					for q := n; q < w; q++ {
						dp[q] = 0
					}
				}
			}
		}
		return
	}
	for q := range size {
		d := dst[(q/w)*kc*w+q%w:]
		o := off + q*ld
		for p, v := range src[o : o+kc] {
			d[p*w] = v
		}
	}
	for q := size; q < slivers*w; q++ {
		d := dst[(q/w)*kc*w+q%w:]
		for p := range kc {
			d[p*w] = 0
		}
	}
}

// copySmall is copy for the few elements of a sliver, where a loop beats
// copy's call into memmove.
func copySmall[T Float](dst, src []T) int {
	n := min(len(dst), len(src))
	for i, v := range src[:n] {
		dst[i] = v
	}
	return n
}

// Packing buffers are reused across calls (a training step multiplies the
// same shapes again and again), one pool per element type.
var scratch32, scratch64 sync.Pool

func scratchPool[T Float]() *sync.Pool {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		return &scratch32
	}
	return &scratch64
}

func getScratch[T Float](n int) *[]T {
	p := scratchPool[T]()
	if v, ok := p.Get().(*[]T); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	s := make([]T, n)
	return &s
}

func putScratch[T Float](s *[]T) { scratchPool[T]().Put(s) }
