//go:build amd64 && !purego

#include "textflag.h"

// AVX2 2x2, stride 2 max pool of one float32 plane (see pool_amd64.go).
//
// Each window is a tournament: the top pair (a, b), the bottom pair (c, d),
// then the two winners, where the second entrant wins only if it is better
// in the sense of conv_pool.go's better (greater, or NaN against a number).
// Ties keep the first entrant, so this is the row-by-row scan's "first
// maximum wins, the first NaN beats everything": the result of Go's
// maxPool2x2 on every input, and the values move by blends, so the bits
// (the sign of a zero, a NaN's payload) are those of the winner.
//
// better(v, u) is "not (v <= u)" (true when v > u or either is NaN) masked
// by "u is a number" (a NaN already in front is never replaced):
//   VCMPPS $6 (NLE_UQ) then VCMPPS $7 (ORD_Q) and VANDPS.
//
// A row's outputs go eight at a time (YMM); the last block of a row whose
// width is not a multiple of eight starts at ow-8 and so redoes a few
// outputs, which only writes the same values again. Rows narrower than
// eight outputs go four at a time (XMM) the same way. The caller ensures
// ow >= 4.
//
// In Go's operand order "VCMPPS $6, Y4, Y5, Y8" is Y8 = !(Y5 <= Y4), and
// "VBLENDVPS Y8, Y5, Y4, Y4" is Y4 = Y8 ? Y5 : Y4.

// Index offsets of the windows as VSHUFPS leaves them in a YMM register:
// the low lane holds windows 0, 1, 4, 5 and the high lane 2, 3, 6, 7, so
// their first columns are these; VPERMQ $0xD8 puts them in order at the end.
DATA pool8offs<>+0(SB)/4, $0
DATA pool8offs<>+4(SB)/4, $2
DATA pool8offs<>+8(SB)/4, $8
DATA pool8offs<>+12(SB)/4, $10
DATA pool8offs<>+16(SB)/4, $4
DATA pool8offs<>+20(SB)/4, $6
DATA pool8offs<>+24(SB)/4, $12
DATA pool8offs<>+28(SB)/4, $14
GLOBL pool8offs<>(SB), RODATA|NOPTR, $32

// In an XMM register the four windows stay in order.
DATA pool4offs<>+0(SB)/4, $0
DATA pool4offs<>+4(SB)/4, $2
DATA pool4offs<>+8(SB)/4, $4
DATA pool4offs<>+12(SB)/4, $6
GLOBL pool4offs<>(SB), RODATA|NOPTR, $16

// func maxPool2x2F32(x, y *float32, idx *int32, w, oh, ow int)
//
// Registers: SI top input row, DI bottom input row, R9 output row, R10
// index row, BX the plane index of the top row's start (2·oy·w), CX the
// output column, DX the last column a full block may start at, R12 rows
// left, Y15 w in every lane, Y14/X13 the index offsets.
TEXT ·maxPool2x2F32(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), R9
	MOVQ idx+16(FP), R10
	MOVQ w+24(FP), R11
	MOVQ oh+32(FP), R12
	MOVQ ow+40(FP), R13
	VMOVD        R11, X15
	VPBROADCASTD X15, Y15
	VMOVDQU      pool8offs<>(SB), Y14
	VMOVDQU      pool4offs<>(SB), X13
	XORQ         BX, BX
	TESTQ        R12, R12
	JE           done

row:
	LEAQ (SI)(R11*4), DI
	XORQ CX, CX
	CMPQ R13, $8
	JL   narrow
	LEAQ -8(R13), DX

