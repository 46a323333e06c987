//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The assembly micro-kernels of gemm_amd64.s. Each computes one mr x nr
// tile; the Go wrappers below check the slices, so that a wrong packing
// fails with an index error here rather than corrupting memory there.

// gemmAVX2F32 computes one 6 x 16 tile of C = alpha*A*B + beta*C from packed
// slivers (the tile contract of gemm_tile.go), kc >= 1, accumulating with
// fused multiply-adds in float32:
//
//	for i := range 6 {
//		for j := range 16 {
//			var s float32
//			for p := range kc { s = fma(a[p*6+i], b[p*16+j], s) } // one rounding each
//			if beta == 0 { // either sign: C is not read
//				c[i*ldc+j] = alpha * s
//			} else {
//				c[i*ldc+j] = fma(beta, c[i*ldc+j], alpha*s)
//			}
//		}
//	}
//
// asmref_test.go checks it against this loop bit for bit. The fused
// roundings make its bits differ from tile2x3's, which is why gemm_test.go
// holds every kernel family to naiveGemm within a rounding tolerance.
//
//go:noescape
func gemmAVX2F32(kc int, a, b, c *float32, ldc int, alpha, beta float32)

// gemmAVX2F64 is gemmAVX2F32's loop for a 6 x 8 tile of float64
// (a[p*6+i], b[p*8+j]).
//
//go:noescape
func gemmAVX2F64(kc int, a, b, c *float64, ldc int, alpha, beta float64)

// gemmAVX512F32 is gemmAVX2F32's loop for a 12 x 32 tile of float32
// (a[p*12+i], b[p*32+j]).
//
//go:noescape
func gemmAVX512F32(kc int, a, b, c *float32, ldc int, alpha, beta float32)

// gemmAVX512F64 is gemmAVX2F32's loop for a 12 x 16 tile of float64
// (a[p*12+i], b[p*16+j]).
//
//go:noescape
func gemmAVX512F64(kc int, a, b, c *float64, ldc int, alpha, beta float64)

// packRowsAVX is the whole-sliver part of packAlong, a byte copy: for each
// of rows stored rows, run s of the row (wb bytes, wb one of 24, 48, 64,
// 96, 128) goes to sliver s,
//
//	for r := range rows {
//		for s := range n {
//			copy(dst[s*slStride+r*wb:][:wb], src[r*srcStride+s*wb:][:wb]) // offsets in bytes
//		}
//	}
//
// so packAlongAVX leaves exactly packAlong's layout (asmref_test.go checks
// the copy).
//
//go:noescape
func packRowsAVX(dst, src unsafe.Pointer, rows, srcStride, n, wb, slStride int)

// transposeF32AVX transposes rows (8, 6 or 4) stored float32 rows of
// 8*blocks values into runs of rows values, as packAcross's inner loop
// does (strides in bytes, s = 4; asmref_test.go checks it):
//
//	for q := range rows {
//		for p := range 8 * blocks {
//			dst[p*dstStride/s+q] = src[q*srcStride/s+p]
//		}
//	}
//
//go:noescape
func transposeF32AVX(dst, src unsafe.Pointer, dstStride, srcStride, blocks, rows int)

// transposeF64AVX is transposeF32AVX for float64: rows (4 or 2) stored
// rows of 4*blocks values (s = 8):
//
//	for q := range rows {
//		for p := range 4 * blocks {
//			dst[p*dstStride/s+q] = src[q*srcStride/s+p]
//		}
//	}
//
//go:noescape
func transposeF64AVX(dst, src unsafe.Pointer, dstStride, srcStride, blocks, rows int)

