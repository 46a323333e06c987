package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The run kernels (and their assembly loops, where there are some) against
// plain loops, bit for bit, at every length around the loops' unrolling
// (32, 8 and the tail), at offsets, with every stride kind, and on values
// that include NaN, ±Inf and ±0.

func specialValues(rng *rand.Rand, n int) []float32 {
	sp := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1, -1}
	v := make([]float32, n)
	for i := range v {
		if rng.IntN(5) == 0 {
			v[i] = sp[rng.IntN(len(sp))]
		} else {
			v[i] = float32(rng.NormFloat64())
		}
	}
	return v
}

// sameF32 is bitwise equality (so +0 and -0 differ), NaN matching NaN.
func sameF32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func TestBinaryRunsFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kernels := []struct {
		name string
		k    func(dst, a []float32, pa, sa int, b []float32, pb, sb int)
		f    func(x, y float32) float32
	}{
		{"Add", AddRun[float32], func(x, y float32) float32 { return x + y }},
		{"Sub", SubRun[float32], func(x, y float32) float32 { return x - y }},
		{"Mul", MulRun[float32], func(x, y float32) float32 { return x * y }},
		{"Div", DivRun[float32], func(x, y float32) float32 { return x / y }},
	}
	strides := [][2]int{{1, 1}, {1, 0}, {0, 1}, {2, 1}, {0, 0}}
	for _, k := range kernels {
		for n := 0; n < 80; n++ {
			for _, st := range strides {
				a, b := specialValues(rng, 2*n+3), specialValues(rng, 2*n+3)
				pa, pb := 1, 2
				dst := make([]float32, n)
				k.k(dst, a, pa, st[0], b, pb, st[1])
				for i := range dst {
					if w := k.f(a[pa+i*st[0]], b[pb+i*st[1]]); !sameF32(dst[i], w) {
						t.Fatalf("%s n=%d strides %v: element %d is %v, want %v", k.name, n, st, i, dst[i], w)
					}
				}
			}
		}
	}
}

func TestReLURunsFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 80; n++ {
		x, g := specialValues(rng, n+1), specialValues(rng, n+2)
		dst := make([]float32, n)
		ReLU(dst, x, 1, 1)
		for i := range dst {
			v := x[1+i]
			want := max(v, 0)
			if !sameF32(dst[i], want) {
				t.Fatalf("ReLU n=%d: element %d of %v is %v, want %v", n, i, v, dst[i], want)
			}
		}
		ReLUGrad(dst, g, 2, 1, x, 1, 1)
		for i := range dst {
			var want float32 // +0 where x is not positive
			if x[1+i] > 0 {
				want = g[2+i]
			}
			if !sameF32(dst[i], want) {
				t.Fatalf("ReLUGrad n=%d: element %d (g %v, x %v) is %v, want %v", n, i, g[2+i], x[1+i], dst[i], want)
			}
		}
	}
}

func TestAccumColFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 70; n++ {
		x := specialValues(rng, n+3)
		acc := make([]float64, n+2)
		want := make([]float64, n+2)
		for i := range acc {
			acc[i] = rng.NormFloat64()
			want[i] = acc[i]
		}
		AccumCol(acc, 1, 1, x, 3, 1, n)
		for i := range n {
			want[1+i] += float64(x[3+i])
		}
		for i := range acc {
			if math.Float64bits(acc[i]) != math.Float64bits(want[i]) && !(acc[i] != acc[i] && want[i] != want[i]) {
				t.Fatalf("n=%d: acc[%d] = %v, want %v", n, i, acc[i], want[i])
			}
		}
	}
}
