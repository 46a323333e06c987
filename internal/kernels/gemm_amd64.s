//go:build amd64 && !purego

#include "textflag.h"

// Prefetching the C tile while the k loop runs hides the misses its loads
// and stores would otherwise take at the end (C is touched once per slice,
// so it is rarely in cache). A tile row of 64 bytes spans at most two
// lines, one of 128 at most three. R13 walks the rows; SI is ldc in bytes.
#define PF64  PREFETCHT0 (R13); PREFETCHT0 63(R13); ADDQ SI, R13
#define PF128 PREFETCHT0 (R13); PREFETCHT0 64(R13); PREFETCHT0 127(R13); ADDQ SI, R13

// GEMM micro-kernels for amd64 (see gemm_tile.go for the contract).
//
// Each computes one mr x nr tile of C = alpha*A*B + beta*C from packed
// slivers: a holds kc groups of mr values (A(i, p) at a[p*mr+i]), b holds
// kc groups of nr (B(p, j) at b[p*nr+j]). C is row-major, so a row of the
// tile is nr contiguous values: the accumulators are vectors along j, and
// each step p adds broadcast(A(i, p)) * B(p, :) to row i. kc >= 1.
//
// beta == 0 (either sign) means C is written without being read. The
// result is alpha*acc rounded, then beta*C added by one fused multiply-add.
// (Tiles that overhang C run with beta == 0 into scratch, and Go adds
// beta*C; which kind of tile an element falls in depends on its position
// alone, so results still do not depend on how the work was cut.)

// ---------------------------------------------------------------------------
// AVX2 + FMA, float32, 6 x 16.
//
// Register plan (16 ymm):
//   Y0..Y11   accumulators: row i of the tile is Y(2i) (columns 0-7) and
//             Y(2i+1) (columns 8-15)
//   Y12, Y13  B(p, 0:8) and B(p, 8:16)
//   Y14       broadcast A(i, p)
//   Y15       beta, in the epilogue
// 12 independent FMA chains cover the FMA latency (4-5 cycles) times two
// FMA ports; each step reads 2 vectors of B and 6 scalars of A.
//   AX = a, BX = b, DI = c (row pointer), SI = ldc in bytes, CX/DX = counts,
//   R13 = C row being prefetched

