//go:build amd64 && !purego

package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The GEMM tiles and packing loops in assembly against the reference loops
// their doc comments give, bit for bit. (The other kernels' tests already
// compare them with their Go loops bit for bit.)

// fma32 is x*y + z rounded once to float32. Going through float64 would
// round twice; big.Float holds the exact value.
func fma32(x, y, z float32) float32 {
	var p, s big.Float
	p.SetPrec(200).Mul(big.NewFloat(float64(x)), big.NewFloat(float64(y)))
	s.SetPrec(200).Add(&p, big.NewFloat(float64(z)))
	f, _ := s.Float32()
	if f == 0 && (x*y == 0 && z == 0) { // the sign of an exact zero: IEEE's rule
		return x*y + z
	}
	return f
}

func fma64(x, y, z float64) float64 { return math.FMA(x, y, z) }

func refTile[T Float](mr, nr, kc int, alpha T, a, b []T, beta T, c []T, ldc int, fma func(x, y, z T) T) {
	for i := range mr {
		for j := range nr {
			var s T
			for p := range kc {
				s = fma(a[p*mr+i], b[p*nr+j], s)
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = fma(beta, c[i*ldc+j], T(alpha*s))
			}
		}
	}
}

func checkTiles[T Float](t *testing.T, name string, mr, nr int, tile func(kc int, alpha T, a, b []T, beta T, c []T, ldc int), fma func(x, y, z T) T) {
	rng := rand.New(rand.NewPCG(3, 4))
	val := func() T {
		if rng.IntN(8) == 0 {
			return 0
		}
		return T(rng.NormFloat64())
	}
	for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 13, 64} {
		for _, ab := range [][2]float64{{1, 0}, {-0.5, math.Copysign(0, -1)}, {1.25, 1}, {0.75, -2.5}} {
			alpha, beta := T(ab[0]), T(ab[1])
			ldc := nr + 3
			a, b := make([]T, mr*kc), make([]T, nr*kc)
			for i := range a {
				a[i] = val()
			}
			for i := range b {
				b[i] = val()
			}
			c := make([]T, mr*ldc)
			for i := range c {
				c[i] = val()
			}
			if beta == 0 {
				for i := range c {
					c[i] = T(math.NaN()) // not read when beta is zero
				}
			}
			want := append([]T(nil), c...)
			refTile(mr, nr, kc, alpha, a, b, beta, want, ldc, fma)
			tile(kc, alpha, a, b, beta, c, ldc)
			for i := range c {
				if c[i] != want[i] && !(c[i] != c[i] && want[i] != want[i]) {
					t.Fatalf("%s kc=%d alpha=%v beta=%v: c[%d] = %v, the reference loop gives %v", name, kc, alpha, beta, i, c[i], want[i])
				}
			}
		}
	}
}

func TestGemmTilesMatchReferenceLoop(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("no AVX2 and FMA")
	}
	checkTiles(t, "gemmAVX2F32", 6, 16, tileAVX2F32, fma32)
	checkTiles(t, "gemmAVX2F64", 6, 8, tileAVX2F64, fma64)
	if avx512Impl.missing != "" {
		t.Log("AVX-512 tiles not run:", avx512Impl.missing)
		return
	}
	checkTiles(t, "gemmAVX512F32", 12, 32, tileAVX512F32, fma32)
	checkTiles(t, "gemmAVX512F64", 12, 16, tileAVX512F64, fma64)
}

func TestPackRowsMatchesReferenceLoop(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, wb := range []int{24, 48, 64, 96, 128} {
		for _, rows := range []int{1, 2, 5} {
			for _, n := range []int{1, 3} {
				srcStride := n*wb + 8
				slStride := rows*wb + 16
				src := make([]byte, rows*srcStride)
				for i := range src {
					src[i] = byte(rng.Uint32())
				}
				dst, want := make([]byte, n*slStride), make([]byte, n*slStride)
				for i := range dst {
					dst[i] = byte(i)
				}
				copy(want, dst)
				for r := range rows {
					for s := range n {
						copy(want[s*slStride+r*wb:][:wb], src[r*srcStride+s*wb:][:wb])
					}
				}
				packRowsAVX(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), rows, srcStride, n, wb, slStride)
				if string(dst) != string(want) {
					t.Fatalf("packRowsAVX wb=%d rows=%d n=%d: not the reference copy", wb, rows, n)
				}
			}
		}
	}
}

func checkTranspose[T Float](t *testing.T, name string, group int, rowsList []int, tr func(dst, src unsafe.Pointer, dstStride, srcStride, blocks, rows int)) {
	rng := rand.New(rand.NewPCG(7, 8))
	size := int(unsafe.Sizeof(T(0)))
	for _, rows := range rowsList {
		for _, blocks := range []int{1, 2, 5} {
			cols := group * blocks
			srcStride, dstStride := cols+3, rows+2 // in values
			src := make([]T, rows*srcStride)
			for i := range src {
				src[i] = T(rng.NormFloat64())
			}
			dst := make([]T, cols*dstStride)
			for i := range dst {
				dst[i] = -1
			}
			want := append([]T(nil), dst...)
			for q := range rows {
				for p := range cols {
					want[p*dstStride+q] = src[q*srcStride+p]
				}
			}
			tr(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), dstStride*size, srcStride*size, blocks, rows)
			for i := range dst {
				if math.Float64bits(float64(dst[i])) != math.Float64bits(float64(want[i])) {
					t.Fatalf("%s rows=%d blocks=%d: dst[%d] = %v, want %v", name, rows, blocks, i, dst[i], want[i])
				}
			}
		}
	}
}

func TestTransposeMatchesReferenceLoop(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	checkTranspose[float32](t, "transposeF32AVX", 8, []int{8, 6, 4}, transposeF32AVX)
	checkTranspose[float64](t, "transposeF64AVX", 4, []int{4, 2}, transposeF64AVX)
}
