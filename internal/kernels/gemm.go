package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Matrix multiplication, organized as in BLIS and GotoBLAS. The k sum runs
// in equal slices of depth at most kern.kc; op(A) and op(B) are first
// copied ("packed", gemm_pack.go) slice by slice into slivers of kern.mr
// rows and kern.nr columns, in the order the micro-kernel (gemm_tile.go,
// gemm_amd64.s) reads, so that it streams through contiguous memory
// whatever the transposes and leading dimensions were. C is then cut into
// blocks (tasks, which run in parallel); a task runs, for each slice in
// turn, the micro-kernel over every mr x nr tile of its block, walking
// down the block with one B sliver (kept in L1) past the block's A slivers
// (kept in L2).
//
// The packed operands are shared by all tasks: each is packed once, in
// parallel, before the tasks start. Problems whose packed operands would
// exceed gemmPackLimit are cut into chunks (ranges of k slices, rows and
// columns) that are packed and computed in turn.
//
// Determinism: element C(i, j) always sums its k products in the same
// order (slices, fixed by k alone, in turn; steps within a slice in turn),
// on one goroutine, and lands in the same micro-tile (tiles sit at
// multiples of mr and nr from the origin, since blocks and chunks are
// multiples of them). How C is cut into tasks and chunks, and how many
// goroutines run them, changes nothing in the result. (Tiny products,
// chosen by their shape alone, skip packing: gemmSmall.) Different kernel
// families (GemmImpl) round differently: results agree between machines
// that run the same family.

// gemmParallelMin is the m*n*k below which Gemm runs on the calling
// goroutine: starting goroutines costs more than it saves.
const gemmParallelMin = 64 * 64 * 64

// gemmTargetTasks and gemmMinBlock shape the task grid of a parallel
// Gemm: blocks are split until there are this many tasks (and a multiple
// of the worker count, so that equal tasks share out evenly), but not
// below this many rows or columns, so that a B sliver brought into L1
// serves several tiles and an A block brought into L2 serves several
// slivers. Tasks are handed out as workers come free, so the run ends at
// most about one task apart on each worker: with 32 of them, a goroutine
// that starts late or a core taken by another process costs little.
const (
	gemmTargetTasks = 32
	gemmMinBlock    = 32
)

// gemmPackLimit bounds the packed copy of each operand, in bytes: 16 MiB
// packs all of a 2048 x 2048 float32 operand at once (chunks end with a
// wait for their slowest task). A variable so that tests can make
// chunking happen on small problems.
var gemmPackLimit = 16 << 20

// gemmPackUnit is about how many elements one packing task copies.
const gemmPackUnit = 16 << 10

// Gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where
// op(X) is X or its transpose: op(A) is m x k, op(B) is k x n and C is
// m x n. A is stored as m x k with row stride lda (k x m when transA), B as
// k x n with row stride ldb (n x k when transB), C with row stride ldc.
// With beta == 0, C is not read; with alpha == 0 or k == 0, A and B are not
// read. A and B must not overlap C.
//
// Gemm uses up to Threads() goroutines for large problems, and its result
// does not depend on how many it uses. GemmImpl names the micro-kernel it
// runs. It panics with a message naming the sizes when a leading dimension
// or a slice is too small.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		return
	}
	size := int64(m) * int64(n) * int64(k)
	if size <= gemmSmallMax {
		gemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	workers := 1
	if size >= gemmParallelMin {
		workers = Threads()
	}
	w := getGemmWork[T]()
	w.g = gemmCall[T]{
		kern:   kernelFor[T](),
		transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}
	w.exec(workers)
	putGemmWork(w)
}

// gemmSmallMax is the m*n*k up to which Gemm sums each element directly,
// without packing: below it, setting up the packed product costs more
// than the product. A variable so that tests can send small products
// through the kernels.
var gemmSmallMax int64 = 256

