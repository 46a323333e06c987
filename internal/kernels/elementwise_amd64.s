//go:build amd64 && !purego

#include "textflag.h"

// AVX2 loops for the float32 elementwise kernels on contiguous runs (see
// elementwise_amd64.go). Each handles 32 values per iteration in four
// independent registers, then 8 at a time, then one at a time; every value
// goes through the same IEEE single-precision operation that Go's scalar
// code performs, so the results are bit for bit those of the portable
// loops.
//
// In Go's operand order "VSUBPS Y1, Y0, Y2" is Y2 = Y0 - Y1.

// func addVVF32(dst, a, b *float32, n int): dst[i] = a[i] op b[i]
TEXT ·addVVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y1, Y1
	VADDPS 64(DX), Y2, Y2
	VADDPS 96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	ADDSS (DX), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func addVSF32(dst, x *float32, s float32, n int): dst[i] = x[i] op s
TEXT ·addVSF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS Y15, Y0, Y0
	VADDPS Y15, Y1, Y1
	VADDPS Y15, Y2, Y2
	VADDPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VADDPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	ADDSS X15, X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func addSVF32(dst, x *float32, s float32, n int): dst[i] = s op x[i]
TEXT ·addSVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS Y0, Y15, Y0
	VADDPS Y1, Y15, Y1
	VADDPS Y2, Y15, Y2
	VADDPS Y3, Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VADDPS Y0, Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS X15, X0
	ADDSS (SI), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func subVVF32(dst, a, b *float32, n int): dst[i] = a[i] op b[i]
TEXT ·subVVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VSUBPS (DX), Y0, Y0
	VSUBPS 32(DX), Y1, Y1
	VSUBPS 64(DX), Y2, Y2
	VSUBPS 96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VSUBPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	SUBSS (DX), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func subVSF32(dst, x *float32, s float32, n int): dst[i] = x[i] op s
TEXT ·subVSF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VSUBPS Y15, Y0, Y0
	VSUBPS Y15, Y1, Y1
	VSUBPS Y15, Y2, Y2
	VSUBPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	SUBSS X15, X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func subSVF32(dst, x *float32, s float32, n int): dst[i] = s op x[i]
TEXT ·subSVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VSUBPS Y0, Y15, Y0
	VSUBPS Y1, Y15, Y1
	VSUBPS Y2, Y15, Y2
	VSUBPS Y3, Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VSUBPS Y0, Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS X15, X0
	SUBSS (SI), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func mulVVF32(dst, a, b *float32, n int): dst[i] = a[i] op b[i]
TEXT ·mulVVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMULPS (DX), Y0, Y0
	VMULPS 32(DX), Y1, Y1
	VMULPS 64(DX), Y2, Y2
	VMULPS 96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	MULSS (DX), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func mulVSF32(dst, x *float32, s float32, n int): dst[i] = x[i] op s
TEXT ·mulVSF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMULPS Y15, Y0, Y0
	VMULPS Y15, Y1, Y1
	VMULPS Y15, Y2, Y2
	VMULPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VMULPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	MULSS X15, X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func mulSVF32(dst, x *float32, s float32, n int): dst[i] = s op x[i]
TEXT ·mulSVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMULPS Y0, Y15, Y0
	VMULPS Y1, Y15, Y1
	VMULPS Y2, Y15, Y2
	VMULPS Y3, Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VMULPS Y0, Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS X15, X0
	MULSS (SI), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func divVVF32(dst, a, b *float32, n int): dst[i] = a[i] op b[i]
TEXT ·divVVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VDIVPS (DX), Y0, Y0
	VDIVPS 32(DX), Y1, Y1
	VDIVPS 64(DX), Y2, Y2
	VDIVPS 96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VDIVPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	DIVSS (DX), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func divVSF32(dst, x *float32, s float32, n int): dst[i] = x[i] op s
TEXT ·divVSF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VDIVPS Y15, Y0, Y0
	VDIVPS Y15, Y1, Y1
	VDIVPS Y15, Y2, Y2
	VDIVPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VDIVPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X0
	DIVSS X15, X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func divSVF32(dst, x *float32, s float32, n int): dst[i] = s op x[i]
TEXT ·divSVF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS s+16(FP), Y15
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VDIVPS Y0, Y15, Y0
	VDIVPS Y1, Y15, Y1
	VDIVPS Y2, Y15, Y2
	VDIVPS Y3, Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMOVUPS (SI), Y0
	VDIVPS Y0, Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS X15, X0
	DIVSS (SI), X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func reluF32(dst, x *float32, n int): dst[i] = max(x[i], 0), NaN kept,
// -0 made +0. VMAXPS returns its second source unless the first is
// greater, so max(0, x) gives x for a NaN x; adding +0 then turns -0 into
// +0 and changes nothing else.
TEXT ·reluF32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y15, Y15, Y15
loop32:
	CMPQ CX, $32
	JL   loop8
	VMAXPS (SI), Y15, Y0
	VMAXPS 32(SI), Y15, Y1
	VMAXPS 64(SI), Y15, Y2
	VMAXPS 96(SI), Y15, Y3
	VADDPS Y15, Y0, Y0
	VADDPS Y15, Y1, Y1
	VADDPS Y15, Y2, Y2
	VADDPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VMAXPS (SI), Y15, Y0
	VADDPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (SI), X1
	VMAXSS X1, X15, X0
	VADDSS X15, X0, X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func reluGradF32(dst, gp, x *float32, n int): dst[i] = gp[i] where
// x[i] > 0, +0 elsewhere (NaN x included): g masked by the ordered compare
// 0 < x (predicate 0x11, LT_OQ, which is false for NaN); g names the
// goroutine register in Go assembly, hence gp.
TEXT ·reluGradF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gp+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y15, Y15, Y15
loop32:
	CMPQ CX, $32
	JL   loop8
	VCMPPS $0x11, (DX), Y15, Y4
	VCMPPS $0x11, 32(DX), Y15, Y5
	VCMPPS $0x11, 64(DX), Y15, Y6
	VCMPPS $0x11, 96(DX), Y15, Y7
	VANDPS (SI), Y4, Y0
	VANDPS 32(SI), Y5, Y1
	VANDPS 64(SI), Y6, Y2
	VANDPS 96(SI), Y7, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop8:
	CMPQ CX, $8
	JL   tail
	VCMPPS $0x11, (DX), Y15, Y4
	VANDPS (SI), Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8
tail:
	TESTQ CX, CX
	JE    done
	MOVSS (DX), X1
	VCMPSS $0x11, X1, X15, X4
	MOVSS (SI), X2
	VANDPS X2, X4, X0
	MOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET

// func accumF32(acc *float64, x *float32, n int): acc[i] += float64(x[i]),
// each sum a single IEEE double addition as in the portable loop.
TEXT ·accumF32(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
loop16:
	CMPQ CX, $16
	JL   loop4
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VCVTPS2PD 32(SI), Y2
	VCVTPS2PD 48(SI), Y3
	VADDPD (DI), Y0, Y0
	VADDPD 32(DI), Y1, Y1
	VADDPD 64(DI), Y2, Y2
	VADDPD 96(DI), Y3, Y3
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $16, CX
	JMP  loop16
loop4:
	CMPQ CX, $4
	JL   tail
	VCVTPS2PD (SI), Y0
	VADDPD (DI), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JMP  loop4
tail:
	TESTQ CX, CX
	JE    done
	CVTSS2SD (SI), X0
	ADDSD (DI), X0
	MOVSD X0, (DI)
	ADDQ $4, SI
	ADDQ $8, DI
	DECQ CX
	JMP  tail
done:
	VZEROUPPER
	RET
