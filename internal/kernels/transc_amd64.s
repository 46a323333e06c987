//go:build amd64 && !purego

#include "textflag.h"

// AVX2 loops for Exp32, Tanh32 and Sigmoid32 of transc.go, eight values at
// a time. Each lane performs the Go function's single-precision operations
// in the same order, with no FMA (a fused multiply-add rounds once where
// Go rounds twice), so the results are bit for bit the Go ones. Branches
// become selects: both sides are computed and a mask picks one per lane.
//
// In Go's operand order "VSUBPS Y1, Y0, Y2" is Y2 = Y0 - Y1, and
// "VMAXPS Y0, Y1, Y0" returns its second source, Y0, when a lane is NaN.

DATA tc_lo<>+0(SB)/4, $0xc2d00000
DATA tc_lo<>+4(SB)/4, $0xc2d00000
DATA tc_lo<>+8(SB)/4, $0xc2d00000
DATA tc_lo<>+12(SB)/4, $0xc2d00000
DATA tc_lo<>+16(SB)/4, $0xc2d00000
DATA tc_lo<>+20(SB)/4, $0xc2d00000
DATA tc_lo<>+24(SB)/4, $0xc2d00000
DATA tc_lo<>+28(SB)/4, $0xc2d00000
GLOBL tc_lo<>(SB), RODATA|NOPTR, $32

DATA tc_hi<>+0(SB)/4, $0x42b20000
DATA tc_hi<>+4(SB)/4, $0x42b20000
DATA tc_hi<>+8(SB)/4, $0x42b20000
DATA tc_hi<>+12(SB)/4, $0x42b20000
DATA tc_hi<>+16(SB)/4, $0x42b20000
DATA tc_hi<>+20(SB)/4, $0x42b20000
DATA tc_hi<>+24(SB)/4, $0x42b20000
DATA tc_hi<>+28(SB)/4, $0x42b20000
GLOBL tc_hi<>(SB), RODATA|NOPTR, $32

DATA tc_log2e<>+0(SB)/4, $0x3fb8aa3b
DATA tc_log2e<>+4(SB)/4, $0x3fb8aa3b
DATA tc_log2e<>+8(SB)/4, $0x3fb8aa3b
DATA tc_log2e<>+12(SB)/4, $0x3fb8aa3b
DATA tc_log2e<>+16(SB)/4, $0x3fb8aa3b
DATA tc_log2e<>+20(SB)/4, $0x3fb8aa3b
DATA tc_log2e<>+24(SB)/4, $0x3fb8aa3b
DATA tc_log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL tc_log2e<>(SB), RODATA|NOPTR, $32

DATA tc_magic<>+0(SB)/4, $0x4b400000
DATA tc_magic<>+4(SB)/4, $0x4b400000
DATA tc_magic<>+8(SB)/4, $0x4b400000
DATA tc_magic<>+12(SB)/4, $0x4b400000
DATA tc_magic<>+16(SB)/4, $0x4b400000
DATA tc_magic<>+20(SB)/4, $0x4b400000
DATA tc_magic<>+24(SB)/4, $0x4b400000
DATA tc_magic<>+28(SB)/4, $0x4b400000
GLOBL tc_magic<>(SB), RODATA|NOPTR, $32

DATA tc_c1<>+0(SB)/4, $0x3f318000
DATA tc_c1<>+4(SB)/4, $0x3f318000
DATA tc_c1<>+8(SB)/4, $0x3f318000
DATA tc_c1<>+12(SB)/4, $0x3f318000
DATA tc_c1<>+16(SB)/4, $0x3f318000
DATA tc_c1<>+20(SB)/4, $0x3f318000
DATA tc_c1<>+24(SB)/4, $0x3f318000
DATA tc_c1<>+28(SB)/4, $0x3f318000
GLOBL tc_c1<>(SB), RODATA|NOPTR, $32

DATA tc_c2<>+0(SB)/4, $0xb95e8083
DATA tc_c2<>+4(SB)/4, $0xb95e8083
DATA tc_c2<>+8(SB)/4, $0xb95e8083
DATA tc_c2<>+12(SB)/4, $0xb95e8083
DATA tc_c2<>+16(SB)/4, $0xb95e8083
DATA tc_c2<>+20(SB)/4, $0xb95e8083
DATA tc_c2<>+24(SB)/4, $0xb95e8083
DATA tc_c2<>+28(SB)/4, $0xb95e8083
GLOBL tc_c2<>(SB), RODATA|NOPTR, $32

DATA tc_p2<>+0(SB)/4, $0x3efffffe
DATA tc_p2<>+4(SB)/4, $0x3efffffe
DATA tc_p2<>+8(SB)/4, $0x3efffffe
DATA tc_p2<>+12(SB)/4, $0x3efffffe
DATA tc_p2<>+16(SB)/4, $0x3efffffe
DATA tc_p2<>+20(SB)/4, $0x3efffffe
DATA tc_p2<>+24(SB)/4, $0x3efffffe
DATA tc_p2<>+28(SB)/4, $0x3efffffe
GLOBL tc_p2<>(SB), RODATA|NOPTR, $32

DATA tc_p3<>+0(SB)/4, $0x3e2aaa46
DATA tc_p3<>+4(SB)/4, $0x3e2aaa46
DATA tc_p3<>+8(SB)/4, $0x3e2aaa46
DATA tc_p3<>+12(SB)/4, $0x3e2aaa46
DATA tc_p3<>+16(SB)/4, $0x3e2aaa46
DATA tc_p3<>+20(SB)/4, $0x3e2aaa46
DATA tc_p3<>+24(SB)/4, $0x3e2aaa46
DATA tc_p3<>+28(SB)/4, $0x3e2aaa46
GLOBL tc_p3<>(SB), RODATA|NOPTR, $32

