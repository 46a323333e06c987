package backprop_test

import (
	"math"
	"runtime"
	"slices"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// refMatMul is torch.matmul written out with loops over At, in float64:
// the shape of the result and its values in row-major order.
func refMatMul(a, b *bp.Tensor) ([]int, []float64) {
	sa, sb := a.Shape(), b.Shape()
	at := func(t *bp.Tensor, idx []int) float64 { return t.At(idx...) }
	dropRow, dropCol := len(sa) == 1, len(sb) == 1
	if dropRow {
		sa = []int{1, sa[0]}
		at0 := at
		at = func(t *bp.Tensor, idx []int) float64 {
			if t == a {
				return at0(t, idx[len(idx)-1:])
			}
			return at0(t, idx)
		}
	}
	if dropCol {
		sb = []int{sb[0], 1}
		at1 := at
		at = func(t *bp.Tensor, idx []int) float64 {
			if t == b {
				return at1(t, idx[len(idx)-2:len(idx)-1])
			}
			return at1(t, idx)
		}
	}
	m, k, n := sa[len(sa)-2], sa[len(sa)-1], sb[len(sb)-1]
	ba, bb := sa[:len(sa)-2], sb[:len(sb)-2]
	nb := max(len(ba), len(bb))
	batch := make([]int, nb)
	for i := range nb {
		x, y := 1, 1
		if j := i - nb + len(ba); j >= 0 {
			x = ba[j]
		}
		if j := i - nb + len(bb); j >= 0 {
			y = bb[j]
		}
		batch[i] = max(x, y)
	}
	var out []float64
	bidx := make([]int, nb)
	count := 1
	for _, s := range batch {
		count *= s
	}
	for range count {
		ia := make([]int, len(ba)+2)
		ib := make([]int, len(bb)+2)
		for d := range ba {
			ia[d] = min(bidx[d+nb-len(ba)], ba[d]-1)
		}
		for d := range bb {
			ib[d] = min(bidx[d+nb-len(bb)], bb[d]-1)
		}
		for i := range m {
			for j := range n {
				s := 0.0
				for p := range k {
					ia[len(ia)-2], ia[len(ia)-1] = i, p
					ib[len(ib)-2], ib[len(ib)-1] = p, j
					s += at(a, ia) * at(b, ib)
				}
				out = append(out, s)
			}
		}
		for d := nb - 1; d >= 0; d-- {
			bidx[d]++
			if bidx[d] < batch[d] {
				break
			}
			bidx[d] = 0
		}
	}
	shape := slices.Clone(batch)
	if !dropRow {
		shape = append(shape, m)
	}
	if !dropCol {
		shape = append(shape, n)
	}
	return shape, out
}

func checkMatMulValues(t *testing.T, name string, a, b *bp.Tensor) {
	t.Helper()
	got := a.MatMul(b)
	shape, want := refMatMul(a, b)
	if !slices.Equal(got.Shape(), shape) {
		t.Fatalf("%s: %v @ %v has shape %v, want %v", name, a.Shape(), b.Shape(), got.Shape(), shape)
	}
	g := got.Float64s()
	for i := range want {
		if math.Abs(g[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, g[i], want[i])
		}
	}
}

func TestMatMulValues(t *testing.T) {
	checkMatMulValues(t, "2-d", rnd(1, 3, 4), rnd(2, 4, 5))
	checkMatMulValues(t, "dot", rnd(3, 4), rnd(4, 4))
	checkMatMulValues(t, "vec-mat", rnd(5, 4), rnd(6, 4, 3))
	checkMatMulValues(t, "mat-vec", rnd(7, 3, 4), rnd(8, 4))
	checkMatMulValues(t, "batched", rnd(9, 2, 3, 4), rnd(10, 2, 4, 5))
	checkMatMulValues(t, "broadcast batch", rnd(11, 2, 1, 3, 4), rnd(12, 5, 4, 6))
	checkMatMulValues(t, "batch times matrix", rnd(13, 2, 3, 4), rnd(14, 4, 5))
	checkMatMulValues(t, "matrix times batch", rnd(15, 3, 4), rnd(16, 2, 4, 5))
	checkMatMulValues(t, "vec-batch", rnd(17, 4), rnd(18, 2, 4, 5))
	checkMatMulValues(t, "batch-vec", rnd(19, 2, 3, 4), rnd(20, 4))
	checkMatMulValues(t, "transposed", nonContig(21, 3, 4), nonContig(22, 4, 5))
	checkMatMulValues(t, "transposed batch", nonContig(23, 2, 3, 4), nonContig(24, 4, 5))
	checkMatMulValues(t, "strided vectors", nonContig(25, 4), nonContig(26, 4))
	checkMatMulValues(t, "expanded", rnd(27, 1, 4).Expand(3, 4), rnd(28, 4, 1).Expand(4, 5))
	checkMatMulValues(t, "sliced rows", rnd(29, 6, 4).SliceStep(0, 0, 6, 2), rnd(30, 4, 5))
	checkMatMulValues(t, "large", rnd(31, 70, 65), nonContig(32, 65, 67))

	// Empty sizes: no work, and a sum over k = 0 is zeros.
	if z := bp.Float64.Ones(3, 0).MatMul(bp.Float64.Ones(0, 2)); !slices.Equal(z.Shape(), []int{3, 2}) || z.Sum().Item() != 0 {
		t.Fatalf("[3 0] @ [0 2] = %v, want zeros [3 2]", z)
	}
	if z := bp.Float64.Ones(2, 0, 3).MatMul(bp.Float64.Ones(3, 4)); !slices.Equal(z.Shape(), []int{2, 0, 4}) {
		t.Fatalf("[2 0 3] @ [3 4] has shape %v, want [2 0 4]", z.Shape())
	}
}

func TestMatMulGrads(t *testing.T) {
	mm := func(x ...*bp.Tensor) *bp.Tensor { return x[0].MatMul(x[1]) }
	checkGrad2(t, "2-d", mm, rnd(1, 3, 4), rnd(2, 4, 5))
	checkGrad2(t, "dot", mm, rnd(3, 4), rnd(4, 4))
	checkGrad2(t, "vec-mat", mm, rnd(5, 4), rnd(6, 4, 3))
	checkGrad2(t, "mat-vec", mm, rnd(7, 3, 4), rnd(8, 4))
	checkGrad2(t, "batched", mm, rnd(9, 2, 3, 4), rnd(10, 2, 4, 2))
	checkGrad2(t, "broadcast batch", mm, rnd(11, 2, 1, 2, 3), rnd(12, 3, 3, 2))
	checkGrad2(t, "batch times matrix", mm, rnd(13, 2, 3, 4), rnd(14, 4, 2))
	checkGrad2(t, "matrix times batch", mm, rnd(15, 3, 4), rnd(16, 2, 4, 2))
	checkGrad2(t, "transposed", mm, nonContig(17, 3, 4), nonContig(18, 4, 5))
	checkGrad2(t, "transposed batch times matrix", mm, nonContig(19, 2, 3, 4), rnd(20, 4, 2))
	checkGrad2(t, "strided vectors", mm, nonContig(21, 4), nonContig(22, 4))
	checkGrad2(t, "vec-batch", mm, rnd(23, 3), nonContig(24, 2, 3, 2))
	// A product of an input with itself, so second derivatives are not zero
	// from the start.
	checkGrad2(t, "x @ x^T", func(x ...*bp.Tensor) *bp.Tensor { return x[0].MatMul(x[0].Transpose(-1, -2)) }, rnd(25, 3, 4))
}

// Only the gradients that are needed are computed, and the others come
// back as they should.
func TestMatMulOneSidedGrad(t *testing.T) {
	x := rnd(1, 3, 4)
	w := rnd(2, 4, 5).SetRequiresGrad(true)
	x.MatMul(w).Sum().Backward()
	if x.Grad() != nil {
		t.Fatal("gradient computed for an input that does not require one")
	}
	want := x.Transpose(0, 1).MatMul(bp.Float64.Ones(3, 5))
	if g := w.Grad(); g == nil || !slices.Equal(g.Float64s(), want.Float64s()) {
		t.Fatalf("dW = %v, want %v", g, want)
	}
}

// float32 products agree with float64 ones to float32 precision.
func TestMatMulFloat32(t *testing.T) {
	a64, b64 := rnd(1, 128, 128), rnd(2, 128, 128)
	want := a64.MatMul(b64).Float64s()
	for _, tr := range []bool{false, true} {
		a32, b32 := a64.To(bp.Float32), b64.To(bp.Float32)
		if tr {
			// The same matrices, stored transposed.
			a32 = a64.Transpose(0, 1).Contiguous().To(bp.Float32).Transpose(0, 1)
			b32 = b64.Transpose(0, 1).Contiguous().To(bp.Float32).Transpose(0, 1)
		}
		got := a32.MatMul(b32)
		if got.DType() != bp.Float32 {
			t.Fatalf("float32 product is %v", got.DType())
		}
		norm := 0.0
		for _, v := range want {
			norm = max(norm, math.Abs(v))
		}
		for i, v := range got.Float64s() {
			if math.Abs(v-want[i]) > 1e-4*norm {
				t.Fatalf("transposed=%v: element %d = %v, want %v (max |C| %v)", tr, i, v, want[i], norm)
			}
		}
	}
}

// A transposed view goes to the kernel as it is: multiplying by one
// allocates the result and the kernel's packing space, not a copy of it.
func TestMatMulTransposedNoCopy(t *testing.T) {
	const m, k, n = 512, 1024, 4
	base := bp.NewRNG(1).Normal(0, 1, k, m) // float32, 2 MiB
	xT := base.Transpose(0, 1)
	w := bp.NewRNG(2).Normal(0, 1, k, n)
	copyBytes := uint64(m * k * 4)
	best := uint64(math.MaxUint64)
	var ms runtime.MemStats
	for range 3 {
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		xT.MatMul(w)
		runtime.ReadMemStats(&ms)
		best = min(best, ms.TotalAlloc-before)
	}
	if best >= copyBytes/2 && !raceEnabled { // under -race the GEMM's scratch pool forgets at random
		t.Fatalf("multiplying a transposed [%d %d] view allocated %d bytes; a copy is %d", m, k, best, copyBytes)
	}
}

func TestMatMulPanics(t *testing.T) {
	mustPanic(t, "backprop: MatMul: shapes [2 3] and [4 5] do not match (3 != 4)", func() { bp.Zeros(2, 3).MatMul(bp.Zeros(4, 5)) })
	mustPanic(t, "backprop: MatMul: shapes [3] and [4] do not match (3 != 4)", func() { bp.Zeros(3).MatMul(bp.Zeros(4)) })
	mustPanic(t, "backprop: MatMul: shapes [3] and [4 5] do not match (3 != 4)", func() { bp.Zeros(3).MatMul(bp.Zeros(4, 5)) })
	mustPanic(t, "backprop: MatMul: shapes [2 3] and [4] do not match (3 != 4)", func() { bp.Zeros(2, 3).MatMul(bp.Zeros(4)) })
	mustPanic(t, "backprop: MatMul: shapes [2 3 4] and [5 4 6] do not match (batch axes [2] and [5] cannot be broadcast)",
		func() { bp.Zeros(2, 3, 4).MatMul(bp.Zeros(5, 4, 6)) })
	mustPanic(t, "backprop: MatMul: shapes [] and [3]: both operands need at least 1 dimension", func() { bp.Scalar(1).MatMul(bp.Zeros(3)) })
	mustPanic(t, "MatMul: dtypes float32", func() { bp.Zeros(2, 2).MatMul(bp.Float64.Zeros(2, 2)) })
	mustPanic(t, "MatMul: needs a float tensor", func() { bp.FromInts([]int{1, 2}).MatMul(bp.FromInts([]int{1, 2})) })
}
