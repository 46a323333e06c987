//go:build amd64 && !purego

#include "textflag.h"

// AVX2 loops for the float32 optimizer updates (see optim.go and
// optim_amd64.go). Each value goes through the IEEE single-precision
// operations of the Go loop in the same order: separate VMULPS and VADDPS
// (no FMA, which would round once where Go rounds twice), and VSQRTPS and
// VDIVPS, which round correctly as Go's float32 square root and division
// do. So the results are bit for bit those of the portable loops. The
// scalar tails use the VEX forms to stay out of SSE/AVX transitions.
//
// In Go's operand order "VDIVPS Y1, Y0, Y2" is Y2 = Y0 / Y1.

// func sgdPlainF32(p, grad *float32, n int, negLR float32)
TEXT ·sgdPlainF32(SB), NOSPLIT, $0-28
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS negLR+24(FP), Y15

loop16:
	CMPQ CX, $16
	JL   loop8
	VMULPS  (SI), Y15, Y0
	VMULPS  32(SI), Y15, Y1
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     loop16

loop8:
	CMPQ CX, $8
	JL   tail
	VMULPS  (SI), Y15, Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX

tail:
	TESTQ CX, CX
	JE    done
	VMOVSS (SI), X0
	VMULSS X15, X0, X0
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DI
	DECQ   CX
	JMP    tail

done:
	VZEROUPPER
	RET

// func sgdMomentumF32(p, grad, buf *float32, n int, mom, damp1, negLR float32)
// b = buf*mom + damp1*g; buf = b; p += negLR*b
TEXT ·sgdMomentumF32(SB), NOSPLIT, $0-44
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         buf+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS mom+32(FP), Y13
	VBROADCASTSS damp1+36(FP), Y14
	VBROADCASTSS negLR+40(FP), Y15

loop16:
	CMPQ CX, $16
	JL   loop8
	VMULPS  (DX), Y13, Y0
	VMULPS  32(DX), Y13, Y1
	VMULPS  (SI), Y14, Y2
	VMULPS  32(SI), Y14, Y3
	VADDPS  Y2, Y0, Y0
	VADDPS  Y3, Y1, Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMULPS  Y0, Y15, Y0
	VMULPS  Y1, Y15, Y1
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, DX
	SUBQ    $16, CX
	JMP     loop16

loop8:
	CMPQ CX, $8
	JL   tail
	VMULPS  (DX), Y13, Y0
	VMULPS  (SI), Y14, Y2
	VADDPS  Y2, Y0, Y0
	VMOVUPS Y0, (DX)
	VMULPS  Y0, Y15, Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX

tail:
	TESTQ CX, CX
	JE    done
	VMOVSS (DX), X0
	VMULSS X13, X0, X0
	VMOVSS (SI), X2
	VMULSS X14, X2, X2
	VADDSS X2, X0, X0
	VMOVSS X0, (DX)
	VMULSS X15, X0, X0
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DI
	ADDQ   $4, DX
	DECQ   CX
	JMP    tail

done:
	VZEROUPPER
	RET

// func adamF32(p, grad, m, v *float32, n int, c *[9]float32, flags int)
// c = beta1, beta1c, beta2, beta2c, wd, decay, negStep, bc2sqrt, eps in
// Y7..Y15; flags bit 0: gi += wd*p; bit 1: p *= decay (on the old p, after
// gi has read it).
TEXT ·adamF32(SB), NOSPLIT, $0-56
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), DX
	MOVQ         v+24(FP), BX
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	MOVQ         flags+48(FP), R8
	VBROADCASTSS (AX), Y7
	VBROADCASTSS 4(AX), Y8
	VBROADCASTSS 8(AX), Y9
	VBROADCASTSS 12(AX), Y10
	VBROADCASTSS 16(AX), Y11
	VBROADCASTSS 20(AX), Y12
	VBROADCASTSS 24(AX), Y13
	VBROADCASTSS 28(AX), Y14
	VBROADCASTSS 32(AX), Y15

loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0 // gi
	VMOVUPS (DI), Y1 // p
	TESTQ   $1, R8
	JE      nowd8
	VMULPS  Y1, Y11, Y2
	VADDPS  Y2, Y0, Y0

nowd8:
	TESTQ  $2, R8
	JE     nodecay8
	VMULPS Y12, Y1, Y1

nodecay8:
	VMULPS  (DX), Y7, Y2 // m*beta1
	VMULPS  Y0, Y8, Y3   // beta1c*gi
	VADDPS  Y3, Y2, Y2   // mi
	VMOVUPS Y2, (DX)
	VMULPS  (BX), Y9, Y3 // v*beta2
	VMULPS  Y0, Y10, Y4  // beta2c*gi
	VMULPS  Y0, Y4, Y4   // beta2c*gi*gi
	VADDPS  Y4, Y3, Y3   // vi
	VMOVUPS Y3, (BX)
	VSQRTPS Y3, Y3
	VDIVPS  Y14, Y3, Y3  // sqrt(vi)/bc2sqrt
	VADDPS  Y15, Y3, Y3  // d
	VMULPS  Y2, Y13, Y2  // negStep*mi
	VDIVPS  Y3, Y2, Y2   // negStep*mi/d
	VADDPS  Y2, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	ADDQ    $32, BX
	SUBQ    $8, CX
	JMP     loop8

