package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The reduction kernels take vector paths on contiguous runs (AVX2
// assembly on amd64). These tests compare them, bit for bit, with plain
// loops that state the kernels' definitions, on data full of the values
// where vector instructions and Go's comparisons part ways: NaNs with
// different payloads, infinities, both zeros and repeated values.

// bitsOf is the bit pattern of v, so that comparisons see NaN payloads and
// the sign of zero.
func bitsOf[T Float](v T) uint64 {
	if isF32[T]() {
		return uint64(math.Float32bits(float32(v)))
	}
	return math.Float64bits(float64(v))
}

var nan32s = []float32{
	float32(math.NaN()),
	math.Float32frombits(0xffc00000), // the x86 default NaN, negative
	math.Float32frombits(0x7fc00123),
	math.Float32frombits(0xff800042), // signalling, quieted by arithmetic
}

var nan64s = []float64{
	math.NaN(),
	math.Float64frombits(0xfff8000000000000),
	math.Float64frombits(0x7ff8000000000123),
	math.Float64frombits(0xfff0000000000042),
}

// testData is n values of one of several kinds: 0 plain random, 1 random
// with some NaN, infinities and zeros, 2 only zeros and negatives (the max
// is a zero), 3 few distinct values (ties everywhere), 4 specials at rate
// 1/2.
func testData[T Float](rng *rand.Rand, n, kind int) []T {
	x := make([]T, n)
	for i := range x {
		v := T(rng.NormFloat64())
		switch kind {
		case 1, 4:
			if rng.IntN(20) == 0 || (kind == 4 && rng.IntN(2) == 0) {
				v = special[T](rng)
			}
		case 2:
			switch rng.IntN(3) {
			case 0:
				v = T(math.Copysign(0, -1))
			case 1:
				v = 0
			default:
				v = -T(rng.IntN(3))
			}
		case 3:
			v = T(rng.IntN(3) - 1)
			if v == 0 && rng.IntN(2) == 0 {
				v = T(math.Copysign(0, -1))
			}
		}
		x[i] = v
	}
	return x
}

func special[T Float](rng *rand.Rand) T {
	switch rng.IntN(6) {
	case 0:
		if isF32[T]() {
			return T(nan32s[rng.IntN(len(nan32s))])
		}
		return T(nan64s[rng.IntN(len(nan64s))])
	case 1:
		return T(math.Inf(1))
	case 2:
		return T(math.Inf(-1))
	case 3:
		return T(math.Copysign(0, -1))
	case 4:
		return 0
	}
	return 1
}

// testLens are the run lengths tried: every short one, around the vector
// widths and unrolling, and a few long ones.
func testLens() []int {
	var ns []int
	for n := range 71 {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 255, 1000, 1024, 4099)
}

func refSumLanes[T Float](x []T, px, sx, n, r int, acc *[Lanes]float64) {
	for i := range n {
		acc[(r+i)&(Lanes-1)] += float64(x[px+i*sx])
	}
}

func refSqDev[T Float](x []T, px, sx, n, r int, c float64, acc *[Lanes]float64) {
	for i := range n {
		d := float64(x[px+i*sx]) - c
		acc[(r+i)&(Lanes-1)] += float64(d * d)
	}
}

func randAcc(rng *rand.Rand) [Lanes]float64 {
	var a [Lanes]float64
	for l := range a {
		if rng.IntN(4) > 0 {
			a[l] = rng.NormFloat64()
		}
	}
	return a
}

// sameLanes compares sums bit for bit, except that any NaN matches any
// NaN: which operand's payload an addition of two NaNs keeps depends on the
// registers the compiler picks, and the Go loops themselves differ there
// (the strided loop and the contiguous one).
func sameLanes(a, b *[Lanes]float64) bool {
	for l := range a {
		if !sameSum(a[l], b[l]) {
			return false
		}
	}
	return true
}

func sameSum(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

func testSums[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range testLens() {
		for kind := range 5 {
			for r := range 6 {
				for _, sx := range []int{1, 2} {
					px := rng.IntN(3)
					x := testData[T](rng, px+n*sx+1, kind)
					acc0 := randAcc(rng)
					got, want := acc0, acc0
					SumLanes(x, px, sx, n, r, &got)
					refSumLanes(x, px, sx, n, r, &want)
					if !sameLanes(&got, &want) {
						t.Fatalf("SumLanes n=%d kind=%d r=%d sx=%d: %v, want %v", n, kind, r, sx, got, want)
					}
					c := rng.NormFloat64()
					got, want = acc0, acc0
					SumSqDevLanes(x, px, sx, n, r, c, &got)
					refSqDev(x, px, sx, n, r, c, &want)
					if !sameLanes(&got, &want) {
						t.Fatalf("SumSqDevLanes n=%d kind=%d r=%d sx=%d: %v, want %v", n, kind, r, sx, got, want)
					}
				}
			}
		}
	}
}

func TestSumLanesVec(t *testing.T) {
	t.Run("f32", testSums[float32])
	t.Run("f64", testSums[float64])
}

func testSumRuns[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range testLens() {
		for _, runs := range []int{0, 1, 3, 4, 5, 8, 9} {
			for r := range 5 {
				sx := 1
				if rng.IntN(5) == 0 {
					sx = 2
				}
				px, rs := rng.IntN(3), n*sx+rng.IntN(3)
				x := testData[T](rng, px+runs*rs+n*sx, rng.IntN(5))
				got := make([][Lanes]float64, runs)
				for k := range got {
					got[k] = randAcc(rng)
				}
				want := append([][Lanes]float64(nil), got...)
				SumLanesRuns(x, px, sx, n, r, rs, got)
				for k := range want {
					refSumLanes(x, px+k*rs, sx, n, r, &want[k])
					if !sameLanes(&got[k], &want[k]) {
						t.Fatalf("SumLanesRuns n=%d runs=%d r=%d sx=%d run %d: %v, want %v", n, runs, r, sx, k, got[k], want[k])
					}
				}
			}
		}
	}
}

func TestSumLanesRunsVec(t *testing.T) {
	t.Run("f32", testSumRuns[float32])
	t.Run("f64", testSumRuns[float64])
}

func testAccumSqDev[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range testLens() {
		for kind := range 5 {
			x := testData[T](rng, n, kind)
			c := testData[float64](rng, n, kind)
			got := testData[float64](rng, n, 0)
			want := append([]float64(nil), got...)
			AccumSqDevCol(got, 0, 1, x, 0, 1, n, c)
			for i := range n {
				d := float64(x[i]) - c[i]
				want[i] += float64(d * d)
				if !sameSum(got[i], want[i]) {
					t.Fatalf("AccumSqDevCol n=%d kind=%d [%d]: %v, want %v", n, kind, i, got[i], want[i])
				}
			}
		}
	}
}

func TestAccumSqDevColVec(t *testing.T) {
	t.Run("f32", testAccumSqDev[float32])
	t.Run("f64", testAccumSqDev[float64])
}

func refExtremeRun[T Float](x []T, acc T, isMax bool) T {
	for _, v := range x {
		if (isMax && v > acc) || (!isMax && v < acc) || v != v {
			acc = v
		}
	}
	return acc
}

func testExtremes[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range testLens() {
		for kind := range 5 {
			for try := range 4 {
				x := testData[T](rng, n+2, kind)
				var acc T
				switch try {
				case 0:
					if n > 0 {
						acc = x[1]
					}
				case 1:
					acc = special[T](rng)
				case 2:
					acc = T(math.Copysign(0, -1))
				default:
					acc = T(rng.NormFloat64())
				}
				for _, isMax := range []bool{true, false} {
					name := fmt.Sprintf("max=%v n=%d kind=%d try=%d", isMax, n, kind, try)
					want := refExtremeRun(x[1:n+1], acc, isMax)
					var got T
					if isMax {
						got = MaxRun(x, 1, 1, n, acc)
					} else {
						got = MinRun(x, 1, 1, n, acc)
					}
					if bitsOf(got) != bitsOf(want) {
						t.Fatalf("Run %s: %v (%#x), want %v (%#x)", name, got, bitsOf(got), want, bitsOf(want))
					}
					a := testData[T](rng, n, kind)
					wantCol := append([]T(nil), a...)
					for i := range n {
						wantCol[i] = refExtremeRun(x[1+i:2+i], a[i], isMax)
					}
					if isMax {
						MaxCol(a, 0, 1, x, 1, 1, n, false)
					} else {
						MinCol(a, 0, 1, x, 1, 1, n, false)
					}
					for i := range n {
						if bitsOf(a[i]) != bitsOf(wantCol[i]) {
							t.Fatalf("Col %s [%d]: %v, want %v", name, i, a[i], wantCol[i])
						}
					}
					if isMax {
						MaxCol(a, 0, 1, x, 1, 1, n, true)
					} else {
						MinCol(a, 0, 1, x, 1, 1, n, true)
					}
					for i := range n {
						if bitsOf(a[i]) != bitsOf(x[1+i]) {
							t.Fatalf("Col init %s [%d]: %v, want %v", name, i, a[i], x[1+i])
						}
					}
				}
			}
		}
	}
}

func TestExtremesVec(t *testing.T) {
	t.Run("f32", testExtremes[float32])
	t.Run("f64", testExtremes[float64])
}

// BenchmarkSumRows sums 128 float32 rows of 512 one row at a time (one
// chain of additions per row) and four at a time (SumLanesRuns).
func BenchmarkSumRows(b *testing.B) {
	const rows, n = 128, 512
	x := testData[float32](rand.New(rand.NewPCG(1, 1)), rows*n, 0)
	acc := make([][Lanes]float64, rows)
	b.Run("SumLanes", func(b *testing.B) {
		b.SetBytes(4 * rows * n)
		for b.Loop() {
			for k := range acc {
				SumLanes(x, k*n, 1, n, 0, &acc[k])
			}
		}
	})
	b.Run("SumLanesRuns", func(b *testing.B) {
		b.SetBytes(4 * rows * n)
		for b.Loop() {
			SumLanesRuns(x, 0, 1, n, 0, n, acc)
		}
	})
}