// gemmSmall is Gemm for tiny products. Each C(i, j) sums its products in
// k order, as a dot product would, but a row of C at a time, so that the
// sums do not wait on one another.
func gemmSmall[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	// op(A)(i, p) = a[i*ai+p*ap].
	ai, ap := lda, 1
	if transA {
		ai, ap = 1, lda
	}
	var buf [64]T
	for i := range m {
		for j0 := 0; j0 < n; j0 += len(buf) {
			acc := buf[:min(len(buf), n-j0)]
			clear(acc)
			for p := range k {
				x := a[i*ai+p*ap]
				if transB {
					for j := range acc {
						acc[j] += x * b[(j0+j)*ldb+p]
					}
				} else {
					for j, v := range b[p*ldb+j0 : p*ldb+j0+len(acc)] {
						acc[j] += x * v
					}
				}
			}
			row := c[i*ldc+j0 : i*ldc+j0+len(acc)]
			for j, s := range acc {
				if beta == 0 {
					row[j] = alpha * s
				} else {
					row[j] = alpha*s + beta*row[j]
				}
			}
		}
	}
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

// gemmPlan is the grid of C blocks: the mt x nt tiles of C dealt into mb
// block rows and nb block columns as evenly as whole tiles allow. Task t
// is block (t / nb, t % nb).
type gemmPlan struct{ mt, nt, mb, nb int }

func (p gemmPlan) tasks() int { return p.mb * p.nb }

// block returns the tiles of task t: rows [i0, i1) and columns [j0, j1)
// of the tile grid.
func (p gemmPlan) block(t int) (i0, i1, j0, j1 int) {
	bi, bj := t/p.nb, t%p.nb
	return bi * p.mt / p.mb, (bi + 1) * p.mt / p.mb, bj * p.nt / p.nb, (bj + 1) * p.nt / p.nb
}

// planGemm cuts an m x n C into blocks of at most mcMax x ncMax (rounded
// down to whole mr x nr tiles). For a parallel product (workers > 1)
// blocks are split further, along the wider side, until there are
// gemmTargetTasks of them and their count is a multiple of workers, as
// long as they keep gemmMinBlock rows and columns. With keepRows, when
// all rows fit one block, columns alone are split as long as that gives
// each worker 4 tasks (see gemmChunk.bTask).
func planGemm(m, n, mcMax, ncMax, mr, nr, workers int, keepRows bool) gemmPlan {
	mt, nt := ceilDiv(m, mr), ceilDiv(n, nr)
	mb := ceilDiv(mt, max(1, mcMax/mr))
	nb := ceilDiv(nt, max(1, ncMax/nr))
	for workers > 1 && (mb*nb < gemmTargetTasks || mb*nb%workers != 0) {
		canM := mt/(mb+1)*mr >= gemmMinBlock
		canN := nt/(nb+1)*nr >= gemmMinBlock
		if keepRows && mb == 1 {
			// Rows in one block let tasks pack their own B (gemmChunk.bTask):
			// split only the columns, while there are enough of them.
			if canN {
				nb++
				continue
			}
			if even := nb - nb%workers; even >= 4*workers {
				nb = even
				break
			}
		}
		wideN := nt/nb*nr >= mt/mb*mr
		if canN && (wideN || !canM) {
			nb++
		} else if canM {
			mb++
		} else {
			break
		}
	}
	return gemmPlan{mt: mt, nt: nt, mb: mb, nb: nb}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// gemmCall holds one Gemm's arguments, shared read-only by its tasks.
type gemmCall[T Float] struct {
	kern           gemmKernel[T]
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

// gemmChunk is the part of a product that is packed and computed at once:
// k slices [p0, p0+kd) (kd a multiple of the slice depth ks, or running
// to k), rows [i0, i0+mh) and columns [j0, j0+nw) of C (i0 and j0
// multiples of mr and nr). Its packed A holds, slice after slice, the
// ceil(mh/mr) slivers of mr x depth values; its packed B likewise.
type gemmChunk[T Float] struct {
	g              *gemmCall[T]
	ks             int
	p0, kd         int
	i0, mh, j0, nw int
	apack, bpack   []T
	edge           []T // mr*nr scratch per worker, for tiles that overhang C
	plan           gemmPlan
	ua, ub         int // packing units per slice of A and of B

	// bTask: the chunk's rows are one block, so each B sliver serves a
	// single task, which packs it itself, into its worker's part of bwork
	// (ks*nr values each), just before running it past the A slivers:
	// the packed copy never leaves L1, and the packing of one core
	// overlaps the other's arithmetic instead of taking a phase of its
	// own. Only for a transposed B, whose sliver is read as nr sequential
	// runs; a sliver of B as stored is a column strip, read a short piece
	// per row, which measured slower than packing all rows in turn.
	bTask bool
	bwork []T
}

// gemmWork is everything one Gemm call needs besides its arguments, kept
// in a pool so that a call allocates nothing: the call, its chunk, the
// packing buffer and the task functions bound to them.
type gemmWork[T Float] struct {
	g    gemmCall[T]
	ch   gemmChunk[T]
	buf  []T
	pack func(u int)
	task func(t, w int)
}

var gemmWork32, gemmWork64 sync.Pool

func gemmWorkPool[T Float]() *sync.Pool {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		return &gemmWork32
	}
	return &gemmWork64
}

func getGemmWork[T Float]() *gemmWork[T] {
	if w, ok := gemmWorkPool[T]().Get().(*gemmWork[T]); ok {
		return w
	}
	w := new(gemmWork[T])
	w.ch.g = &w.g
	w.pack = w.ch.packUnit
	w.task = w.ch.task
	return w
}

// putGemmWork returns w to the pool, dropping its references to the
// caller's matrices.
func putGemmWork[T Float](w *gemmWork[T]) {
	w.g.a, w.g.b, w.g.c = nil, nil, nil
	gemmWorkPool[T]().Put(w)
}

// exec packs and computes the product chunk by chunk on up to workers
// goroutines.
func (wk *gemmWork[T]) exec(workers int) {
	g := &wk.g
	kern := &g.kern
	mr, nr := kern.mr, kern.nr
	// The k sum runs in equal slices of at most kern.kc, rather than full
	// ones and a sliver, which would cost a whole pass over C for little.
	ks := ceilDiv(g.k, ceilDiv(g.k, kern.kc))
	mPad, nPad := roundUp(g.m, mr), roundUp(g.n, nr)

	// Chunks: all of k when a block's worth of rows and columns fits the
	// limit, then as many rows and columns as fit.
	var zero T
	limit := max(gemmPackLimit/int(unsafe.Sizeof(zero)), mr*nr) // elements
	blk := max(min(mPad, roundUp(kern.mc, mr)), min(nPad, roundUp(kern.nc, nr)))
	kch := g.k
	if blk*g.k > limit {
		kch = min(g.k, max(1, limit/blk/ks)*ks)
	}
	mch := min(mPad, max(mr, limit/kch/mr*mr))
	nch := min(nPad, max(nr, limit/kch/nr*nr))

	// Packed B starts on a cache line: a step of a B sliver (nr values)
	// is a whole number of lines, so no vector load of it straddles two.
	// Buffer: the workers' B slivers, packed B, packed A, edge tiles.
	lineElems := 64 / int(unsafe.Sizeof(zero))
	bw := workers * ks * nr
	if need := lineElems + bw + (mch+nch)*kch + workers*mr*nr; cap(wk.buf) < need {
		wk.buf = make([]T, need)
	}
	s := wk.buf[:cap(wk.buf)]
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) % 64); r != 0 {
		s = s[(64-r)/int(unsafe.Sizeof(zero)):]
	}
	ch := &wk.ch
	ch.ks = ks
	ch.bwork = s[:bw]
	ch.bpack = s[bw : bw+nch*kch]
	ch.apack = s[bw+nch*kch : bw+(mch+nch)*kch]
	ch.edge = s[bw+(mch+nch)*kch:]
	// The chunk whose B bpack holds, if any: with one column chunk, B
	// packed for the first rows' chunk serves the others.
	bHeld := -1
	for p0 := 0; p0 < g.k; p0 += kch {
		ch.p0, ch.kd = p0, min(kch, g.k-p0)
		for i0 := 0; i0 < g.m; i0 += mch {
			ch.i0, ch.mh = i0, min(mch, g.m-i0)
			for j0 := 0; j0 < g.n; j0 += nch {
				ch.j0, ch.nw = j0, min(nch, g.n-j0)
				ch.plan = planGemm(ch.mh, ch.nw, kern.mc, kern.nc, mr, nr, workers, g.transB)
				ch.bTask = ch.plan.mb == 1 && g.transB
				ch.ua, ch.ub = 0, 0
				if j0 == 0 {
					ch.ua = ch.packUnits(ch.mh, mr, g.transA)
				}
				if held := p0*g.n + j0; !ch.bTask && bHeld != held {
					ch.ub = ch.packUnits(ch.nw, nr, !g.transB)
					bHeld = held
				}
				gemmRun(workers, ceilDiv(ch.kd, ks)*(ch.ua+ch.ub), ch.plan.tasks(), wk.pack, wk.task)
			}
		}
	}
}