func tileAVX2F32(kc int, alpha float32, a, b []float32, beta float32, c []float32, ldc int) {
	_, _, _ = a[6*kc-1], b[16*kc-1], c[5*ldc+15]
	gemmAVX2F32(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

func tileAVX2F64(kc int, alpha float64, a, b []float64, beta float64, c []float64, ldc int) {
	_, _, _ = a[6*kc-1], b[8*kc-1], c[5*ldc+7]
	gemmAVX2F64(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

func tileAVX512F32(kc int, alpha float32, a, b []float32, beta float32, c []float32, ldc int) {
	_, _, _ = a[12*kc-1], b[32*kc-1], c[11*ldc+31]
	gemmAVX512F32(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

func tileAVX512F64(kc int, alpha float64, a, b []float64, beta float64, c []float64, ldc int) {
	_, _, _ = a[12*kc-1], b[16*kc-1], c[11*ldc+15]
	gemmAVX512F64(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
}

// Blocking for the SIMD kernels. kc: the B sliver (kc x nr) is reused by
// every tile down a block, so it should sit in L1 with room to spare (24
// KiB of Zen 4's 32 for the float32 AVX2 tiles at kc 384, 16 KiB for the
// AVX-512 ones at kc 128). mc: the packed A block (mc x kc) that the B
// slivers run past should sit in L2 (430 KiB of 1 MiB for float32 AVX2).
// nc bounds the B part of a task. The float32 AVX2 figures were chosen by
// timing the candidates interleaved call by call on the project machine
// (kc 384 and mc 288 gave 2-4% over kc 256 and mc 144 at 1024 and 2048,
// and changed nothing measurable on the MLP's shapes).
var (
	avx2Impl = &gemmImpl{
		name:    "avx2",
		missing: missingUnless(cpu.X86.HasAVX2 && cpu.X86.HasFMA, "the CPU lacks AVX2 or FMA"),
		k32: gemmKernel[float32]{mr: 6, nr: 16, kc: 384, mc: 288, nc: 512, tile: tileAVX2F32,
			along: packAlongAVX[float32], across: packAcrossAVX[float32]},
		k64: gemmKernel[float64]{mr: 6, nr: 8, kc: 256, mc: 72, nc: 256, tile: tileAVX2F64,
			along: packAlongAVX[float64], across: packAcrossAVX[float64]},
	}
	// AVX-512 Foundation has every instruction the kernels use; x/sys/cpu
	// reports it only when the OS also saves the zmm state.
	avx512Impl = &gemmImpl{
		name:    "avx512",
		missing: missingUnless(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasAVX512F, "the CPU lacks AVX-512F"),
		k32: gemmKernel[float32]{mr: 12, nr: 32, kc: 128, mc: 288, nc: 1024, tile: tileAVX512F32,
			along: packAlongAVX[float32], across: packAcrossAVX[float32]},
		k64: gemmKernel[float64]{mr: 12, nr: 16, kc: 128, mc: 144, nc: 512, tile: tileAVX512F64,
			along: packAlongAVX[float64], across: packAcrossAVX[float64]},
	}
)

func missingUnless(ok bool, why string) string {
	if ok {
		return ""
	}
	return why
}

// archGemmImpls lists the assembly kernel families, best first.
func archGemmImpls() []*gemmImpl { return []*gemmImpl{avx512Impl, avx2Impl} }

// packAlongAVX is packAlong with the whole slivers copied by packRowsAVX
// (their widths are 24 to 128 bytes); a partial last sliver is left to
// the Go loop.
func packAlongAVX[T Float](dst, src []T, ld, pa, pb, d, cols, w int) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	full := cols / w
	if pb > pa && full > 0 {
		_, _ = src[(pb-1)*ld+full*w-1], dst[(full-1)*w*d+pb*w-1]
		packRowsAVX(unsafe.Pointer(&dst[pa*w]), unsafe.Pointer(&src[pa*ld]), pb-pa, ld*size, full, w*size, w*d*size)
	}
	if full*w < cols {
		packAlong(dst[full*w*d:], src[full*w:], ld, pa, pb, d, cols-full*w, w)
	}
}

// packAcrossAVX is packAcross with whole slivers transposed in registers,
// 8 (float32) or 4 (float64) stored rows at a time, then the 6, 4 or 2
// rows left; the last few columns, and a partial last sliver, are left to
// the Go loop.
func packAcrossAVX[T Float](dst, src []T, ld, sa, sb, d, cols, w int) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	group := 32 / size // columns per transposed block, and rows per pass
	blocks := d / group
	for s := sa; s < sb; s++ {
		if (s+1)*w > cols || blocks == 0 {
			packAcross(dst, src, ld, s, s+1, d, cols, w)
			continue
		}
		sl := dst[s*w*d : (s+1)*w*d]
		_ = src[(s*w+w-1)*ld+d-1]
		for q := 0; q < w; q += group {
			rows := min(group, w-q)
			p := unsafe.Pointer(&src[(s*w+q)*ld])
			if size == 4 {
				transposeF32AVX(unsafe.Pointer(&sl[q]), p, w*size, ld*size, blocks, rows)
			} else {
				transposeF64AVX(unsafe.Pointer(&sl[q]), p, w*size, ld*size, blocks, rows)
			}
		}
		for q := range w {
			row := src[(s*w+q)*ld : (s*w+q)*ld+d]
			for p := blocks * group; p < d; p++ {
				sl[p*w+q] = row[p]
			}
		}
	}
}
