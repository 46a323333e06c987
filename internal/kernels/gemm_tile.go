package kernels

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"unsafe"
)

// The micro-kernel: the only place where Gemm spends its time, and the one
// function an assembly version replaces. Everything else in gemm.go only
// moves data into the layout it reads.

// gemmKernel describes a micro-kernel and the blocking that suits it.
type gemmKernel[T Float] struct {
	mr, nr int // the tile of C one call computes
	kc     int // deepest packed slice: the k sum runs in slices of at most kc
	mc, nc int // largest block of C one task computes

	// tile reads a packed sliver of A (kc groups of mr values: a[p*mr+i] is
	// A(i, p)) and of B (kc groups of nr: b[p*nr+j] is B(p, j)), and
	// stores alpha*A*B + beta*C into the mr x nr tile c[i*ldc+j]. With
	// beta == 0, C is only written, never read (NaNs in it do not leak).
	// kc >= 1.
	tile func(kc int, alpha T, a, b []T, beta T, c []T, ldc int)

	// along and across pack slivers of width mr or nr (gemm_pack.go).
	along  func(dst, src []T, ld, pa, pb, d, cols, w int)
	across func(dst, src []T, ld, sa, sb, d, cols, w int)
}

// gemmImpl is one family of micro-kernels, for both element types.
type gemmImpl struct {
	name    string
	missing string // why this machine cannot run it; empty when it can
	k32     gemmKernel[float32]
	k64     gemmKernel[float64]
}

// genericImpl is the portable kernel: the only one on other architectures,
// on CPUs without AVX2 and FMA, and with the purego build tag.
var genericImpl = &gemmImpl{
	name: "generic",
	k32: gemmKernel[float32]{mr: 2, nr: 3, kc: 256, mc: 128, nc: 384, tile: tile2x3[float32],
		along: packAlong[float32], across: packAcross[float32]},
	k64: gemmKernel[float64]{mr: 2, nr: 3, kc: 256, mc: 128, nc: 384, tile: tile2x3[float64],
		along: packAlong[float64], across: packAcross[float64]},
}

// gemmImplEnv names the environment variable that picks the GEMM kernel
// when a process starts (generic, avx2, avx512); SetGemmImpl changes it
// later. A name the machine cannot run is ignored.
const gemmImplEnv = "BACKPROP_GEMM"

// gemmActive is the family in use; nil until the first Gemm picks the
// default.
var gemmActive atomic.Pointer[gemmImpl]

// gemmImplList returns every kernel family compiled in, best first.
func gemmImplList() []*gemmImpl { return append(archGemmImpls(), genericImpl) }

// defaultGemmImpl is the fastest family this CPU runs, unless the
// environment names another one it runs.
func defaultGemmImpl() *gemmImpl {
	var pick *gemmImpl
	want := os.Getenv(gemmImplEnv)
	for _, im := range gemmImplList() {
		if im.missing != "" {
			continue
		}
		if pick == nil || im.name == want {
			pick = im
		}
	}
	return pick
}

func activeGemm() *gemmImpl {
	if p := gemmActive.Load(); p != nil {
		return p
	}
	gemmActive.CompareAndSwap(nil, defaultGemmImpl())
	return gemmActive.Load()
}

// GemmImpl names the micro-kernel family Gemm uses now: "avx512", "avx2"
// or "generic".
func GemmImpl() string { return activeGemm().name }

// GemmImpls lists the micro-kernel families this binary has and this CPU
// can run, fastest first; "generic" is always there.
func GemmImpls() []string {
	var names []string
	for _, im := range gemmImplList() {
		if im.missing == "" {
			names = append(names, im.name)
		}
	}
	return names
}

// SetGemmImpl makes Gemm use the named micro-kernel family from now on;
// "" restores the default (the fastest, or the one named by the
// BACKPROP_GEMM environment variable). It fails, changing nothing, for a
// family this binary lacks (the purego build tag leaves only "generic") or
// this CPU cannot run. Results differ between families in the last bits
// (the order of a sum's roundings is theirs), never between thread counts.
func SetGemmImpl(name string) error {
	if name == "" {
		gemmActive.Store(defaultGemmImpl())
		return nil
	}
	var have []string
	for _, im := range gemmImplList() {
		if im.name != name {
			have = append(have, im.name)
			continue
		}
		if im.missing != "" {
			return fmt.Errorf("kernels: SetGemmImpl: %s kernels cannot run here: %s", name, im.missing)
		}
		gemmActive.Store(im)
		return nil
	}
	return fmt.Errorf("kernels: SetGemmImpl: no %q kernels in this build (it has %s)", name, strings.Join(have, ", "))
}