// packUnit runs packing task u: unit u%(ua+ub) of slice u/(ua+ub), of A
// for the first ua units, else of B.
func (ch *gemmChunk[T]) packUnit(u int) {
	s, u := u/(ch.ua+ch.ub), u%(ch.ua+ch.ub)
	if u < ch.ua {
		ch.packA(s, u, ch.ua)
	} else {
		ch.packB(s, u-ch.ua, ch.ub)
	}
}

// packUnits is how many packing tasks share one slice of an operand with
// cols columns in slivers of w: equal ranges of stored rows when it is
// stored along (see gemm_pack.go), of slivers when across.
func (ch *gemmChunk[T]) packUnits(cols, w int, along bool) int {
	n := ceilDiv(roundUp(cols, w)*ch.ks, gemmPackUnit)
	if along {
		return min(n, ch.ks)
	}
	return min(n, ceilDiv(cols, w))
}

// sliceAt returns the offset within the chunk and the depth of slice s.
func (ch *gemmChunk[T]) sliceAt(s int) (off, depth int) {
	off = s * ch.ks
	return off, min(ch.ks, ch.kd-off)
}

// packA packs unit u of units of slice s of the chunk's rows of op(A).
// op(A)(i, p) is a[i*lda+p], or a[p*lda+i] when transposed.
func (ch *gemmChunk[T]) packA(s, u, units int) {
	g := ch.g
	off, d := ch.sliceAt(s)
	mhPad := roundUp(ch.mh, g.kern.mr)
	dst := ch.apack[off*mhPad : (off+d)*mhPad] // the slices before s are all full
	p := ch.p0 + off
	if g.transA {
		g.kern.along(dst, g.a[p*g.lda+ch.i0:], g.lda, u*d/units, (u+1)*d/units, d, ch.mh, g.kern.mr)
	} else {
		sl := ceilDiv(ch.mh, g.kern.mr)
		g.kern.across(dst, g.a[ch.i0*g.lda+p:], g.lda, u*sl/units, (u+1)*sl/units, d, ch.mh, g.kern.mr)
	}
}

