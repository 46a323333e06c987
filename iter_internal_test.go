package backprop

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// eachRun must visit every element once, in row-major order, with each
// operand's offset right, whatever the layout: merged axes, broadcast
// (stride 0) operands, and more axes than a runLayout holds, which it
// peels off one at a time.
func TestEachRunVisitsRowMajor(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		nd := 1 + r.IntN(12) // up to 12 axes: past maxRunDims
		shape := make([]int, nd)
		for d := range shape {
			shape[d] = 1 + r.IntN(3)
		}
		if trial%17 == 0 {
			shape[r.IntN(nd)] = 0
		}
		k := 1 + r.IntN(maxOps)
		offs := make([]int, k)
		strides := make([][]int, k)
		for j := range k {
			offs[j] = r.IntN(5)
			strides[j] = make([]int, nd)
			perm := r.Perm(nd) // a permuted contiguous layout, some axes broadcast
			s := 1
			for _, d := range perm {
				if r.IntN(4) == 0 {
					strides[j][d] = 0
					continue
				}
				strides[j][d] = s
				s *= shape[d]
			}
		}
		// The expected offsets, element by element in row-major order.
		var want [][]int
		idx := make([]int, nd)
		for total := numel(shape); len(want) < total; {
			o := make([]int, k)
			for j := range k {
				o[j] = offs[j]
				for d := range nd {
					o[j] += idx[d] * strides[j][d]
				}
			}
			want = append(want, o)
			for d := nd - 1; d >= 0; d-- {
				if idx[d]++; idx[d] < shape[d] {
					break
				}
				idx[d] = 0
			}
		}
		var got [][]int
		eachRun(shape, offs, strides, func(p []int, n int, in []int) {
			for i := range n {
				o := make([]int, k)
				for j := range k {
					o[j] = p[j] + i*in[j]
				}
				got = append(got, o)
			}
		})
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("shape %v strides %v: visited %d elements, want %d, or in another order", shape, strides, len(got), len(want))
		}
	}
}
