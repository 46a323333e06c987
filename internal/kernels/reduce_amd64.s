//go:build amd64 && !purego

#include "textflag.h"

// AVX2 loops for the reduction kernels of reduce.go on contiguous runs
// (see reduce_amd64.go for what each caller guarantees).
//
// Sums: a ymm register holds the Lanes = 4 float64 partial sums of one
// output, lane l in element l, so adding 4 converted inputs that start at
// lane 0 performs exactly the additions of the portable loop, in its order,
// with the accumulator as the first operand (which decides the NaN payload
// when both are NaN). A single sum is a chain of dependent additions that
// no reordering may shorten, so sumRuns4 walks four outputs' runs at once:
// four independent chains.
//
// Max/min: VMAXPS/VMINPS drop a NaN in their first operand and keep the
// second of two equal zeros, which Go's comparisons do not do, so the run
// loops only report whether they saw a NaN and leave the choice between
// equal zeros to the Go wrapper; the column loops select per element with
// a compare and a blend that reproduce the Go expression exactly.
//
// In Go's operand order "VSUBPD Y1, Y0, Y2" is Y2 = Y0 - Y1, and
// "VMAXPS Y1, Y0, Y2" is Y2 = Y0 > Y1 ? Y0 : Y1.

// func sumLanesF32(acc *float64, x *float32, n int): lane i%4 += x[i],
// n a multiple of 4.
TEXT ·sumLanesF32(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVUPD (DI), Y0
loop16:
	CMPQ CX, $16
	JL   loop4
	VCVTPS2PD (SI), Y1
	VCVTPS2PD 16(SI), Y2
	VCVTPS2PD 32(SI), Y3
	VCVTPS2PD 48(SI), Y4
	VADDPD Y1, Y0, Y0
	VADDPD Y2, Y0, Y0
	VADDPD Y3, Y0, Y0
	VADDPD Y4, Y0, Y0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  loop16
loop4:
	CMPQ CX, $4
	JL   done
	VCVTPS2PD (SI), Y1
	VADDPD Y1, Y0, Y0
	ADDQ $16, SI
	SUBQ $4, CX
	JMP  loop4
done:
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func sumLanesF64(acc *float64, x *float64, n int): lane i%4 += x[i],
// n a multiple of 4.
TEXT ·sumLanesF64(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVUPD (DI), Y0
loop16:
	CMPQ CX, $16
	JL   loop4
	VMOVUPD (SI), Y1
	VMOVUPD 32(SI), Y2
	VMOVUPD 64(SI), Y3
	VMOVUPD 96(SI), Y4
	VADDPD Y1, Y0, Y0
	VADDPD Y2, Y0, Y0
	VADDPD Y3, Y0, Y0
	VADDPD Y4, Y0, Y0
	ADDQ $128, SI
	SUBQ $16, CX
	JMP  loop16
loop4:
	CMPQ CX, $4
	JL   done
	VMOVUPD (SI), Y1
	VADDPD Y1, Y0, Y0
	ADDQ $32, SI
	SUBQ $4, CX
	JMP  loop4
done:
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func sumRuns4F32(acc *float64, x *float32, rs, n int): the lanes of run
// k (acc[4k:4k+4]) += x[k*rs+i] for k < 4, i < n, n a multiple of 4.
TEXT ·sumRuns4F32(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rs+16(FP), DX
	MOVQ n+24(FP), CX
	SHLQ $2, DX
	LEAQ (SI)(DX*2), R8
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
loop8:
	CMPQ CX, $8
	JL   loop4
	VCVTPS2PD (SI), Y4
	VCVTPS2PD (SI)(DX*1), Y5
	VCVTPS2PD (R8), Y6
	VCVTPS2PD (R8)(DX*1), Y7
	VCVTPS2PD 16(SI), Y8
	VCVTPS2PD 16(SI)(DX*1), Y9
	VCVTPS2PD 16(R8), Y10
	VCVTPS2PD 16(R8)(DX*1), Y11
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	VADDPD Y8, Y0, Y0
	VADDPD Y9, Y1, Y1
	VADDPD Y10, Y2, Y2
	VADDPD Y11, Y3, Y3
	ADDQ $32, SI
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  loop8
loop4:
	CMPQ CX, $4
	JL   done
	VCVTPS2PD (SI), Y4
	VCVTPS2PD (SI)(DX*1), Y5
	VCVTPS2PD (R8), Y6
	VCVTPS2PD (R8)(DX*1), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $16, SI
	ADDQ $16, R8
	SUBQ $4, CX
	JMP  loop4
done:
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET

// func sumSqDevF32(acc *float64, x *float32, c float64, n int): lane i%4
// += d*d with d = float64(x[i]) - c, each rounded, n a multiple of 4.
TEXT ·sumSqDevF32(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSD c+16(FP), Y15
	MOVQ n+24(FP), CX
	VMOVUPD (DI), Y0
loop8:
	CMPQ CX, $8
	JL   loop4
	VCVTPS2PD (SI), Y1
	VCVTPS2PD 16(SI), Y2
	VSUBPD Y15, Y1, Y1
	VSUBPD Y15, Y2, Y2
	VMULPD Y1, Y1, Y1
	VMULPD Y2, Y2, Y2
	VADDPD Y1, Y0, Y0
	VADDPD Y2, Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8
loop4:
	CMPQ CX, $4
	JL   done
	VCVTPS2PD (SI), Y1
	VSUBPD Y15, Y1, Y1
	VMULPD Y1, Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $16, SI
	SUBQ $4, CX
	JMP  loop4
done:
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func accumSqDevF32(acc *float64, x *float32, c *float64, n int):
// acc[i] += d*d with d = float64(x[i]) - c[i], each rounded, n a multiple
// of 4.
TEXT ·accumSqDevF32(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ c+16(FP), DX
	MOVQ n+24(FP), CX
loop8:
	CMPQ CX, $8
	JL   loop4
	VCVTPS2PD (SI), Y1
	VCVTPS2PD 16(SI), Y2
	VSUBPD (DX), Y1, Y1
	VSUBPD 32(DX), Y2, Y2
	VMULPD Y1, Y1, Y1
	VMULPD Y2, Y2, Y2
	VMOVUPD (DI), Y3
	VMOVUPD 32(DI), Y4
	VADDPD Y1, Y3, Y3
	VADDPD Y2, Y4, Y4
	VMOVUPD Y3, (DI)
	VMOVUPD Y4, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $8, CX
	JMP  loop8
loop4:
	CMPQ CX, $4
	JL   done
	VCVTPS2PD (SI), Y1
	VSUBPD (DX), Y1, Y1
	VMULPD Y1, Y1, Y1
	VMOVUPD (DI), Y3
	VADDPD Y1, Y3, Y3
	VMOVUPD Y3, (DI)
	ADDQ $16, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $4, CX
	JMP  loop4
done:
	VZEROUPPER
	RET

// func maxF32(x *float32, n int) (m float32, nan bool): the largest of
// x[:n] (either zero when the largest is zero) and whether any is NaN; n a
// positive multiple of 8. Predicate 3 is UNORD_Q: true where either operand
// is NaN.
TEXT ·maxF32(SB), NOSPLIT, $0-21
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VCMPPS  $3, Y5, Y4, Y10
	VCMPPS  $3, Y7, Y6, Y11
	VORPS   Y10, Y8, Y8
	VORPS   Y11, Y9, Y9
	VMAXPS  Y0, Y4, Y0
	VMAXPS  Y1, Y5, Y1
	VMAXPS  Y2, Y6, Y2
	VMAXPS  Y3, Y7, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   done
	VMOVUPS (SI), Y4
	VCMPPS  $3, Y4, Y4, Y10
	VORPS   Y10, Y8, Y8
	VMAXPS  Y0, Y4, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8
done:
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, m+16(FP)
	VORPS Y9, Y8, Y8
	VMOVMSKPS Y8, AX
	TESTL AX, AX
	SETNE nan+20(FP)
	VZEROUPPER
	RET

// func minF32(x *float32, n int) (m float32, nan bool): maxF32 for the
// smallest value.
TEXT ·minF32(SB), NOSPLIT, $0-21
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VCMPPS  $3, Y5, Y4, Y10
	VCMPPS  $3, Y7, Y6, Y11
	VORPS   Y10, Y8, Y8
	VORPS   Y11, Y9, Y9
	VMINPS  Y0, Y4, Y0
	VMINPS  Y1, Y5, Y1
	VMINPS  Y2, Y6, Y2
	VMINPS  Y3, Y7, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   done
	VMOVUPS (SI), Y4
	VCMPPS  $3, Y4, Y4, Y10
	VORPS   Y10, Y8, Y8
	VMINPS  Y0, Y4, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8
done:
	VMINPS Y1, Y0, Y0
	VMINPS Y3, Y2, Y2
	VMINPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMINPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMINPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMINPS X1, X0, X0
	MOVSS X0, m+16(FP)
	VORPS Y9, Y8, Y8
	VMOVMSKPS Y8, AX
	TESTL AX, AX
	SETNE nan+20(FP)
	VZEROUPPER
	RET

// func maxF64(x *float64, n int) (m float64, nan bool): maxF32 for
// float64, n a positive multiple of 4.
TEXT ·maxF64(SB), NOSPLIT, $0-25
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPD (SI), Y0
	VMOVAPD Y0, Y1
	VMOVAPD Y0, Y2
	VMOVAPD Y0, Y3
	VXORPD  Y8, Y8, Y8
	VXORPD  Y9, Y9, Y9
loop16:
	CMPQ CX, $16
	JL   loop4
	VMOVUPD (SI), Y4
	VMOVUPD 32(SI), Y5
	VMOVUPD 64(SI), Y6
	VMOVUPD 96(SI), Y7
	VCMPPD  $3, Y5, Y4, Y10
	VCMPPD  $3, Y7, Y6, Y11
	VORPD   Y10, Y8, Y8
	VORPD   Y11, Y9, Y9
	VMAXPD  Y0, Y4, Y0
	VMAXPD  Y1, Y5, Y1
	VMAXPD  Y2, Y6, Y2
	VMAXPD  Y3, Y7, Y3
	ADDQ $128, SI
	SUBQ $16, CX
	JMP  loop16
loop4:
	CMPQ CX, $4
	JL   done
	VMOVUPD (SI), Y4
	VCMPPD  $3, Y4, Y4, Y10
	VORPD   Y10, Y8, Y8
	VMAXPD  Y0, Y4, Y0
	ADDQ $32, SI
	SUBQ $4, CX
	JMP  loop4
done:
	VMAXPD Y1, Y0, Y0
	VMAXPD Y3, Y2, Y2
	VMAXPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VMAXPD X1, X0, X0
	MOVSD X0, m+16(FP)
	VORPD Y9, Y8, Y8
	VMOVMSKPD Y8, AX
	TESTL AX, AX
	SETNE nan+24(FP)
	VZEROUPPER
	RET

// func minF64(x *float64, n int) (m float64, nan bool): maxF64 for the
// smallest value.
TEXT ·minF64(SB), NOSPLIT, $0-25
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPD (SI), Y0
	VMOVAPD Y0, Y1
	VMOVAPD Y0, Y2
	VMOVAPD Y0, Y3
	VXORPD  Y8, Y8, Y8
	VXORPD  Y9, Y9, Y9
loop16:
	CMPQ CX, $16
	JL   loop4
	VMOVUPD (SI), Y4
	VMOVUPD 32(SI), Y5
	VMOVUPD 64(SI), Y6
	VMOVUPD 96(SI), Y7
	VCMPPD  $3, Y5, Y4, Y10
	VCMPPD  $3, Y7, Y6, Y11
	VORPD   Y10, Y8, Y8
	VORPD   Y11, Y9, Y9
	VMINPD  Y0, Y4, Y0
	VMINPD  Y1, Y5, Y1
	VMINPD  Y2, Y6, Y2
	VMINPD  Y3, Y7, Y3
	ADDQ $128, SI
	SUBQ $16, CX
	JMP  loop16
loop4:
	CMPQ CX, $4
	JL   done
	VMOVUPD (SI), Y4
	VCMPPD  $3, Y4, Y4, Y10
	VORPD   Y10, Y8, Y8
	VMINPD  Y0, Y4, Y0
	ADDQ $32, SI
	SUBQ $4, CX
	JMP  loop4
done:
	VMINPD Y1, Y0, Y0
	VMINPD Y3, Y2, Y2
	VMINPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMINPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VMINPD X1, X0, X0
	MOVSD X0, m+16(FP)
	VORPD Y9, Y8, Y8
	VMOVMSKPD Y8, AX
	TESTL AX, AX
	SETNE nan+24(FP)
	VZEROUPPER
	RET

// func maxColF32(acc, x *float32, n int): acc[i] = x[i] where x[i] >
// acc[i] or x[i] is NaN, n a multiple of 8. VMAXPS x, acc already gives
// x[i] > acc[i] ? x[i] : acc[i] (acc[i] on a NaN or on equal zeros, as the
// Go code); the blend then takes x[i] where it is NaN.
TEXT ·maxColF32(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
loop16:
	CMPQ CX, $16
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMAXPS  (DI), Y0, Y2
	VMAXPS  32(DI), Y1, Y3
	VCMPPS  $3, Y0, Y0, Y4
	VCMPPS  $3, Y1, Y1, Y5
	VBLENDVPS Y4, Y0, Y2, Y2
	VBLENDVPS Y5, Y1, Y3, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16
loop8:
	CMPQ CX, $8
	JL   done
	VMOVUPS (SI), Y0
	VMAXPS  (DI), Y0, Y2
	VCMPPS  $3, Y0, Y0, Y4
	VBLENDVPS Y4, Y0, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
done:
	VZEROUPPER
	RET

// func minColF32(acc, x *float32, n int): maxColF32 for the smallest
// value.
TEXT ·minColF32(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
loop16:
	CMPQ CX, $16
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMINPS  (DI), Y0, Y2
	VMINPS  32(DI), Y1, Y3
	VCMPPS  $3, Y0, Y0, Y4
	VCMPPS  $3, Y1, Y1, Y5
	VBLENDVPS Y4, Y0, Y2, Y2
	VBLENDVPS Y5, Y1, Y3, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16
loop8:
	CMPQ CX, $8
	JL   done
	VMOVUPS (SI), Y0
	VMINPS  (DI), Y0, Y2
	VCMPPS  $3, Y0, Y0, Y4
	VBLENDVPS Y4, Y0, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
done:
	VZEROUPPER
	RET