// packB packs unit u of units of slice s of the chunk's columns of op(B).
// op(B)(p, j) is b[p*ldb+j], or b[j*ldb+p] when transposed.
func (ch *gemmChunk[T]) packB(s, u, units int) {
	g := ch.g
	off, d := ch.sliceAt(s)
	nwPad := roundUp(ch.nw, g.kern.nr)
	dst := ch.bpack[off*nwPad : (off+d)*nwPad]
	p := ch.p0 + off
	if g.transB {
		sl := ceilDiv(ch.nw, g.kern.nr)
		g.kern.across(dst, g.b[ch.j0*g.ldb+p:], g.ldb, u*sl/units, (u+1)*sl/units, d, ch.nw, g.kern.nr)
	} else {
		g.kern.along(dst, g.b[p*g.ldb+ch.j0:], g.ldb, u*d/units, (u+1)*d/units, d, ch.nw, g.kern.nr)
	}
}

// packBSliver packs the sliver of op(B) at chunk column jj (wd columns
// wide) for k steps [p, p+d) into dst.
func (ch *gemmChunk[T]) packBSliver(dst []T, p, d, jj, wd int) {
	g := ch.g
	j := ch.j0 + jj
	if g.transB {
		g.kern.across(dst, g.b[j*g.ldb+p:], g.ldb, 0, 1, d, wd, g.kern.nr)
	} else {
		g.kern.along(dst, g.b[p*g.ldb+j:], g.ldb, 0, d, d, wd, g.kern.nr)
	}
}