loop8:
	VMOVUPS (SI)(CX*8), Y0
	VMOVUPS 32(SI)(CX*8), Y1
	VMOVUPS (DI)(CX*8), Y2
	VMOVUPS 32(DI)(CX*8), Y3
	VSHUFPS $0x88, Y1, Y0, Y4 // a
	VSHUFPS $0xDD, Y1, Y0, Y5 // b
	VSHUFPS $0x88, Y3, Y2, Y6 // c
	VSHUFPS $0xDD, Y3, Y2, Y7 // d

	VCMPPS    $6, Y4, Y5, Y8
	VCMPPS    $7, Y4, Y4, Y9
	VANDPS    Y9, Y8, Y8      // m0: b beats a
	VBLENDVPS Y8, Y5, Y4, Y4  // top winner
	VCMPPS    $6, Y6, Y7, Y10
	VCMPPS    $7, Y6, Y6, Y9
	VANDPS    Y9, Y10, Y10    // m1: d beats c
	VBLENDVPS Y10, Y7, Y6, Y6 // bottom winner
	VCMPPS    $6, Y4, Y6, Y11
	VCMPPS    $7, Y4, Y4, Y9
	VANDPS    Y9, Y11, Y11    // g: bottom beats top
	VBLENDVPS Y11, Y6, Y4, Y4 // the maximum

	// Indices: a's is base + 2·ox; a mask of -1 adds one by subtraction.
	LEAQ         (BX)(CX*2), AX
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	VPADDD       Y14, Y0, Y0
	VPSUBD       Y8, Y0, Y1      // top index
	VPADDD       Y15, Y0, Y0
	VPSUBD       Y10, Y0, Y0     // bottom index
	VPBLENDVB    Y11, Y0, Y1, Y0

	VPERMPD $0xD8, Y4, Y4
	VPERMQ  $0xD8, Y0, Y0
	VMOVUPS Y4, (R9)(CX*4)
	VMOVDQU Y0, (R10)(CX*4)

	ADDQ $8, CX
	CMPQ CX, DX
	JLE  loop8
	CMPQ CX, R13
	JEQ  next
	MOVQ DX, CX // an overlapping last block
	JMP  loop8

narrow:
	LEAQ -4(R13), DX

loop4:
	VMOVUPS (SI)(CX*8), X0
	VMOVUPS 16(SI)(CX*8), X1
	VMOVUPS (DI)(CX*8), X2
	VMOVUPS 16(DI)(CX*8), X3
	VSHUFPS $0x88, X1, X0, X4 // a
	VSHUFPS $0xDD, X1, X0, X5 // b
	VSHUFPS $0x88, X3, X2, X6 // c
	VSHUFPS $0xDD, X3, X2, X7 // d

	VCMPPS    $6, X4, X5, X8
	VCMPPS    $7, X4, X4, X9
	VANDPS    X9, X8, X8
	VBLENDVPS X8, X5, X4, X4
	VCMPPS    $6, X6, X7, X10
	VCMPPS    $7, X6, X6, X9
	VANDPS    X9, X10, X10
	VBLENDVPS X10, X7, X6, X6
	VCMPPS    $6, X4, X6, X11
	VCMPPS    $7, X4, X4, X9
	VANDPS    X9, X11, X11
	VBLENDVPS X11, X6, X4, X4

	LEAQ         (BX)(CX*2), AX
	VMOVD        AX, X0
	VPBROADCASTD X0, X0
	VPADDD       X13, X0, X0
	VPSUBD       X8, X0, X1
	VPADDD       X15, X0, X0
	VPSUBD       X10, X0, X0
	VPBLENDVB    X11, X0, X1, X0

	VMOVUPS X4, (R9)(CX*4)
	VMOVDQU X0, (R10)(CX*4)

	ADDQ $4, CX
	CMPQ CX, DX
	JLE  loop4
	CMPQ CX, R13
	JEQ  next
	MOVQ DX, CX
	JMP  loop4

next:
	LEAQ (SI)(R11*8), SI
	LEAQ (BX)(R11*2), BX
	LEAQ (R9)(R13*4), R9
	LEAQ (R10)(R13*4), R10
	DECQ R12
	JNE  row

done:
	VZEROUPPER
	RET