DATA tc_p4<>+0(SB)/4, $0x3d2aac83
DATA tc_p4<>+4(SB)/4, $0x3d2aac83
DATA tc_p4<>+8(SB)/4, $0x3d2aac83
DATA tc_p4<>+12(SB)/4, $0x3d2aac83
DATA tc_p4<>+16(SB)/4, $0x3d2aac83
DATA tc_p4<>+20(SB)/4, $0x3d2aac83
DATA tc_p4<>+24(SB)/4, $0x3d2aac83
DATA tc_p4<>+28(SB)/4, $0x3d2aac83
GLOBL tc_p4<>(SB), RODATA|NOPTR, $32

DATA tc_p5<>+0(SB)/4, $0x3c091ea4
DATA tc_p5<>+4(SB)/4, $0x3c091ea4
DATA tc_p5<>+8(SB)/4, $0x3c091ea4
DATA tc_p5<>+12(SB)/4, $0x3c091ea4
DATA tc_p5<>+16(SB)/4, $0x3c091ea4
DATA tc_p5<>+20(SB)/4, $0x3c091ea4
DATA tc_p5<>+24(SB)/4, $0x3c091ea4
DATA tc_p5<>+28(SB)/4, $0x3c091ea4
GLOBL tc_p5<>(SB), RODATA|NOPTR, $32

DATA tc_p6<>+0(SB)/4, $0x3ab50f35
DATA tc_p6<>+4(SB)/4, $0x3ab50f35
DATA tc_p6<>+8(SB)/4, $0x3ab50f35
DATA tc_p6<>+12(SB)/4, $0x3ab50f35
DATA tc_p6<>+16(SB)/4, $0x3ab50f35
DATA tc_p6<>+20(SB)/4, $0x3ab50f35
DATA tc_p6<>+24(SB)/4, $0x3ab50f35
DATA tc_p6<>+28(SB)/4, $0x3ab50f35
GLOBL tc_p6<>(SB), RODATA|NOPTR, $32

DATA tc_bias<>+0(SB)/4, $0x0000007f
DATA tc_bias<>+4(SB)/4, $0x0000007f
DATA tc_bias<>+8(SB)/4, $0x0000007f
DATA tc_bias<>+12(SB)/4, $0x0000007f
DATA tc_bias<>+16(SB)/4, $0x0000007f
DATA tc_bias<>+20(SB)/4, $0x0000007f
DATA tc_bias<>+24(SB)/4, $0x0000007f
DATA tc_bias<>+28(SB)/4, $0x0000007f
GLOBL tc_bias<>(SB), RODATA|NOPTR, $32

DATA tc_one<>+0(SB)/4, $0x3f800000
DATA tc_one<>+4(SB)/4, $0x3f800000
DATA tc_one<>+8(SB)/4, $0x3f800000
DATA tc_one<>+12(SB)/4, $0x3f800000
DATA tc_one<>+16(SB)/4, $0x3f800000
DATA tc_one<>+20(SB)/4, $0x3f800000
DATA tc_one<>+24(SB)/4, $0x3f800000
DATA tc_one<>+28(SB)/4, $0x3f800000
GLOBL tc_one<>(SB), RODATA|NOPTR, $32

DATA tc_two<>+0(SB)/4, $0x40000000
DATA tc_two<>+4(SB)/4, $0x40000000
DATA tc_two<>+8(SB)/4, $0x40000000
DATA tc_two<>+12(SB)/4, $0x40000000
DATA tc_two<>+16(SB)/4, $0x40000000
DATA tc_two<>+20(SB)/4, $0x40000000
DATA tc_two<>+24(SB)/4, $0x40000000
DATA tc_two<>+28(SB)/4, $0x40000000
GLOBL tc_two<>(SB), RODATA|NOPTR, $32

DATA tc_sign<>+0(SB)/4, $0x80000000
DATA tc_sign<>+4(SB)/4, $0x80000000
DATA tc_sign<>+8(SB)/4, $0x80000000
DATA tc_sign<>+12(SB)/4, $0x80000000
DATA tc_sign<>+16(SB)/4, $0x80000000
DATA tc_sign<>+20(SB)/4, $0x80000000
DATA tc_sign<>+24(SB)/4, $0x80000000
DATA tc_sign<>+28(SB)/4, $0x80000000
GLOBL tc_sign<>(SB), RODATA|NOPTR, $32

DATA tc_abs<>+0(SB)/4, $0x7fffffff
DATA tc_abs<>+4(SB)/4, $0x7fffffff
DATA tc_abs<>+8(SB)/4, $0x7fffffff
DATA tc_abs<>+12(SB)/4, $0x7fffffff
DATA tc_abs<>+16(SB)/4, $0x7fffffff
DATA tc_abs<>+20(SB)/4, $0x7fffffff
DATA tc_abs<>+24(SB)/4, $0x7fffffff
DATA tc_abs<>+28(SB)/4, $0x7fffffff
GLOBL tc_abs<>(SB), RODATA|NOPTR, $32

DATA tc_thr<>+0(SB)/4, $0x3f100000
DATA tc_thr<>+4(SB)/4, $0x3f100000
DATA tc_thr<>+8(SB)/4, $0x3f100000
DATA tc_thr<>+12(SB)/4, $0x3f100000
DATA tc_thr<>+16(SB)/4, $0x3f100000
DATA tc_thr<>+20(SB)/4, $0x3f100000
DATA tc_thr<>+24(SB)/4, $0x3f100000
DATA tc_thr<>+28(SB)/4, $0x3f100000
GLOBL tc_thr<>(SB), RODATA|NOPTR, $32