// task computes block t of the chunk's part of C, worker w: for each k
// slice in turn, one B sliver at a time against every A sliver of the
// block.
func (ch *gemmChunk[T]) task(t, w int) {
	g := ch.g
	kern := &g.kern
	mr, nr := kern.mr, kern.nr
	edge := ch.edge[w*mr*nr : (w+1)*mr*nr]
	ti0, ti1, tj0, tj1 := ch.plan.block(t)
	r0, r1 := ti0*mr, min(ti1*mr, ch.mh) // rows within the chunk
	c0, c1 := tj0*nr, min(tj1*nr, ch.nw) // columns
	mhPad, nwPad := roundUp(ch.mh, mr), roundUp(ch.nw, nr)
	for s := range ceilDiv(ch.kd, ch.ks) {
		off, d := ch.sliceAt(s)
		beta := g.beta
		if ch.p0+off > 0 {
			beta = 1 // later slices add to what the first one wrote
		}
		as := ch.apack[off*mhPad : off*mhPad+mhPad*d]
		bs := ch.bpack[off*nwPad : off*nwPad+nwPad*d]
		for jj := c0; jj < c1; jj += nr {
			wd := min(nr, ch.nw-jj)
			var bsl []T
			if ch.bTask {
				bsl = ch.bwork[w*ch.ks*nr : w*ch.ks*nr+d*nr]
				ch.packBSliver(bsl, ch.p0+off, d, jj, wd)
			} else {
				bsl = bs[jj*d : (jj+nr)*d]
			}
			for ii := r0; ii < r1; ii += mr {
				asl := as[ii*d : (ii+mr)*d]
				h := min(mr, ch.mh-ii)
				cOff := (ch.i0+ii)*g.ldc + ch.j0 + jj
				if h == mr && wd == nr {
					kern.tile(d, g.alpha, asl, bsl, beta, g.c[cOff:], g.ldc)
					continue
				}
				// A tile hanging over the edge of C: compute it whole into
				// scratch and copy in the part that exists.
				kern.tile(d, g.alpha, asl, bsl, 0, edge, nr)
				for r := range h {
					row := g.c[cOff+r*g.ldc : cOff+r*g.ldc+wd]
					e := edge[r*nr : r*nr+wd]
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

// gemmRun runs nPack packing tasks, then nTask compute tasks, on up to
// workers goroutines (the caller's included). Tasks are handed out in
// order; a compute task starts only when every packing task has finished,
// which costs little since at most workers-1 of them can still be running
// when the first compute task is handed out. task receives the index of
// the goroutine running it, below workers. Like Parallel, a gemmRun inside
// (or concurrent with) another parallel region runs on the caller alone.
func gemmRun(workers, nPack, nTask int, pack func(int), task func(t, w int)) {
	workers = min(workers, nPack+nTask)
	if workers <= 1 || !inParallel.CompareAndSwap(false, true) {
		for i := range nPack {
			pack(i)
		}
		for t := range nTask {
			task(t, 0)
		}
		return
	}
	r := &gemmRegion
	r.nPack, r.total = int64(nPack), int64(nPack+nTask)
	r.pack, r.task = pack, task
	r.next.Store(0)
	r.packed.Store(0)
	r.packing.Add(nPack)
	runRegion(workers-1, gemmBody)
	r.pack, r.task = nil, nil
	inParallel.Store(false)
}

// gemmRegion is the state of the running gemmRun region, global so that
// starting one allocates nothing.
var gemmRegion struct {
	nPack, total int64
	pack         func(int)
	task         func(t, w int)
	packing      sync.WaitGroup
	_            [64]byte // keep the hot counters off the lines the workers read
	next, packed atomic.Int64
	_            [48]byte
}

// gemmBody is worker w's part of a gemmRun region.
func gemmBody(w int) {
	r := &gemmRegion
	waited := false
	for {
		i := r.next.Add(1) - 1
		if i >= r.total {
			return
		}
		if i < r.nPack {
			r.pack(int(i))
			r.packed.Add(1)
			r.packing.Done()
			continue
		}
		if !waited {
			waitPacked(&r.packed, r.nPack, &r.packing)
			waited = true
		}
		r.task(int(i-r.nPack), w)
	}
}

// gemmPackSpin is how long a worker polls for the last packing tasks to
// finish before it sleeps: they are usually microseconds away, but on a
// loaded machine the goroutine running one can lose its core for much
// longer, and spinning all that time would only slow it down further.
const gemmPackSpin = 50 * time.Microsecond

func waitPacked(packed *atomic.Int64, n int64, packing *sync.WaitGroup) {
	start := time.Now()
	for packed.Load() < n {
		if time.Since(start) > gemmPackSpin {
			packing.Wait()
			return
		}
		runtime.Gosched()
	}
}
