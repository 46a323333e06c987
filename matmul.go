package backprop

import (
	"fmt"
	"slices"

	"github.com/gobackprop/backprop/internal/kernels"
)

// Matrix multiplication. The forward pass hands each matrix to the GEMM
// kernel as it lies in memory: a transposed view (what Transpose(-1, -2) of
// a contiguous tensor gives) goes in with the kernel's transpose flag, not
// as a copy. That is what keeps the backward pass cheap: its two products,
// dA = G·Bᵀ and dB = Aᵀ·G, are MatMuls of transposed views, so a training
// step's weight gradient costs one GEMM and no copies.

// MatMul returns the matrix product of a and b with torch.matmul's rules:
//
//   - 1-d · 1-d is the dot product, a 0-d tensor;
//   - 2-d · 2-d is the matrix product, [m,k]·[k,n] -> [m,n];
//   - a 1-d left operand is treated as a row ([1,k]), a 1-d right operand
//     as a column ([k,1]), and that axis is removed from the result;
//   - with 3 or more dimensions the product is batched over the leading
//     axes, which broadcast: [2,1,3,4]·[5,4,6] -> [2,5,3,6].
//
// Both operands must have the same float dtype. Mismatched inner sizes or
// batch axes panic, naming both shapes.
func (a *Tensor) MatMul(b *Tensor) *Tensor {
	checkBinary("MatMul", a, b)
	da, db := len(a.shape), len(b.shape)
	if da == 0 || db == 0 {
		panic(fmt.Sprintf("backprop: MatMul: shapes %v and %v: both operands need at least 1 dimension", a.shape, b.shape))
	}
	ka := a.shape[da-1]
	kb := b.shape[max(db-2, 0)]
	if ka != kb {
		panic(fmt.Sprintf("backprop: MatMul: shapes %v and %v do not match (%d != %d)", a.shape, b.shape, ka, kb))
	}
	switch {
	case da == 1 && db == 1:
		return a.Unsqueeze(0).matmul(b.Unsqueeze(1), a.shape, b.shape).Reshape()
	case da == 1:
		out := a.Unsqueeze(0).matmul(b, a.shape, b.shape)
		return out.Squeeze(-2)
	case db == 1:
		out := a.matmul(b.Unsqueeze(1), a.shape, b.shape)
		return out.Squeeze(-1)
	}
	return a.matmul(b, a.shape, b.shape)
}

// matmul multiplies operands of 2 or more dimensions; sa and sb are the
// shapes the user passed, for messages.
func (a *Tensor) matmul(b *Tensor, sa, sb []int) *Tensor {
	da, db := len(a.shape), len(b.shape)
	m, k, n := a.shape[da-2], a.shape[da-1], b.shape[db-1]
	// A batch of matrices times one matrix is one tall product when the
	// batch lies contiguously: [B,m,k]·[k,n] is [B·m,k]·[k,n]. Its weight
	// gradient is then a single Aᵀ·G over the whole batch too.
	if da > 2 && db == 2 && k > 0 && a.IsContiguous() {
		outShape := slices.Concat(a.shape[:da-1], []int{n})
		return a.Reshape(-1, k).matmul(b, sa, sb).Reshape(outShape...)
	}
	batchA, batchB := a.shape[:da-2], b.shape[:db-2]
	batch, ok := broadcastBatch(batchA, batchB)
	if !ok {
		panic(fmt.Sprintf("backprop: MatMul: shapes %v and %v do not match (batch axes %v and %v cannot be broadcast)", sa, sb, batchA, batchB))
	}
	var out *Tensor
	pool := poolOf("MatMul", a, b)
	if len(batch) == 0 {
		// The 2-d case, which every Linear layer takes: no batch walk.
		out = rawIn(pool, a.dtype, []int{m, n})
		if m*n > 0 && k == 0 {
			out.fill(0) // a sum of nothing
		}
		matmul2d(out, a, b, m, n, k)
	} else {
		out = newIn(pool, a.dtype, slices.Concat(batch, []int{m, n}))
		matmulInto(out, a, b, batch, m, n, k)
	}
	return recordRule(ruleMatMul, out, a, b)
}

// matmulGrad: d(a·b)/da = g·bᵀ, d(a·b)/db = aᵀ·g. Gradients come back in
// the broadcast batch shape; the engine sums them down to each input's
// batch axes. Each is computed in its input's layout: for a transposed
// input (w.T() in a Linear layer) the product comes out transposed too, so
// that what reaches w is row-major like w, and accumulating it into w's
// gradient is a plain copy rather than a transposing one.
func matmulGrad(c *BackwardContext, g *Tensor) []*Tensor {
	var ga, gb *Tensor
	if c.NeedsGrad(0) {
		x, y := c.Input(0), c.Input(1)
		if colMajor(x) {
			ga = y.MatMul(g.Transpose(-1, -2)).Transpose(-1, -2)
		} else {
			ga = g.MatMul(y.Transpose(-1, -2))
		}
	}
	if c.NeedsGrad(1) {
		x, y := c.Input(0), c.Input(1)
		if colMajor(y) {
			gb = g.Transpose(-1, -2).MatMul(x).Transpose(-1, -2)
		} else {
			gb = x.Transpose(-1, -2).MatMul(g)
		}
	}
	return c.two(ga, gb)
}