DATA tc_t0<>+0(SB)/4, $0xbeaaaaa4
DATA tc_t0<>+4(SB)/4, $0xbeaaaaa4
DATA tc_t0<>+8(SB)/4, $0xbeaaaaa4
DATA tc_t0<>+12(SB)/4, $0xbeaaaaa4
DATA tc_t0<>+16(SB)/4, $0xbeaaaaa4
DATA tc_t0<>+20(SB)/4, $0xbeaaaaa4
DATA tc_t0<>+24(SB)/4, $0xbeaaaaa4
DATA tc_t0<>+28(SB)/4, $0xbeaaaaa4
GLOBL tc_t0<>(SB), RODATA|NOPTR, $32

DATA tc_t1<>+0(SB)/4, $0x3e088639
DATA tc_t1<>+4(SB)/4, $0x3e088639
DATA tc_t1<>+8(SB)/4, $0x3e088639
DATA tc_t1<>+12(SB)/4, $0x3e088639
DATA tc_t1<>+16(SB)/4, $0x3e088639
DATA tc_t1<>+20(SB)/4, $0x3e088639
DATA tc_t1<>+24(SB)/4, $0x3e088639
DATA tc_t1<>+28(SB)/4, $0x3e088639
GLOBL tc_t1<>(SB), RODATA|NOPTR, $32

DATA tc_t2<>+0(SB)/4, $0xbd5c84a4
DATA tc_t2<>+4(SB)/4, $0xbd5c84a4
DATA tc_t2<>+8(SB)/4, $0xbd5c84a4
DATA tc_t2<>+12(SB)/4, $0xbd5c84a4
DATA tc_t2<>+16(SB)/4, $0xbd5c84a4
DATA tc_t2<>+20(SB)/4, $0xbd5c84a4
DATA tc_t2<>+24(SB)/4, $0xbd5c84a4
DATA tc_t2<>+28(SB)/4, $0xbd5c84a4
GLOBL tc_t2<>(SB), RODATA|NOPTR, $32

DATA tc_t3<>+0(SB)/4, $0x3cac17d9
DATA tc_t3<>+4(SB)/4, $0x3cac17d9
DATA tc_t3<>+8(SB)/4, $0x3cac17d9
DATA tc_t3<>+12(SB)/4, $0x3cac17d9
DATA tc_t3<>+16(SB)/4, $0x3cac17d9
DATA tc_t3<>+20(SB)/4, $0x3cac17d9
DATA tc_t3<>+24(SB)/4, $0x3cac17d9
DATA tc_t3<>+28(SB)/4, $0x3cac17d9
GLOBL tc_t3<>(SB), RODATA|NOPTR, $32

DATA tc_t4<>+0(SB)/4, $0xbbca8011
DATA tc_t4<>+4(SB)/4, $0xbbca8011
DATA tc_t4<>+8(SB)/4, $0xbbca8011
DATA tc_t4<>+12(SB)/4, $0xbbca8011
DATA tc_t4<>+16(SB)/4, $0xbbca8011
DATA tc_t4<>+20(SB)/4, $0xbbca8011
DATA tc_t4<>+24(SB)/4, $0xbbca8011
DATA tc_t4<>+28(SB)/4, $0xbbca8011
GLOBL tc_t4<>(SB), RODATA|NOPTR, $32

// EXP8 sets Y0 = Exp32(Y0) lane by lane, using Y1-Y3.
#define EXP8 \
	VMOVUPS tc_lo<>(SB), Y1     \
	VMAXPS  Y0, Y1, Y0          \
	VMOVUPS tc_hi<>(SB), Y1     \
	VMINPS  Y0, Y1, Y0          \
	VMULPS  tc_log2e<>(SB), Y0, Y1 \
	VADDPS  tc_magic<>(SB), Y1, Y1 \
	VSUBPS  tc_magic<>(SB), Y1, Y2 \
	VPSUBD  tc_magic<>(SB), Y1, Y1 \
	VMULPS  tc_c1<>(SB), Y2, Y3 \
	VSUBPS  Y3, Y0, Y0          \
	VMULPS  tc_c2<>(SB), Y2, Y3 \
	VSUBPS  Y3, Y0, Y0          \
	VMULPS  tc_p6<>(SB), Y0, Y2 \
	VADDPS  tc_p5<>(SB), Y2, Y2 \
	VMULPS  Y0, Y2, Y2          \
	VADDPS  tc_p4<>(SB), Y2, Y2 \
	VMULPS  Y0, Y2, Y2          \
	VADDPS  tc_p3<>(SB), Y2, Y2 \
	VMULPS  Y0, Y2, Y2          \
	VADDPS  tc_p2<>(SB), Y2, Y2 \
	VMULPS  Y0, Y0, Y3          \
	VMULPS  Y3, Y2, Y2          \
	VADDPS  Y0, Y2, Y2          \
	VADDPS  tc_one<>(SB), Y2, Y2 \
	VPSRAD  $1, Y1, Y3          \
	VPSUBD  Y3, Y1, Y1          \
	VPADDD  tc_bias<>(SB), Y3, Y3 \
	VPADDD  tc_bias<>(SB), Y1, Y1 \
	VPSLLD  $23, Y3, Y3         \
	VPSLLD  $23, Y1, Y1         \
	VMULPS  Y3, Y2, Y2          \
	VMULPS  Y1, Y2, Y0

