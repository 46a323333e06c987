package kernels

import "unsafe"

// The micro-kernel: the only place where Gemm spends its time, and the one
// function an assembly version replaces. Everything else in gemm.go only
// moves data into the layout it reads.

// gemmKernel describes a micro-kernel and the blocking that suits it.
type gemmKernel[T Float] struct {
	mr, nr int // the tile of C one call computes
	kc     int // deepest packed slice: the k sum runs in slices of at most kc
	mc, nc int // largest block of C one task packs A and B for

	// tile reads a packed sliver of A (kc groups of mr values: a[p*mr+i] is
	// A(i, p)) and of B (kc groups of nr: b[p*nr+j] is B(p, j)), and
	// stores alpha*A*B + beta*C into the mr x nr tile c[i*ldc+j]. With
	// beta == 0, C is only written, never read (NaNs in it do not leak).
	tile func(kc int, alpha T, a, b []T, beta T, c []T, ldc int)
}

// kernelFor returns the micro-kernel for T. An assembly kernel would be
// selected here, by type and CPU features.
func kernelFor[T Float]() gemmKernel[T] {
	return gemmKernel[T]{mr: 2, nr: 3, kc: 256, mc: 128, nc: 384, tile: tile2x3[T]}
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