// matmulGradFused is matmulGrad for two matrices, straight to the GEMM
// kernel.
func matmulGradFused(c *BackwardContext, g *Tensor) []*Tensor {
	x, y := c.InputValue(0), c.InputValue(1)
	if len(x.shape) != 2 || len(y.shape) != 2 {
		return matmulGrad(c, g)
	}
	var ga, gb *Tensor
	if c.NeedsGrad(0) {
		if colMajor(x) {
			ga = mm2d(y, g.transposed()).transposed()
		} else {
			ga = mm2d(g, y.transposed())
		}
	}
	if c.NeedsGrad(1) {
		if colMajor(y) {
			gb = mm2d(g.transposed(), x).transposed()
		} else {
			gb = mm2d(x.transposed(), g)
		}
	}
	return c.two(ga, gb)
}

func init() {
	define(ruleMatMul, derivative{op: "MatMul", rule: matmulGrad, fused: matmulGradFused})
}

// colMajor reports whether the matrices of t (its last two axes) lie in
// column-major order, as a transposed view of a row-major tensor does.
func colMajor(t *Tensor) bool {
	d := len(t.shape)
	rows, cols := t.shape[d-2], t.shape[d-1]
	return rows > 1 && cols > 1 && t.strides[d-2] == 1 && t.strides[d-1] >= rows
}

// broadcastBatch broadcasts two lists of batch axes, NumPy style.
func broadcastBatch(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		x, y := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			x = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			y = b[j]
		}
		switch {
		case x == y || y == 1:
			out[i] = x
		case x == 1:
			out[i] = y
		default:
			return nil, false
		}
	}
	return out, true
}

// gemmOperand says how the kernel reads one matrix of a batch: element
// (i, j) of the matrix at offset off lies at off + i*ld + j, or at
// off + j*ld + i when trans.
type gemmOperand struct {
	trans bool
	ld    int
}

// matrixLayout finds a gemmOperand for a rows x cols matrix with row
// stride rs and column stride cs, if the kernel can read it in place.
// Strides of axes of length 1 do not matter.
func matrixLayout(rows, cols, rs, cs int) (gemmOperand, bool) {
	if cols == 1 || cs == 1 {
		ld := rs
		if rows == 1 {
			ld = max(cols, 1)
		}
		if ld >= max(cols, 1) {
			return gemmOperand{false, ld}, true
		}
	}
	if rows == 1 || rs == 1 {
		ld := cs
		if cols == 1 {
			ld = max(rows, 1)
		}
		if ld >= max(rows, 1) {
			return gemmOperand{true, ld}, true
		}
	}
	return gemmOperand{}, false
}

// operandLayout returns t, or a contiguous copy of it when the kernel
// cannot read its matrices in place, and how to read them.
func operandLayout(t *Tensor) (*Tensor, gemmOperand) {
	d := len(t.shape)
	if op, ok := matrixLayout(t.shape[d-2], t.shape[d-1], t.strides[d-2], t.strides[d-1]); ok {
		return t, op
	}
	t = t.contiguousData()
	op, _ := matrixLayout(t.shape[d-2], t.shape[d-1], t.strides[d-2], t.strides[d-1])
	return t, op
}

// mm2d returns the product of two matrices, not recorded.
func mm2d(a, b *Tensor) *Tensor {
	m, k, n := a.shape[0], a.shape[1], b.shape[1]
	out := rawIn(poolOf("MatMul", a, b), a.dtype, []int{m, n})
	if m*n > 0 && k == 0 {
		out.fill(0)
	}
	matmul2d(out, a, b, m, n, k)
	return out
}

// transposed is a view of the matrix t with its axes swapped, not recorded.
func (t *Tensor) transposed() *Tensor {
	return t.view([]int{t.shape[1], t.shape[0]}, []int{t.strides[1], t.strides[0]}, t.offset)
}

// matmul2d computes the contiguous [m, n] out = a·b of two matrices.
func matmul2d(out, a, b *Tensor, m, n, k int) { gemm2d(out, a, b, m, n, k, 0) }

// matmulInto computes out = a·b for every matrix of the broadcast batch.
func matmulInto(out, a, b *Tensor, batch []int, m, n, k int) {
	if out.Numel() == 0 || k == 0 {
		return // nothing to compute, or a sum of nothing: out is zeros
	}
	a, la := operandLayout(a)
	b, lb := operandLayout(b)
	sa := broadcastStrides(a, slices.Concat(batch, a.shape[len(a.shape)-2:]))
	sb := broadcastStrides(b, slices.Concat(batch, b.shape[len(b.shape)-2:]))

	// Storage offsets of each matrix of the batch.
	count := numel(batch)
	offs := make([]int, 0, 3*count)
	idx := make([]int, len(batch))
	oa, ob := a.offset, b.offset
	for q := range count {
		offs = append(offs, oa, ob, q*m*n)
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			oa += sa[d]
			ob += sb[d]
			if idx[d] < batch[d] {
				break
			}
			oa -= sa[d] * batch[d]
			ob -= sb[d] * batch[d]
			idx[d] = 0
		}
	}
	one := func(q int) {
		oa, ob, oc := offs[3*q], offs[3*q+1], offs[3*q+2]
		if out.dtype == Float32 {
			kernels.Gemm(la.trans, lb.trans, m, n, k, 1, a.f32[oa:], la.ld, b.f32[ob:], lb.ld, 0, out.f32[oc:], n)
		} else {
			kernels.Gemm(la.trans, lb.trans, m, n, k, 1, a.f64[oa:], la.ld, b.f64[ob:], lb.ld, 0, out.f64[oc:], n)
		}
	}
	// Many small products: run them side by side (each one alone would
	// stay on one goroutine). Large ones parallelize inside the kernel.
	if count > 1 && m*n*k < 64*64*64 {
		kernels.Parallel(count, one)
		return
	}
	for q := range count {
		one(q)
	}
}