tail:
	TESTQ CX, CX
	JE    done
	VMOVSS (SI), X0
	VMOVSS (DI), X1
	TESTQ  $1, R8
	JE     nowd1
	VMULSS X1, X11, X2
	VADDSS X2, X0, X0

nowd1:
	TESTQ  $2, R8
	JE     nodecay1
	VMULSS X12, X1, X1

nodecay1:
	VMULSS  (DX), X7, X2
	VMULSS  X0, X8, X3
	VADDSS  X3, X2, X2
	VMOVSS  X2, (DX)
	VMULSS  (BX), X9, X3
	VMULSS  X0, X10, X4
	VMULSS  X0, X4, X4
	VADDSS  X4, X3, X3
	VMOVSS  X3, (BX)
	VSQRTSS X3, X3, X3
	VDIVSS  X14, X3, X3
	VADDSS  X15, X3, X3
	VMULSS  X2, X13, X2
	VDIVSS  X3, X2, X2
	VADDSS  X2, X1, X1
	VMOVSS  X1, (DI)
	ADDQ    $4, SI
	ADDQ    $4, DI
	ADDQ    $4, DX
	ADDQ    $4, BX
	DECQ    CX
	JMP     tail

done:
	VZEROUPPER
	RET

// func rmspropF32(p, grad, sq, buf *float32, n int, c *[9]float32)
// c = alpha, alpha1, eps, mom, negLR in Y11..Y15. vi = sq*alpha +
// alpha1*g*g; d = sqrt(vi) + eps; then with buf: b = buf*mom + g/d,
// p += negLR*b; without: p += negLR*g/d.
TEXT ·rmspropF32(SB), NOSPLIT, $0-48
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         sq+16(FP), DX
	MOVQ         buf+24(FP), BX
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	VBROADCASTSS (AX), Y11
	VBROADCASTSS 4(AX), Y12
	VBROADCASTSS 8(AX), Y13
	VBROADCASTSS 12(AX), Y14
	VBROADCASTSS 16(AX), Y15
	TESTQ        BX, BX
	JNE          mloop8

ploop8:
	CMPQ CX, $8
	JL   ptail
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y11, Y1 // sq*alpha
	VMULPS  Y0, Y12, Y2   // alpha1*g
	VMULPS  Y0, Y2, Y2    // alpha1*g*g
	VADDPS  Y2, Y1, Y1    // vi
	VMOVUPS Y1, (DX)
	VSQRTPS Y1, Y1
	VADDPS  Y13, Y1, Y1   // d
	VMULPS  Y0, Y15, Y0   // negLR*g
	VDIVPS  Y1, Y0, Y0    // negLR*g/d
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     ploop8

ptail:
	TESTQ CX, CX
	JE    done
	VMOVSS  (SI), X0
	VMULSS  (DX), X11, X1
	VMULSS  X0, X12, X2
	VMULSS  X0, X2, X2
	VADDSS  X2, X1, X1
	VMOVSS  X1, (DX)
	VSQRTSS X1, X1, X1
	VADDSS  X13, X1, X1
	VMULSS  X0, X15, X0
	VDIVSS  X1, X0, X0
	VADDSS  (DI), X0, X0
	VMOVSS  X0, (DI)
	ADDQ    $4, SI
	ADDQ    $4, DI
	ADDQ    $4, DX
	DECQ    CX
	JMP     ptail

mloop8:
	CMPQ CX, $8
	JL   mtail
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y11, Y1 // sq*alpha
	VMULPS  Y0, Y12, Y2   // alpha1*g
	VMULPS  Y0, Y2, Y2    // alpha1*g*g
	VADDPS  Y2, Y1, Y1    // vi
	VMOVUPS Y1, (DX)
	VSQRTPS Y1, Y1
	VADDPS  Y13, Y1, Y1   // d
	VDIVPS  Y1, Y0, Y0    // g/d
	VMULPS  (BX), Y14, Y2 // buf*mom
	VADDPS  Y0, Y2, Y2    // b
	VMOVUPS Y2, (BX)
	VMULPS  Y2, Y15, Y2   // negLR*b
	VADDPS  (DI), Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	ADDQ    $32, BX
	SUBQ    $8, CX
	JMP     mloop8

mtail:
	TESTQ CX, CX
	JE    done
	VMOVSS  (SI), X0
	VMULSS  (DX), X11, X1
	VMULSS  X0, X12, X2
	VMULSS  X0, X2, X2
	VADDSS  X2, X1, X1
	VMOVSS  X1, (DX)
	VSQRTSS X1, X1, X1
	VADDSS  X13, X1, X1
	VDIVSS  X1, X0, X0
	VMULSS  (BX), X14, X2
	VADDSS  X0, X2, X2
	VMOVSS  X2, (BX)
	VMULSS  X2, X15, X2
	VADDSS  (DI), X2, X2
	VMOVSS  X2, (DI)
	ADDQ    $4, SI
	ADDQ    $4, DI
	ADDQ    $4, DX
	ADDQ    $4, BX
	DECQ    CX
	JMP     mtail

done:
	VZEROUPPER
	RET
