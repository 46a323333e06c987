package backprop

import (
	"fmt"

	"github.com/gobackprop/backprop/internal/kernels"
)

// eachRun walks a shape shared by several strided operands (offsets offs,
// strides strides[k]) and calls fn once per innermost run of n elements,
// with each operand's offset at the run's start and its stride within the
// run. Axes of length 1 are dropped and axes that are contiguous in every
// operand are merged first, so a contiguous tensor is one run.
func eachRun(shape []int, offs []int, strides [][]int, fn func(offs []int, n int, inner []int)) {
	k := len(offs)
	// Collapse.
	var cs []int
	cst := make([][]int, k)
	for d, s := range shape {
		if s == 0 {
			return
		}
		if s == 1 {
			continue
		}
		if m := len(cs); m > 0 {
			merge := true
			for j := range k {
				if cst[j][m-1] != strides[j][d]*s {
					merge = false
					break
				}
			}
			if merge {
				cs[m-1] *= s
				for j := range k {
					cst[j][m-1] = strides[j][d]
				}
				continue
			}
		}
		cs = append(cs, s)
		for j := range k {
			cst[j] = append(cst[j], strides[j][d])
		}
	}
	p := append([]int(nil), offs...)
	nd := len(cs)
	inner := make([]int, k)
	if nd == 0 {
		fn(p, 1, inner)
		return
	}
	n := cs[nd-1]
	for j := range k {
		inner[j] = cst[j][nd-1]
	}
	idx := make([]int, nd-1)
	for {
		fn(p, n, inner)
		d := nd - 2
		for ; d >= 0; d-- {
			idx[d]++
			for j := range k {
				p[j] += cst[j][d]
			}
			if idx[d] < cs[d] {
				break
			}
			for j := range k {
				p[j] -= cst[j][d] * cs[d]
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

func checkBinary(op string, a, b *Tensor) {
	if a.dtype != b.dtype {
		panic(fmt.Sprintf("backprop: %s: dtypes %v (shape %v) and %v (shape %v) differ; convert one with To", op, a.dtype, a.shape, b.dtype, b.shape))
	}
	a.mustFloat(op)
}

// unaryMap applies f elementwise to a into a new contiguous tensor.
func unaryMap(op string, a *Tensor, f32 func(float32) float32, f64 func(float64) float64) *Tensor {
	a.mustFloat(op)
	out := empty(a.dtype, a.shape)
	if a.IsContiguous() { // the common case: one flat loop
		if a.dtype == Float32 {
			kernels.Map(out.f32, a.f32, a.offset, 1, f32)
		} else {
			kernels.Map(out.f64, a.f64, a.offset, 1, f64)
		}
		return out
	}
	eachRun(a.shape, []int{0, a.offset}, [][]int{out.strides, a.strides}, func(p []int, n int, s []int) {
		if a.dtype == Float32 {
			kernels.Map(out.f32[p[0]:p[0]+n], a.f32, p[1], s[1], f32)
		} else {
			kernels.Map(out.f64[p[0]:p[0]+n], a.f64, p[1], s[1], f64)
		}
	})
	return out
}

// binaryMap applies f elementwise over the broadcast of a and b into a new
// contiguous tensor.
func binaryMap(op string, a, b *Tensor, f32 func(x, y float32) float32, f64 func(x, y float64) float64) *Tensor {
	checkBinary(op, a, b)
	out := empty(a.dtype, broadcastShapes(op, a.shape, b.shape))
	binaryInto(out, a, b, f32, f64)
	return out
}

// binaryInto writes f(a, b) into out, whose shape is the broadcast of a's
// and b's. out may be a itself (same layout), for in-place accumulation.
func binaryInto(out, a, b *Tensor, f32 func(x, y float32) float32, f64 func(x, y float64) float64) {
	// Flat fast paths: same-shape contiguous operands, or one of them a
	// single value. They skip the general strided walk, which matters for
	// the tiny tensors of scalar graphs as much as for big ones.
	if out.IsContiguous() {
		n := out.Numel()
		sa, sb := -1, -1
		switch {
		case a.Numel() == 1:
			sa = 0
		case a.IsContiguous() && equalShape(a.shape, out.shape):
			sa = 1
		}
		switch {
		case b.Numel() == 1:
			sb = 0
		case b.IsContiguous() && equalShape(b.shape, out.shape):
			sb = 1
		}
		if sa >= 0 && sb >= 0 {
			if out.dtype == Float32 {
				kernels.Map2(out.f32[out.offset:out.offset+n], a.f32, a.offset, sa, b.f32, b.offset, sb, f32)
			} else {
				kernels.Map2(out.f64[out.offset:out.offset+n], a.f64, a.offset, sa, b.f64, b.offset, sb, f64)
			}
			return
		}
	}
	sa := broadcastStrides(a, out.shape)
	sb := broadcastStrides(b, out.shape)
	eachRun(out.shape, []int{out.offset, a.offset, b.offset}, [][]int{out.strides, sa, sb}, func(p []int, n int, s []int) {
		if out.dtype == Float32 {
			if s[0] == 1 {
				kernels.Map2(out.f32[p[0]:p[0]+n], a.f32, p[1], s[1], b.f32, p[2], s[2], f32)
				return
			}
			for i := range n {
				out.f32[p[0]+i*s[0]] = f32(a.f32[p[1]+i*s[1]], b.f32[p[2]+i*s[2]])
			}
		} else {
			if s[0] == 1 {
				kernels.Map2(out.f64[p[0]:p[0]+n], a.f64, p[1], s[1], b.f64, p[2], s[2], f64)
				return
			}
			for i := range n {
				out.f64[p[0]+i*s[0]] = f64(a.f64[p[1]+i*s[1]], b.f64[p[2]+i*s[2]])
			}
		}
	})
}

func addT[T kernels.Float](x, y T) T { return x + y }
func subT[T kernels.Float](x, y T) T { return x - y }
func mulT[T kernels.Float](x, y T) T { return x * y }
func divT[T kernels.Float](x, y T) T { return x / y }

// addInPlace adds g (broadcastable to dst) into dst, outside autograd.
func addInPlace(dst, g *Tensor) {
	checkBinary("addInPlace", dst, g)
	binaryInto(dst, dst, g, addT[float32], addT[float64])
}