// func expF32(dst, x *float32, shift float32, n int): dst[i] = Exp32(x[i] - shift), n a multiple of 8
TEXT ·expF32(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	VBROADCASTSS shift+16(FP), Y15
	MOVQ         n+24(FP), CX

loop:
	CMPQ    CX, $8
	JL      done
	VMOVUPS (SI), Y0
	VSUBPS  Y15, Y0, Y0
	EXP8
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     loop

done:
	VZEROUPPER
	RET

// func tanhF32(dst, x *float32, n int): dst[i] = Tanh32(x[i]), n a multiple of 8
TEXT ·tanhF32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	CMPQ    CX, $8
	JL      done
	VMOVUPS (SI), Y0
	VANDPS  tc_abs<>(SB), Y0, Y5 // a = |x|
	VXORPS  Y5, Y0, Y6           // x's sign bit

	// Small |x|: a + (a·a²)·P(a²).
	VMULPS Y5, Y5, Y7
	VMULPS tc_t4<>(SB), Y7, Y8
	VADDPS tc_t3<>(SB), Y8, Y8
	VMULPS Y7, Y8, Y8
	VADDPS tc_t2<>(SB), Y8, Y8
	VMULPS Y7, Y8, Y8
	VADDPS tc_t1<>(SB), Y8, Y8
	VMULPS Y7, Y8, Y8
	VADDPS tc_t0<>(SB), Y8, Y8
	VMULPS Y7, Y5, Y9
	VMULPS Y9, Y8, Y8
	VADDPS Y5, Y8, Y8

	// Otherwise 1 - 2/(e^{2a}+1).
	VADDPS  Y5, Y5, Y0
	EXP8
	VADDPS  tc_one<>(SB), Y0, Y0
	VMOVUPS tc_two<>(SB), Y1
	VDIVPS  Y0, Y1, Y1
	VMOVUPS tc_one<>(SB), Y0
	VSUBPS  Y1, Y0, Y0

	VCMPPS    $1, tc_thr<>(SB), Y5, Y2 // a < tanhSmall (false for NaN)
	VBLENDVPS Y2, Y8, Y0, Y0
	VORPS     Y6, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JMP       loop

done:
	VZEROUPPER
	RET

// func sigmoidF32(dst, x *float32, n int): dst[i] = Sigmoid32(x[i]), n a multiple of 8
TEXT ·sigmoidF32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	CMPQ    CX, $8
	JL      done
	VMOVUPS (SI), Y5
	VORPS   tc_sign<>(SB), Y5, Y0 // -|x|
	EXP8
	VADDPS  tc_one<>(SB), Y0, Y1  // d = e + 1
	VSUBPS  tc_one<>(SB), Y1, Y4
	VSUBPS  Y4, Y0, Y4            // dl = e - (d - 1)
	VXORPS  Y2, Y2, Y2
	VCMPPS  $1, Y2, Y5, Y2        // x < 0
	VMOVUPS tc_one<>(SB), Y3

	// q = e/d for negative x, 1/d otherwise; then q - q·dl·(1/d).
	VBLENDVPS Y2, Y0, Y3, Y3
	VDIVPS    Y1, Y3, Y0
	VMOVUPS   tc_one<>(SB), Y3
	VSUBPS    Y0, Y3, Y3
	VBLENDVPS Y2, Y3, Y0, Y3
	VMULPS    Y4, Y0, Y4
	VMULPS    Y3, Y4, Y4
	VSUBPS    Y4, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JMP       loop

done:
	VZEROUPPER
	RET

// Constants of the GELU loops (gelu.go).

DATA gl_wmax<>+0(SB)/4, $0x41800000
DATA gl_wmax<>+4(SB)/4, $0x41800000
DATA gl_wmax<>+8(SB)/4, $0x41800000
DATA gl_wmax<>+12(SB)/4, $0x41800000
DATA gl_wmax<>+16(SB)/4, $0x41800000
DATA gl_wmax<>+20(SB)/4, $0x41800000
DATA gl_wmax<>+24(SB)/4, $0x41800000
DATA gl_wmax<>+28(SB)/4, $0x41800000
GLOBL gl_wmax<>(SB), RODATA|NOPTR, $32

DATA gl_negwmax<>+0(SB)/4, $0xc1800000
DATA gl_negwmax<>+4(SB)/4, $0xc1800000
DATA gl_negwmax<>+8(SB)/4, $0xc1800000
DATA gl_negwmax<>+12(SB)/4, $0xc1800000
DATA gl_negwmax<>+16(SB)/4, $0xc1800000
DATA gl_negwmax<>+20(SB)/4, $0xc1800000
DATA gl_negwmax<>+24(SB)/4, $0xc1800000
DATA gl_negwmax<>+28(SB)/4, $0xc1800000
GLOBL gl_negwmax<>(SB), RODATA|NOPTR, $32

DATA gl_hd0<>+0(SB)/8, $0x3fd20dc848c6f681
DATA gl_hd0<>+8(SB)/8, $0x3fd20dc848c6f681
DATA gl_hd0<>+16(SB)/8, $0x3fd20dc848c6f681
DATA gl_hd0<>+24(SB)/8, $0x3fd20dc848c6f681
GLOBL gl_hd0<>(SB), RODATA|NOPTR, $32

DATA gl_hd1<>+0(SB)/8, $0x3fd20f5d9f0c6526
DATA gl_hd1<>+8(SB)/8, $0x3fd20f5d9f0c6526
DATA gl_hd1<>+16(SB)/8, $0x3fd20f5d9f0c6526
DATA gl_hd1<>+24(SB)/8, $0x3fd20f5d9f0c6526
GLOBL gl_hd1<>(SB), RODATA|NOPTR, $32

DATA gl_hd2<>+0(SB)/8, $0x3fcf77d294b90ab0
DATA gl_hd2<>+8(SB)/8, $0x3fcf77d294b90ab0
DATA gl_hd2<>+16(SB)/8, $0x3fcf77d294b90ab0
DATA gl_hd2<>+24(SB)/8, $0x3fcf77d294b90ab0
GLOBL gl_hd2<>(SB), RODATA|NOPTR, $32

DATA gl_hd3<>+0(SB)/8, $0x3fc7428b9190019f
DATA gl_hd3<>+8(SB)/8, $0x3fc7428b9190019f
DATA gl_hd3<>+16(SB)/8, $0x3fc7428b9190019f
DATA gl_hd3<>+24(SB)/8, $0x3fc7428b9190019f
GLOBL gl_hd3<>(SB), RODATA|NOPTR, $32

DATA gl_hd4<>+0(SB)/8, $0x3fb1ae82a128906e
DATA gl_hd4<>+8(SB)/8, $0x3fb1ae82a128906e
DATA gl_hd4<>+16(SB)/8, $0x3fb1ae82a128906e
DATA gl_hd4<>+24(SB)/8, $0x3fb1ae82a128906e
GLOBL gl_hd4<>(SB), RODATA|NOPTR, $32

DATA gl_hd5<>+0(SB)/8, $0x3f541a1af6f12b80
DATA gl_hd5<>+8(SB)/8, $0x3f541a1af6f12b80
DATA gl_hd5<>+16(SB)/8, $0x3f541a1af6f12b80
DATA gl_hd5<>+24(SB)/8, $0x3f541a1af6f12b80
GLOBL gl_hd5<>(SB), RODATA|NOPTR, $32

DATA gl_hd6<>+0(SB)/8, $0x3fa0eb89570144e5
DATA gl_hd6<>+8(SB)/8, $0x3fa0eb89570144e5
DATA gl_hd6<>+16(SB)/8, $0x3fa0eb89570144e5
DATA gl_hd6<>+24(SB)/8, $0x3fa0eb89570144e5
GLOBL gl_hd6<>(SB), RODATA|NOPTR, $32

DATA gl_hd7<>+0(SB)/8, $0xbfd648789624b842
DATA gl_hd7<>+8(SB)/8, $0xbfd648789624b842
DATA gl_hd7<>+16(SB)/8, $0xbfd648789624b842
DATA gl_hd7<>+24(SB)/8, $0xbfd648789624b842
GLOBL gl_hd7<>(SB), RODATA|NOPTR, $32

DATA gl_hd8<>+0(SB)/8, $0x3fdaf2514072cc28
DATA gl_hd8<>+8(SB)/8, $0x3fdaf2514072cc28
DATA gl_hd8<>+16(SB)/8, $0x3fdaf2514072cc28
DATA gl_hd8<>+24(SB)/8, $0x3fdaf2514072cc28
GLOBL gl_hd8<>(SB), RODATA|NOPTR, $32

DATA gl_hd9<>+0(SB)/8, $0xbfca6ca61b09effe
DATA gl_hd9<>+8(SB)/8, $0xbfca6ca61b09effe
DATA gl_hd9<>+16(SB)/8, $0xbfca6ca61b09effe
DATA gl_hd9<>+24(SB)/8, $0xbfca6ca61b09effe
GLOBL gl_hd9<>(SB), RODATA|NOPTR, $32

DATA gl_hd10<>+0(SB)/8, $0x3fa3a7cbf56c020c
DATA gl_hd10<>+8(SB)/8, $0x3fa3a7cbf56c020c
DATA gl_hd10<>+16(SB)/8, $0x3fa3a7cbf56c020c
DATA gl_hd10<>+24(SB)/8, $0x3fa3a7cbf56c020c
GLOBL gl_hd10<>(SB), RODATA|NOPTR, $32

DATA gl_kd<>+0(SB)/8, $0x4006a09e667f3bcd
DATA gl_kd<>+8(SB)/8, $0x4006a09e667f3bcd
DATA gl_kd<>+16(SB)/8, $0x4006a09e667f3bcd
DATA gl_kd<>+24(SB)/8, $0x4006a09e667f3bcd
GLOBL gl_kd<>(SB), RODATA|NOPTR, $32

DATA gl_halfd<>+0(SB)/8, $0x3fe0000000000000
DATA gl_halfd<>+8(SB)/8, $0x3fe0000000000000
DATA gl_halfd<>+16(SB)/8, $0x3fe0000000000000
DATA gl_halfd<>+24(SB)/8, $0x3fe0000000000000
GLOBL gl_halfd<>(SB), RODATA|NOPTR, $32

DATA gl_neghalf<>+0(SB)/4, $0xbf000000
DATA gl_neghalf<>+4(SB)/4, $0xbf000000
DATA gl_neghalf<>+8(SB)/4, $0xbf000000
DATA gl_neghalf<>+12(SB)/4, $0xbf000000
DATA gl_neghalf<>+16(SB)/4, $0xbf000000
DATA gl_neghalf<>+20(SB)/4, $0xbf000000
DATA gl_neghalf<>+24(SB)/4, $0xbf000000
DATA gl_neghalf<>+28(SB)/4, $0xbf000000
GLOBL gl_neghalf<>(SB), RODATA|NOPTR, $32

DATA gl_half<>+0(SB)/4, $0x3f000000
DATA gl_half<>+4(SB)/4, $0x3f000000
DATA gl_half<>+8(SB)/4, $0x3f000000
DATA gl_half<>+12(SB)/4, $0x3f000000
DATA gl_half<>+16(SB)/4, $0x3f000000
DATA gl_half<>+20(SB)/4, $0x3f000000
DATA gl_half<>+24(SB)/4, $0x3f000000
DATA gl_half<>+28(SB)/4, $0x3f000000
GLOBL gl_half<>(SB), RODATA|NOPTR, $32

DATA gl_isq2pi<>+0(SB)/4, $0x3ecc422a
DATA gl_isq2pi<>+4(SB)/4, $0x3ecc422a
DATA gl_isq2pi<>+8(SB)/4, $0x3ecc422a
DATA gl_isq2pi<>+12(SB)/4, $0x3ecc422a
DATA gl_isq2pi<>+16(SB)/4, $0x3ecc422a
DATA gl_isq2pi<>+20(SB)/4, $0x3ecc422a
DATA gl_isq2pi<>+24(SB)/4, $0x3ecc422a
DATA gl_isq2pi<>+28(SB)/4, $0x3ecc422a
GLOBL gl_isq2pi<>(SB), RODATA|NOPTR, $32

DATA gl_split<>+0(SB)/4, $0xfffff000
DATA gl_split<>+4(SB)/4, $0xfffff000
DATA gl_split<>+8(SB)/4, $0xfffff000
DATA gl_split<>+12(SB)/4, $0xfffff000
DATA gl_split<>+16(SB)/4, $0xfffff000
DATA gl_split<>+20(SB)/4, $0xfffff000
DATA gl_split<>+24(SB)/4, $0xfffff000
DATA gl_split<>+28(SB)/4, $0xfffff000
GLOBL gl_split<>(SB), RODATA|NOPTR, $32

// ESTRIN sets OUT = h(u) for the four float64 lanes of u in U, as
// erfTailH of gelu.go, using Y0, Y12, Y13 and Y15.
#define ESTRIN(U, OUT) \
	VMULPD    U, U, Y12                \
	VMULPD    Y12, Y12, Y13            \
	VMULPD    gl_hd1<>(SB), U, OUT     \
	VADDPD    gl_hd0<>(SB), OUT, OUT   \
	VMULPD    gl_hd3<>(SB), U, Y15     \
	VADDPD    gl_hd2<>(SB), Y15, Y15   \
	VMULPD    Y12, Y15, Y15            \
	VADDPD    Y15, OUT, OUT            \
	VMULPD    gl_hd5<>(SB), U, Y15     \
	VADDPD    gl_hd4<>(SB), Y15, Y15   \
	VMULPD    gl_hd7<>(SB), U, Y0      \
	VADDPD    gl_hd6<>(SB), Y0, Y0     \
	VMULPD    Y12, Y0, Y0              \
	VADDPD    Y0, Y15, Y15             \
	VMULPD    Y13, Y15, Y15            \
	VADDPD    Y15, OUT, OUT            \
	VMULPD    gl_hd9<>(SB), U, Y15     \
	VADDPD    gl_hd8<>(SB), Y15, Y15   \
	VMULPD    gl_hd10<>(SB), Y12, Y0   \
	VADDPD    Y0, Y15, Y15             \
	VMULPD    Y13, Y13, Y13            \
	VMULPD    Y13, Y15, Y15            \
	VADDPD    Y15, OUT, OUT

// GELU8 computes, for x in Y5, what geluParts of gelu.go returns and
// Φ(-|x|): Y4 = xc (x clamped to ±16), Y9 = ct, Y2 = p, Y3 = s1,
// Y1 = s2 (the parts of e^(-x²/2) from expSplit), Y10 = Φ(-|x|) and
// Y13 = the lanes where x > 0. It uses Y0-Y4 and Y6-Y13.
#define GELU8 \
	VANDPS    tc_abs<>(SB), Y5, Y6     \
	VMOVUPS   gl_wmax<>(SB), Y1        \
	VMINPS    Y6, Y1, Y6               \
	VMOVUPS   gl_negwmax<>(SB), Y1     \
	VMAXPS    Y5, Y1, Y4               \
	VMOVUPS   gl_wmax<>(SB), Y1        \
	VMINPS    Y4, Y1, Y4               \
	VCVTPS2PD X6, Y7                   \
	VEXTRACTF128 $1, Y6, X8            \
	VCVTPS2PD X8, Y8                   \
	VMOVUPD   gl_kd<>(SB), Y11         \
	VADDPD    Y11, Y7, Y10             \
	VDIVPD    Y10, Y11, Y10            \
	VADDPD    Y11, Y8, Y12             \
	VDIVPD    Y12, Y11, Y11            \
	ESTRIN(Y10, Y7)                    \
	ESTRIN(Y11, Y8)                    \
	VMULPD    Y10, Y7, Y7              \
	VMULPD    Y11, Y8, Y8              \
	VMULPD    gl_halfd<>(SB), Y7, Y7   \
	VMULPD    gl_halfd<>(SB), Y8, Y8   \
	VCVTPD2PSY Y7, X7                  \
	VCVTPD2PSY Y8, X8                  \
	VINSERTF128 $1, X8, Y7, Y9         \
	VANDPS    gl_split<>(SB), Y6, Y10  \
	VSUBPS    Y10, Y6, Y11             \
	VMULPS    Y10, Y10, Y0             \
	VMULPS    gl_neghalf<>(SB), Y0, Y0 \
	VADDPS    Y10, Y6, Y12             \
	VMULPS    Y12, Y11, Y12            \
	VMULPS    gl_neghalf<>(SB), Y12, Y12 \
	VADDPS    Y12, Y0, Y1              \
	VMULPS    tc_log2e<>(SB), Y1, Y1   \
	VADDPS    tc_magic<>(SB), Y1, Y1   \
	VSUBPS    tc_magic<>(SB), Y1, Y2   \
	VPSUBD    tc_magic<>(SB), Y1, Y1   \
	VMULPS    tc_c1<>(SB), Y2, Y3      \
	VSUBPS    Y3, Y0, Y0               \
	VADDPS    Y12, Y0, Y0              \
	VMULPS    tc_c2<>(SB), Y2, Y3      \
	VSUBPS    Y3, Y0, Y0               \
	VMULPS    tc_p6<>(SB), Y0, Y2      \
	VADDPS    tc_p5<>(SB), Y2, Y2      \
	VMULPS    Y0, Y2, Y2               \
	VADDPS    tc_p4<>(SB), Y2, Y2      \
	VMULPS    Y0, Y2, Y2               \
	VADDPS    tc_p3<>(SB), Y2, Y2      \
	VMULPS    Y0, Y2, Y2               \
	VADDPS    tc_p2<>(SB), Y2, Y2      \
	VMULPS    Y0, Y0, Y3               \
	VMULPS    Y3, Y2, Y2               \
	VADDPS    Y0, Y2, Y2               \
	VADDPS    tc_one<>(SB), Y2, Y2     \
	VPSRAD    $1, Y1, Y3               \
	VPSUBD    Y3, Y1, Y1               \
	VPADDD    tc_bias<>(SB), Y3, Y3    \
	VPADDD    tc_bias<>(SB), Y1, Y1    \
	VPSLLD    $23, Y3, Y3              \
	VPSLLD    $23, Y1, Y1              \
	VMULPS    Y9, Y2, Y10              \
	VMULPS    Y3, Y10, Y10             \
	VMULPS    Y1, Y10, Y10             \
	VXORPS    Y13, Y13, Y13            \
	VCMPPS    $1, Y5, Y13, Y13

// GELUDERIV8 sets Y0 = GELUDeriv32(x) after GELU8.
#define GELUDERIV8 \
	VMULPS    gl_isq2pi<>(SB), Y4, Y12 \
	VMULPS    Y12, Y2, Y12             \
	VMULPS    Y3, Y12, Y12             \
	VMULPS    Y1, Y12, Y12             \
	VMOVUPS   tc_one<>(SB), Y11        \
	VSUBPS    Y10, Y11, Y11            \
	VBLENDVPS Y13, Y11, Y10, Y10       \
	VADDPS    Y12, Y10, Y0

// func geluF32(dst, x *float32, n int): dst[i] = GELU32(x[i]), n a multiple of 8
TEXT ·geluF32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	CMPQ    CX, $8
	JL      done
	VMOVUPS (SI), Y5
	GELU8

	// x·(1 - Φ(-x)) for x > 0, else (p·(xc·ct))·s1·s2.
	VMOVUPS   tc_one<>(SB), Y11
	VSUBPS    Y10, Y11, Y11
	VMULPS    Y11, Y5, Y11
	VMULPS    Y9, Y4, Y12
	VMULPS    Y12, Y2, Y12
	VMULPS    Y3, Y12, Y12
	VMULPS    Y1, Y12, Y12
	VBLENDVPS Y13, Y11, Y12, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JMP       loop

done:
	VZEROUPPER
	RET

// func geluDerivF32(dst, x *float32, n int): dst[i] = GELUDeriv32(x[i]), n a multiple of 8
TEXT ·geluDerivF32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	CMPQ    CX, $8
	JL      done
	VMOVUPS (SI), Y5
	GELU8
	GELUDERIV8
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     loop

done:
	VZEROUPPER
	RET

// func geluBackwardF32(dst, grad, x *float32, n int): dst[i] = grad[i]·GELUDeriv32(x[i]), n a multiple of 8
TEXT ·geluBackwardF32(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ grad+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX

loop:
	CMPQ    CX, $8
	JL      done
	VMOVUPS (SI), Y5
	GELU8
	GELUDERIV8
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     loop

done:
	VZEROUPPER
	RET

// ZESTRIN is ESTRIN on the eight float64 lanes of U, using Z0, Z12, Z13
// and Z15.
#define ZESTRIN(U, OUT) \
	VMULPD    U, U, Z12                \
	VMULPD    Z12, Z12, Z13            \
	VMULPD.BCST    gl_hd1<>(SB), U, OUT     \
	VADDPD.BCST    gl_hd0<>(SB), OUT, OUT   \
	VMULPD.BCST    gl_hd3<>(SB), U, Z15     \
	VADDPD.BCST    gl_hd2<>(SB), Z15, Z15   \
	VMULPD    Z12, Z15, Z15            \
	VADDPD    Z15, OUT, OUT            \
	VMULPD.BCST    gl_hd5<>(SB), U, Z15     \
	VADDPD.BCST    gl_hd4<>(SB), Z15, Z15   \
	VMULPD.BCST    gl_hd7<>(SB), U, Z0      \
	VADDPD.BCST    gl_hd6<>(SB), Z0, Z0     \
	VMULPD    Z12, Z0, Z0              \
	VADDPD    Z0, Z15, Z15             \
	VMULPD    Z13, Z15, Z15            \
	VADDPD    Z15, OUT, OUT            \
	VMULPD.BCST    gl_hd9<>(SB), U, Z15     \
	VADDPD.BCST    gl_hd8<>(SB), Z15, Z15   \
	VMULPD.BCST    gl_hd10<>(SB), Z12, Z0   \
	VADDPD    Z0, Z15, Z15             \
	VMULPD    Z13, Z13, Z13            \
	VMULPD    Z13, Z15, Z15            \
	VADDPD    Z15, OUT, OUT

// ZGELU16 is GELU8 on sixteen lanes, AVX-512F only (constants broadcast
// from their first element): for x in Z5, Z4 = xc, Z9 = ct, Z2 = p,
// Z3 = s1, Z1 = s2, Z10 = Φ(-|x|) and the mask K1 = the lanes where
// x > 0. It uses Z0-Z4 and Z6-Z13.
#define ZGELU16 \
	VPANDD.BCST tc_abs<>(SB), Z5, Z6     \
	VBROADCASTSS gl_wmax<>(SB), Z1        \
	VMINPS    Z6, Z1, Z6               \
	VBROADCASTSS gl_negwmax<>(SB), Z1     \
	VMAXPS    Z5, Z1, Z4               \
	VBROADCASTSS gl_wmax<>(SB), Z1        \
	VMINPS    Z4, Z1, Z4               \
	VCVTPS2PD Y6, Z7                   \
	VEXTRACTF64X4 $1, Z6, Y8            \
	VCVTPS2PD Y8, Z8                   \
	VBROADCASTSD gl_kd<>(SB), Z11         \
	VADDPD    Z11, Z7, Z10             \
	VDIVPD    Z10, Z11, Z10            \
	VADDPD    Z11, Z8, Z12             \
	VDIVPD    Z12, Z11, Z11            \
	ZESTRIN(Z10, Z7)                    \
	ZESTRIN(Z11, Z8)                    \
	VMULPD    Z10, Z7, Z7              \
	VMULPD    Z11, Z8, Z8              \
	VMULPD.BCST    gl_halfd<>(SB), Z7, Z7   \
	VMULPD.BCST    gl_halfd<>(SB), Z8, Z8   \
	VCVTPD2PS Z7, Y7                  \
	VCVTPD2PS Z8, Y8                  \
	VINSERTF64X4 $1, Y8, Z7, Z9         \
	VPANDD.BCST gl_split<>(SB), Z6, Z10  \
	VSUBPS    Z10, Z6, Z11             \
	VMULPS    Z10, Z10, Z0             \
	VMULPS.BCST    gl_neghalf<>(SB), Z0, Z0 \
	VADDPS    Z10, Z6, Z12             \
	VMULPS    Z12, Z11, Z12            \
	VMULPS.BCST    gl_neghalf<>(SB), Z12, Z12 \
	VADDPS    Z12, Z0, Z1              \
	VMULPS.BCST    tc_log2e<>(SB), Z1, Z1   \
	VADDPS.BCST    tc_magic<>(SB), Z1, Z1   \
	VSUBPS.BCST    tc_magic<>(SB), Z1, Z2   \
	VPSUBD.BCST tc_magic<>(SB), Z1, Z1   \
	VMULPS.BCST    tc_c1<>(SB), Z2, Z3      \
	VSUBPS    Z3, Z0, Z0               \
	VADDPS    Z12, Z0, Z0              \
	VMULPS.BCST    tc_c2<>(SB), Z2, Z3      \
	VSUBPS    Z3, Z0, Z0               \
	VMULPS.BCST    tc_p6<>(SB), Z0, Z2      \
	VADDPS.BCST    tc_p5<>(SB), Z2, Z2      \
	VMULPS    Z0, Z2, Z2               \
	VADDPS.BCST    tc_p4<>(SB), Z2, Z2      \
	VMULPS    Z0, Z2, Z2               \
	VADDPS.BCST    tc_p3<>(SB), Z2, Z2      \
	VMULPS    Z0, Z2, Z2               \
	VADDPS.BCST    tc_p2<>(SB), Z2, Z2      \
	VMULPS    Z0, Z0, Z3               \
	VMULPS    Z3, Z2, Z2               \
	VADDPS    Z0, Z2, Z2               \
	VADDPS.BCST    tc_one<>(SB), Z2, Z2     \
	VPSRAD    $1, Z1, Z3               \
	VPSUBD    Z3, Z1, Z1               \
	VPADDD.BCST tc_bias<>(SB), Z3, Z3    \
	VPADDD.BCST tc_bias<>(SB), Z1, Z1    \
	VPSLLD    $23, Z3, Z3              \
	VPSLLD    $23, Z1, Z1              \
	VMULPS    Z9, Z2, Z10              \
	VMULPS    Z3, Z10, Z10             \
	VMULPS    Z1, Z10, Z10             \
	VPXORD    Z13, Z13, Z13            \
	VCMPPS    $1, Z5, Z13, K1

// ZGELUDERIV16 sets Z0 = GELUDeriv32(x) after ZGELU16.
#define ZGELUDERIV16 \
	VMULPS.BCST    gl_isq2pi<>(SB), Z4, Z12 \
	VMULPS    Z12, Z2, Z12             \
	VMULPS    Z3, Z12, Z12             \
	VMULPS    Z1, Z12, Z12             \
	VBROADCASTSS tc_one<>(SB), Z11        \
	VSUBPS    Z10, Z11, Z11            \
	VBLENDMPS Z11, Z10, K1, Z10       \
	VADDPS    Z12, Z10, Z0


// func geluF32x16(dst, x *float32, n int): geluF32 sixteen values at a
// time, n a multiple of 16.
TEXT ·geluF32x16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	CMPQ    CX, $16
	JL      done
	VMOVUPS (SI), Z5
	ZGELU16
	VBROADCASTSS tc_one<>(SB), Z11
	VSUBPS    Z10, Z11, Z11
	VMULPS    Z11, Z5, Z11
	VMULPS    Z9, Z4, Z12
	VMULPS    Z12, Z2, Z12
	VMULPS    Z3, Z12, Z12
	VMULPS    Z1, Z12, Z12
	VBLENDMPS Z11, Z12, K1, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JMP       loop

done:
	VZEROUPPER
	RET

// func geluBackwardF32x16(dst, grad, x *float32, n int): geluBackwardF32
// sixteen values at a time, n a multiple of 16.
TEXT ·geluBackwardF32x16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ grad+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX

loop:
	CMPQ    CX, $16
	JL      done
	VMOVUPS (SI), Z5
	ZGELU16
	ZGELUDERIV16
	VMULPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     loop

done:
	VZEROUPPER
	RET