// kernelFor returns the active micro-kernel for T. T may be a named type
// (~float32), whose kernel is the float32 one: the two only differ in name.
func kernelFor[T Float]() gemmKernel[T] {
	im := activeGemm()
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		return *(*gemmKernel[T])(unsafe.Pointer(&im.k32))
	}
	return *(*gemmKernel[T])(unsafe.Pointer(&im.k64))
}

// tile2x3 is the portable micro-kernel. Its shape comes from Go's register
// allocator rather than from the machine: with SSE's two-operand multiply
// every product needs a temporary, and the scheduler places the updates
// of the loop-carried accumulators last, so 2x3 = 6 accumulators plus 6
// temporaries is the largest tile that stays in the 15 usable XMM
// registers (2x4 and 4x4 spill and run at half the speed). The loop body
// covers four k steps, read through array pointers so that it carries no
// bounds checks; the checks on a and b before the loop cover every read.
func tile2x3[T Float](kc int, alpha T, a, b []T, beta T, c []T, ldc int) {
	var c00, c01, c02, c10, c11, c12 T
	if kc > 0 {
		_ = a[2*kc-1]
		_ = b[3*kc-1]
		var zero T
		sz := unsafe.Sizeof(zero)
		pa := unsafe.Pointer(unsafe.SliceData(a))
		pb := unsafe.Pointer(unsafe.SliceData(b))
		var ia, ib uintptr // byte offsets of step p in a and b
		p := 0
		for ; p+4 <= kc; p += 4 {
			ap := (*[8]T)(unsafe.Add(pa, ia))
			bp := (*[12]T)(unsafe.Add(pb, ib))
			a0, a1 := ap[0], ap[1]
			b0 := bp[0]
			c00 += a0 * b0
			c10 += a1 * b0
			b1 := bp[1]
			c01 += a0 * b1
			c11 += a1 * b1
			b2 := bp[2]
			c02 += a0 * b2
			c12 += a1 * b2
			a0, a1 = ap[2], ap[3]
			b0 = bp[3]
			c00 += a0 * b0
			c10 += a1 * b0
			b1 = bp[4]
			c01 += a0 * b1
			c11 += a1 * b1
			b2 = bp[5]
			c02 += a0 * b2
			c12 += a1 * b2
			a0, a1 = ap[4], ap[5]
			b0 = bp[6]
			c00 += a0 * b0
			c10 += a1 * b0
			b1 = bp[7]
			c01 += a0 * b1
			c11 += a1 * b1
			b2 = bp[8]
			c02 += a0 * b2
			c12 += a1 * b2
			a0, a1 = ap[6], ap[7]
			b0 = bp[9]
			c00 += a0 * b0
			c10 += a1 * b0
			b1 = bp[10]
			c01 += a0 * b1
			c11 += a1 * b1
			b2 = bp[11]
			c02 += a0 * b2
			c12 += a1 * b2
			ia += 8 * sz
			ib += 12 * sz
		}
		for ; p < kc; p++ {
			ap := (*[2]T)(unsafe.Add(pa, ia))
			bp := (*[3]T)(unsafe.Add(pb, ib))
			a0, a1 := ap[0], ap[1]
			b0, b1, b2 := bp[0], bp[1], bp[2]
			c00 += a0 * b0
			c10 += a1 * b0
			c01 += a0 * b1
			c11 += a1 * b1
			c02 += a0 * b2
			c12 += a1 * b2
			ia += 2 * sz
			ib += 3 * sz
		}
	}
	r0 := c[0:3:3]
	r1 := c[ldc : ldc+3 : ldc+3]
	if beta == 0 {
		r0[0], r0[1], r0[2] = alpha*c00, alpha*c01, alpha*c02
		r1[0], r1[1], r1[2] = alpha*c10, alpha*c11, alpha*c12
		return
	}
	r0[0] = alpha*c00 + beta*r0[0]
	r0[1] = alpha*c01 + beta*r0[1]
	r0[2] = alpha*c02 + beta*r0[2]
	r1[0] = alpha*c10 + beta*r1[0]
	r1[1] = alpha*c11 + beta*r1[1]
	r1[2] = alpha*c12 + beta*r1[2]
}