#define S6X16(off) \
	VMOVUPS      (off*64)(BX), Y12; \
	VMOVUPS      (off*64+32)(BX), Y13; \
	VBROADCASTSS (off*24)(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VBROADCASTSS (off*24+4)(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y2; \
	VFMADD231PS  Y13, Y14, Y3; \
	VBROADCASTSS (off*24+8)(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VBROADCASTSS (off*24+12)(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y6; \
	VFMADD231PS  Y13, Y14, Y7; \
	VBROADCASTSS (off*24+16)(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VBROADCASTSS (off*24+20)(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y10; \
	VFMADD231PS  Y13, Y14, Y11

// Row epilogues: r0, r1 = alpha*r (alpha in Y14), then + beta*C (beta in
// Y15) read from (DI), stored back; DI moves to the next row.
#define ROWF32B(r0, r1) \
	VMULPS      Y14, r0, r0; \
	VMULPS      Y14, r1, r1; \
	VFMADD231PS (DI), Y15, r0; \
	VFMADD231PS 32(DI), Y15, r1; \
	VMOVUPS     r0, (DI); \
	VMOVUPS     r1, 32(DI); \
	ADDQ        SI, DI

#define ROWF32(r0, r1) \
	VMULPS  Y14, r0, r0; \
	VMULPS  Y14, r1, r1; \
	VMOVUPS r0, (DI); \
	VMOVUPS r1, 32(DI); \
	ADDQ    SI, DI

// func gemmAVX2F32(kc int, a, b, c *float32, ldc int, alpha, beta float32)
TEXT ·gemmAVX2F32(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DI
	MOVQ ldc+32(FP), SI
	SHLQ $2, SI
	MOVQ DI, R13
	PF64
	PF64
	PF64
	PF64
	PF64
	PF64

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   f32avx2tail

f32avx2loop4:
	S6X16(0)
	S6X16(1)
	S6X16(2)
	S6X16(3)
	ADDQ $96, AX
	ADDQ $256, BX
	DECQ DX
	JNZ  f32avx2loop4

f32avx2tail:
	ANDQ $3, CX
	JZ   f32avx2store

f32avx2loop1:
	S6X16(0)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  f32avx2loop1

f32avx2store:
	VBROADCASTSS alpha+40(FP), Y14
	MOVL         beta+44(FP), DX
	SHLL         $1, DX             // drop the sign: -0 is zero too
	JZ           f32avx2beta0
	VBROADCASTSS beta+44(FP), Y15
	ROWF32B(Y0, Y1)
	ROWF32B(Y2, Y3)
	ROWF32B(Y4, Y5)
	ROWF32B(Y6, Y7)
	ROWF32B(Y8, Y9)
	ROWF32B(Y10, Y11)
	VZEROUPPER
	RET

f32avx2beta0:
	ROWF32(Y0, Y1)
	ROWF32(Y2, Y3)
	ROWF32(Y4, Y5)
	ROWF32(Y6, Y7)
	ROWF32(Y8, Y9)
	ROWF32(Y10, Y11)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AVX2 + FMA, float64, 6 x 8: the float32 plan with 4 lanes a vector.
//   Y0..Y11   accumulators: row i is Y(2i) (columns 0-3), Y(2i+1) (4-7)
//   Y12, Y13  B(p, 0:4), B(p, 4:8)
//   Y14       broadcast A(i, p); Y15 beta in the epilogue

#define S6X8(off) \
	VMOVUPD      (off*64)(BX), Y12; \
	VMOVUPD      (off*64+32)(BX), Y13; \
	VBROADCASTSD (off*48)(AX), Y14; \
	VFMADD231PD  Y12, Y14, Y0; \
	VFMADD231PD  Y13, Y14, Y1; \
	VBROADCASTSD (off*48+8)(AX), Y14; \
	VFMADD231PD  Y12, Y14, Y2; \
	VFMADD231PD  Y13, Y14, Y3; \
	VBROADCASTSD (off*48+16)(AX), Y14; \
	VFMADD231PD  Y12, Y14, Y4; \
	VFMADD231PD  Y13, Y14, Y5; \
	VBROADCASTSD (off*48+24)(AX), Y14; \
	VFMADD231PD  Y12, Y14, Y6; \
	VFMADD231PD  Y13, Y14, Y7; \
	VBROADCASTSD (off*48+32)(AX), Y14; \
	VFMADD231PD  Y12, Y14, Y8; \
	VFMADD231PD  Y13, Y14, Y9; \
	VBROADCASTSD (off*48+40)(AX), Y14; \
	VFMADD231PD  Y12, Y14, Y10; \
	VFMADD231PD  Y13, Y14, Y11

#define ROWF64B(r0, r1) \
	VMULPD      Y14, r0, r0; \
	VMULPD      Y14, r1, r1; \
	VFMADD231PD (DI), Y15, r0; \
	VFMADD231PD 32(DI), Y15, r1; \
	VMOVUPD     r0, (DI); \
	VMOVUPD     r1, 32(DI); \
	ADDQ        SI, DI

#define ROWF64(r0, r1) \
	VMULPD  Y14, r0, r0; \
	VMULPD  Y14, r1, r1; \
	VMOVUPD r0, (DI); \
	VMOVUPD r1, 32(DI); \
	ADDQ    SI, DI

// func gemmAVX2F64(kc int, a, b, c *float64, ldc int, alpha, beta float64)
TEXT ·gemmAVX2F64(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DI
	MOVQ ldc+32(FP), SI
	SHLQ $3, SI
	MOVQ DI, R13
	PF64
	PF64
	PF64
	PF64
	PF64
	PF64

	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   f64avx2tail

f64avx2loop4:
	S6X8(0)
	S6X8(1)
	S6X8(2)
	S6X8(3)
	ADDQ $192, AX
	ADDQ $256, BX
	DECQ DX
	JNZ  f64avx2loop4

f64avx2tail:
	ANDQ $3, CX
	JZ   f64avx2store

f64avx2loop1:
	S6X8(0)
	ADDQ $48, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  f64avx2loop1

f64avx2store:
	VBROADCASTSD alpha+40(FP), Y14
	MOVQ         beta+48(FP), DX
	SHLQ         $1, DX
	JZ           f64avx2beta0
	VBROADCASTSD beta+48(FP), Y15
	ROWF64B(Y0, Y1)
	ROWF64B(Y2, Y3)
	ROWF64B(Y4, Y5)
	ROWF64B(Y6, Y7)
	ROWF64B(Y8, Y9)
	ROWF64B(Y10, Y11)
	VZEROUPPER
	RET

f64avx2beta0:
	ROWF64(Y0, Y1)
	ROWF64(Y2, Y3)
	ROWF64(Y4, Y5)
	ROWF64(Y6, Y7)
	ROWF64(Y8, Y9)
	ROWF64(Y10, Y11)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AVX-512F, float32, 12 x 32.
//
// Register plan (32 zmm):
//   Z0..Z23   accumulators: row i is Z(2i) (columns 0-15), Z(2i+1) (16-31)
//   Z24, Z25  B(p, 0:16), B(p, 16:32)
//   Z26       broadcast A(i, p)
//   Z27       alpha, Z28 beta, in the epilogue
// 24 FMA chains; each step reads 2 vectors of B and 12 scalars of A.

#define S12X32ROW(off, i, r0, r1) \
	VBROADCASTSS (off*48+i*4)(AX), Z26; \
	VFMADD231PS  Z24, Z26, r0; \
	VFMADD231PS  Z25, Z26, r1

#define S12X32(off) \
	VMOVUPS (off*128)(BX), Z24; \
	VMOVUPS (off*128+64)(BX), Z25; \
	S12X32ROW(off, 0, Z0, Z1); \
	S12X32ROW(off, 1, Z2, Z3); \
	S12X32ROW(off, 2, Z4, Z5); \
	S12X32ROW(off, 3, Z6, Z7); \
	S12X32ROW(off, 4, Z8, Z9); \
	S12X32ROW(off, 5, Z10, Z11); \
	S12X32ROW(off, 6, Z12, Z13); \
	S12X32ROW(off, 7, Z14, Z15); \
	S12X32ROW(off, 8, Z16, Z17); \
	S12X32ROW(off, 9, Z18, Z19); \
	S12X32ROW(off, 10, Z20, Z21); \
	S12X32ROW(off, 11, Z22, Z23)

#define ZROWF32B(r0, r1) \
	VMULPS      Z27, r0, r0; \
	VMULPS      Z27, r1, r1; \
	VFMADD231PS (DI), Z28, r0; \
	VFMADD231PS 64(DI), Z28, r1; \
	VMOVUPS     r0, (DI); \
	VMOVUPS     r1, 64(DI); \
	ADDQ        SI, DI

#define ZROWF32(r0, r1) \
	VMULPS  Z27, r0, r0; \
	VMULPS  Z27, r1, r1; \
	VMOVUPS r0, (DI); \
	VMOVUPS r1, 64(DI); \
	ADDQ    SI, DI

// func gemmAVX512F32(kc int, a, b, c *float32, ldc int, alpha, beta float32)
TEXT ·gemmAVX512F32(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DI
	MOVQ ldc+32(FP), SI
	SHLQ $2, SI
	MOVQ DI, R13
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   f32avx512tail

f32avx512loop4:
	S12X32(0)
	S12X32(1)
	S12X32(2)
	S12X32(3)
	ADDQ $192, AX
	ADDQ $512, BX
	DECQ DX
	JNZ  f32avx512loop4

f32avx512tail:
	ANDQ $3, CX
	JZ   f32avx512store

f32avx512loop1:
	S12X32(0)
	ADDQ $48, AX
	ADDQ $128, BX
	DECQ CX
	JNZ  f32avx512loop1

f32avx512store:
	VBROADCASTSS alpha+40(FP), Z27
	MOVL         beta+44(FP), DX
	SHLL         $1, DX
	JZ           f32avx512beta0
	VBROADCASTSS beta+44(FP), Z28
	ZROWF32B(Z0, Z1)
	ZROWF32B(Z2, Z3)
	ZROWF32B(Z4, Z5)
	ZROWF32B(Z6, Z7)
	ZROWF32B(Z8, Z9)
	ZROWF32B(Z10, Z11)
	ZROWF32B(Z12, Z13)
	ZROWF32B(Z14, Z15)
	ZROWF32B(Z16, Z17)
	ZROWF32B(Z18, Z19)
	ZROWF32B(Z20, Z21)
	ZROWF32B(Z22, Z23)
	VZEROUPPER
	RET

f32avx512beta0:
	ZROWF32(Z0, Z1)
	ZROWF32(Z2, Z3)
	ZROWF32(Z4, Z5)
	ZROWF32(Z6, Z7)
	ZROWF32(Z8, Z9)
	ZROWF32(Z10, Z11)
	ZROWF32(Z12, Z13)
	ZROWF32(Z14, Z15)
	ZROWF32(Z16, Z17)
	ZROWF32(Z18, Z19)
	ZROWF32(Z20, Z21)
	ZROWF32(Z22, Z23)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AVX-512F, float64, 12 x 16: the float32 plan with 8 lanes a vector.
//   Z0..Z23   accumulators: row i is Z(2i) (columns 0-7), Z(2i+1) (8-15)
//   Z24, Z25  B(p, 0:8), B(p, 8:16)
//   Z26       broadcast A(i, p); Z27 alpha, Z28 beta in the epilogue

#define S12X16ROW(off, i, r0, r1) \
	VBROADCASTSD (off*96+i*8)(AX), Z26; \
	VFMADD231PD  Z24, Z26, r0; \
	VFMADD231PD  Z25, Z26, r1

#define S12X16(off) \
	VMOVUPD (off*128)(BX), Z24; \
	VMOVUPD (off*128+64)(BX), Z25; \
	S12X16ROW(off, 0, Z0, Z1); \
	S12X16ROW(off, 1, Z2, Z3); \
	S12X16ROW(off, 2, Z4, Z5); \
	S12X16ROW(off, 3, Z6, Z7); \
	S12X16ROW(off, 4, Z8, Z9); \
	S12X16ROW(off, 5, Z10, Z11); \
	S12X16ROW(off, 6, Z12, Z13); \
	S12X16ROW(off, 7, Z14, Z15); \
	S12X16ROW(off, 8, Z16, Z17); \
	S12X16ROW(off, 9, Z18, Z19); \
	S12X16ROW(off, 10, Z20, Z21); \
	S12X16ROW(off, 11, Z22, Z23)

#define ZROWF64B(r0, r1) \
	VMULPD      Z27, r0, r0; \
	VMULPD      Z27, r1, r1; \
	VFMADD231PD (DI), Z28, r0; \
	VFMADD231PD 64(DI), Z28, r1; \
	VMOVUPD     r0, (DI); \
	VMOVUPD     r1, 64(DI); \
	ADDQ        SI, DI

#define ZROWF64(r0, r1) \
	VMULPD  Z27, r0, r0; \
	VMULPD  Z27, r1, r1; \
	VMOVUPD r0, (DI); \
	VMOVUPD r1, 64(DI); \
	ADDQ    SI, DI

// func gemmAVX512F64(kc int, a, b, c *float64, ldc int, alpha, beta float64)
TEXT ·gemmAVX512F64(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DI
	MOVQ ldc+32(FP), SI
	SHLQ $3, SI
	MOVQ DI, R13
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128
	PF128

	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	VPXORQ Z12, Z12, Z12
	VPXORQ Z13, Z13, Z13
	VPXORQ Z14, Z14, Z14
	VPXORQ Z15, Z15, Z15
	VPXORQ Z16, Z16, Z16
	VPXORQ Z17, Z17, Z17
	VPXORQ Z18, Z18, Z18
	VPXORQ Z19, Z19, Z19
	VPXORQ Z20, Z20, Z20
	VPXORQ Z21, Z21, Z21
	VPXORQ Z22, Z22, Z22
	VPXORQ Z23, Z23, Z23

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   f64avx512tail

f64avx512loop4:
	S12X16(0)
	S12X16(1)
	S12X16(2)
	S12X16(3)
	ADDQ $384, AX
	ADDQ $512, BX
	DECQ DX
	JNZ  f64avx512loop4

f64avx512tail:
	ANDQ $3, CX
	JZ   f64avx512store

f64avx512loop1:
	S12X16(0)
	ADDQ $96, AX
	ADDQ $128, BX
	DECQ CX
	JNZ  f64avx512loop1

f64avx512store:
	VBROADCASTSD alpha+40(FP), Z27
	MOVQ         beta+48(FP), DX
	SHLQ         $1, DX
	JZ           f64avx512beta0
	VBROADCASTSD beta+48(FP), Z28
	ZROWF64B(Z0, Z1)
	ZROWF64B(Z2, Z3)
	ZROWF64B(Z4, Z5)
	ZROWF64B(Z6, Z7)
	ZROWF64B(Z8, Z9)
	ZROWF64B(Z10, Z11)
	ZROWF64B(Z12, Z13)
	ZROWF64B(Z14, Z15)
	ZROWF64B(Z16, Z17)
	ZROWF64B(Z18, Z19)
	ZROWF64B(Z20, Z21)
	ZROWF64B(Z22, Z23)
	VZEROUPPER
	RET

f64avx512beta0:
	ZROWF64(Z0, Z1)
	ZROWF64(Z2, Z3)
	ZROWF64(Z4, Z5)
	ZROWF64(Z6, Z7)
	ZROWF64(Z8, Z9)
	ZROWF64(Z10, Z11)
	ZROWF64(Z12, Z13)
	ZROWF64(Z14, Z15)
	ZROWF64(Z16, Z17)
	ZROWF64(Z18, Z19)
	ZROWF64(Z20, Z21)
	ZROWF64(Z22, Z23)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Packing (AVX). See gemm_pack.go for the layouts.

// func packRowsAVX(dst, src unsafe.Pointer, rows, srcStride, n, wb, slStride int)
//
// For each of rows stored rows (srcStride bytes apart) it copies the row's
// n runs of wb bytes (side by side in the source) to dst + s*slStride +
// r*wb: run s of every row goes to sliver s. wb is 24, 48, 64, 96 or 128;
// runs longer than a vector are copied with ymm moves, the odd ones with
// two overlapping moves.
//   DI = dst row, SI = src row, R8 = rows left, R9 = srcStride,
//   R10 = n, R11 = wb, R12 = slStride, BX/DX = run pointers, CX = runs left
TEXT ·packRowsAVX(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ srcStride+24(FP), R9
	MOVQ n+32(FP), R10
	MOVQ wb+40(FP), R11
	MOVQ slStride+48(FP), R12
	TESTQ R8, R8
	JZ    rowsdone
	TESTQ R10, R10
	JZ    rowsdone

rowsloop:
	MOVQ SI, BX
	MOVQ DI, DX
	MOVQ R10, CX
	CMPQ R11, $64
	JEQ  run64
	CMPQ R11, $128
	JEQ  run128
	CMPQ R11, $24
	JEQ  run24
	CMPQ R11, $48
	JEQ  run48

run96:
	VMOVUPS (BX), Y0
	VMOVUPS 32(BX), Y1
	VMOVUPS 64(BX), Y2
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	ADDQ    R11, BX
	ADDQ    R12, DX
	DECQ    CX
	JNZ     run96
	JMP     rownext

run64:
	VMOVUPS (BX), Y0
	VMOVUPS 32(BX), Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    R11, BX
	ADDQ    R12, DX
	DECQ    CX
	JNZ     run64
	JMP     rownext

run128:
	VMOVUPS (BX), Y0
	VMOVUPS 32(BX), Y1
	VMOVUPS 64(BX), Y2
	VMOVUPS 96(BX), Y3
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	ADDQ    R11, BX
	ADDQ    R12, DX
	DECQ    CX
	JNZ     run128
	JMP     rownext

run24:
	VMOVUPS (BX), X0
	VMOVUPS 8(BX), X1
	VMOVUPS X0, (DX)
	VMOVUPS X1, 8(DX)
	ADDQ    R11, BX
	ADDQ    R12, DX
	DECQ    CX
	JNZ     run24
	JMP     rownext

run48:
	VMOVUPS (BX), Y0
	VMOVUPS 32(BX), X1
	VMOVUPS Y0, (DX)
	VMOVUPS X1, 32(DX)
	ADDQ    R11, BX
	ADDQ    R12, DX
	DECQ    CX
	JNZ     run48

rownext:
	ADDQ R9, SI
	ADDQ R11, DI
	DECQ R8
	JNZ  rowsloop

rowsdone:
	VZEROUPPER
	RET

// func transposeF32AVX(dst, src unsafe.Pointer, dstStride, srcStride, blocks, rows int)
//
// Transposes rows (8, 6 or 4) stored rows of 8*blocks float32 (srcStride
// bytes apart) into 8*blocks runs of rows values, dstStride bytes apart:
// value p of row q goes to dst + p*dstStride + 4*q.
//
// Each block of 8 columns is loaded as two 4x4 halves per pair of rows,
// row q in the low lane and row q+4 in the high lane:
//   Y0..Y3 = rows 0-3 | rows 4-7, columns 0-3;  Y4..Y7 = same, columns 4-7
// so that one 4x4 transpose per lane (unpack, then shuffle) leaves column
// p of rows 0-7 in one register. With fewer than 8 rows, the missing high
// lanes stay zero (a 128-bit load clears the upper lane) and only the
// first rows values of each column are stored.
//   DI = dst, SI = row 0, R8..R14 = rows 1..7, BX = 4*srcStride,
//   DX = dstStride, CX = blocks left, AX = 3*dstStride
#define TRANSPOSE4X4LANES(a, b, c, d, t0, t1, t2, t3) \
	VUNPCKLPS b, a, t0;         \
	VUNPCKHPS b, a, t1;         \
	VUNPCKLPS d, c, t2;         \
	VUNPCKHPS d, c, t3;         \
	VSHUFPS   $0x44, t2, t0, a; \
	VSHUFPS   $0xEE, t2, t0, b; \
	VSHUFPS   $0x44, t3, t1, c; \
	VSHUFPS   $0xEE, t3, t1, d

TEXT ·transposeF32AVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ dstStride+16(FP), DX
	MOVQ srcStride+24(FP), BX
	MOVQ blocks+32(FP), CX
	MOVQ rows+40(FP), R15
	TESTQ CX, CX
	JZ    tf32done
	LEAQ (SI)(BX*1), R8
	LEAQ (R8)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	SHLQ $2, BX
	LEAQ (SI)(BX*1), R11
	LEAQ (R8)(BX*1), R12
	LEAQ (R9)(BX*1), R13
	LEAQ (R10)(BX*1), R14
	LEAQ (DX)(DX*2), AX
	CMPQ R15, $8
	JEQ  tf32rows8
	CMPQ R15, $6
	JEQ  tf32rows6

tf32rows4:
	VMOVUPS (SI), X0
	VMOVUPS (R8), X1
	VMOVUPS (R9), X2
	VMOVUPS (R10), X3
	VMOVUPS 16(SI), X4
	VMOVUPS 16(R8), X5
	VMOVUPS 16(R9), X6
	VMOVUPS 16(R10), X7
	TRANSPOSE4X4LANES(X0, X1, X2, X3, X8, X9, X10, X11)
	TRANSPOSE4X4LANES(X4, X5, X6, X7, X12, X13, X14, X15)
	VMOVUPS X0, (DI)
	VMOVUPS X1, (DI)(DX*1)
	VMOVUPS X2, (DI)(DX*2)
	VMOVUPS X3, (DI)(AX*1)
	LEAQ    (DI)(DX*4), DI
	VMOVUPS X4, (DI)
	VMOVUPS X5, (DI)(DX*1)
	VMOVUPS X6, (DI)(DX*2)
	VMOVUPS X7, (DI)(AX*1)
	LEAQ    (DI)(DX*4), DI
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	DECQ    CX
	JNZ     tf32rows4
	JMP     tf32done

tf32rows6:
	VMOVUPS     (SI), X0
	VINSERTF128 $1, (R11), Y0, Y0
	VMOVUPS     (R8), X1
	VINSERTF128 $1, (R12), Y1, Y1
	VMOVUPS     (R9), X2
	VMOVUPS     (R10), X3
	VMOVUPS     16(SI), X4
	VINSERTF128 $1, 16(R11), Y4, Y4
	VMOVUPS     16(R8), X5
	VINSERTF128 $1, 16(R12), Y5, Y5
	VMOVUPS     16(R9), X6
	VMOVUPS     16(R10), X7
	TRANSPOSE4X4LANES(Y0, Y1, Y2, Y3, Y8, Y9, Y10, Y11)
	TRANSPOSE4X4LANES(Y4, Y5, Y6, Y7, Y12, Y13, Y14, Y15)
	// Columns p: rows 0-3 in the low lane, rows 4-5 at the start of the
	// high one.
	VMOVUPS      X0, (DI)
	VEXTRACTF128 $1, Y0, X8
	VMOVSD       X8, 16(DI)
	ADDQ         DX, DI
	VMOVUPS      X1, (DI)
	VEXTRACTF128 $1, Y1, X9
	VMOVSD       X9, 16(DI)
	ADDQ         DX, DI
	VMOVUPS      X2, (DI)
	VEXTRACTF128 $1, Y2, X10
	VMOVSD       X10, 16(DI)
	ADDQ         DX, DI
	VMOVUPS      X3, (DI)
	VEXTRACTF128 $1, Y3, X11
	VMOVSD       X11, 16(DI)
	ADDQ         DX, DI
	VMOVUPS      X4, (DI)
	VEXTRACTF128 $1, Y4, X12
	VMOVSD       X12, 16(DI)
	ADDQ         DX, DI
	VMOVUPS      X5, (DI)
	VEXTRACTF128 $1, Y5, X13
	VMOVSD       X13, 16(DI)
	ADDQ         DX, DI
	VMOVUPS      X6, (DI)
	VEXTRACTF128 $1, Y6, X14
	VMOVSD       X14, 16(DI)
	ADDQ         DX, DI
	VMOVUPS      X7, (DI)
	VEXTRACTF128 $1, Y7, X15
	VMOVSD       X15, 16(DI)
	ADDQ         DX, DI
	ADDQ         $32, SI
	ADDQ         $32, R8
	ADDQ         $32, R9
	ADDQ         $32, R10
	ADDQ         $32, R11
	ADDQ         $32, R12
	DECQ         CX
	JNZ          tf32rows6
	JMP          tf32done

tf32rows8:
	VMOVUPS     (SI), X0
	VINSERTF128 $1, (R11), Y0, Y0
	VMOVUPS     (R8), X1
	VINSERTF128 $1, (R12), Y1, Y1
	VMOVUPS     (R9), X2
	VINSERTF128 $1, (R13), Y2, Y2
	VMOVUPS     (R10), X3
	VINSERTF128 $1, (R14), Y3, Y3
	VMOVUPS     16(SI), X4
	VINSERTF128 $1, 16(R11), Y4, Y4
	VMOVUPS     16(R8), X5
	VINSERTF128 $1, 16(R12), Y5, Y5
	VMOVUPS     16(R9), X6
	VINSERTF128 $1, 16(R13), Y6, Y6
	VMOVUPS     16(R10), X7
	VINSERTF128 $1, 16(R14), Y7, Y7
	TRANSPOSE4X4LANES(Y0, Y1, Y2, Y3, Y8, Y9, Y10, Y11)
	TRANSPOSE4X4LANES(Y4, Y5, Y6, Y7, Y12, Y13, Y14, Y15)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, (DI)(DX*1)
	VMOVUPS Y2, (DI)(DX*2)
	VMOVUPS Y3, (DI)(AX*1)
	LEAQ    (DI)(DX*4), DI
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, (DI)(DX*1)
	VMOVUPS Y6, (DI)(DX*2)
	VMOVUPS Y7, (DI)(AX*1)
	LEAQ    (DI)(DX*4), DI
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	ADDQ    $32, R12
	ADDQ    $32, R13
	ADDQ    $32, R14
	DECQ    CX
	JNZ     tf32rows8

tf32done:
	VZEROUPPER
	RET

// func transposeF64AVX(dst, src unsafe.Pointer, dstStride, srcStride, blocks, rows int)
//
// The float64 version: rows (4 or 2) stored rows of 4*blocks values into
// runs of rows values. Per block, row q's columns 0-1 and row q+2's go to
// one register (low and high lane), columns 2-3 to another:
//   Y0 = r0[0:2] | r2[0:2], Y1 = r1[0:2] | r3[0:2], Y2, Y3 the same for [2:4]
// and one unpack per pair leaves column p of rows 0-3 in one register.
//   DI = dst, SI = row 0, R8..R10 = rows 1..3, BX = srcStride,
//   DX = dstStride, CX = blocks left, AX = 3*dstStride
TEXT ·transposeF64AVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ dstStride+16(FP), DX
	MOVQ srcStride+24(FP), BX
	MOVQ blocks+32(FP), CX
	MOVQ rows+40(FP), R15
	TESTQ CX, CX
	JZ    tf64done
	LEAQ (SI)(BX*1), R8
	LEAQ (R8)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (DX)(DX*2), AX
	CMPQ R15, $4
	JEQ  tf64rows4

tf64rows2:
	VMOVUPD    (SI), X0
	VMOVUPD    (R8), X1
	VMOVUPD    16(SI), X2
	VMOVUPD    16(R8), X3
	VUNPCKLPD  X1, X0, X4
	VUNPCKHPD  X1, X0, X5
	VUNPCKLPD  X3, X2, X6
	VUNPCKHPD  X3, X2, X7
	VMOVUPD    X4, (DI)
	VMOVUPD    X5, (DI)(DX*1)
	VMOVUPD    X6, (DI)(DX*2)
	VMOVUPD    X7, (DI)(AX*1)
	LEAQ       (DI)(DX*4), DI
	ADDQ       $32, SI
	ADDQ       $32, R8
	DECQ       CX
	JNZ        tf64rows2
	JMP        tf64done

tf64rows4:
	VMOVUPD     (SI), X0
	VINSERTF128 $1, (R9), Y0, Y0
	VMOVUPD     (R8), X1
	VINSERTF128 $1, (R10), Y1, Y1
	VMOVUPD     16(SI), X2
	VINSERTF128 $1, 16(R9), Y2, Y2
	VMOVUPD     16(R8), X3
	VINSERTF128 $1, 16(R10), Y3, Y3
	VUNPCKLPD   Y1, Y0, Y4
	VUNPCKHPD   Y1, Y0, Y5
	VUNPCKLPD   Y3, Y2, Y6
	VUNPCKHPD   Y3, Y2, Y7
	VMOVUPD     Y4, (DI)
	VMOVUPD     Y5, (DI)(DX*1)
	VMOVUPD     Y6, (DI)(DX*2)
	VMOVUPD     Y7, (DI)(AX*1)
	LEAQ        (DI)(DX*4), DI
	ADDQ        $32, SI
	ADDQ        $32, R8
	ADDQ        $32, R9
	ADDQ        $32, R10
	DECQ        CX
	JNZ         tf64rows4

tf64done:
	VZEROUPPER
	RET
