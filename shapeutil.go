package backprop

import (
	"fmt"
	"slices"
)

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// validShape reports whether shape has no negative size and a number of
// elements an int can count (see checkedNumel).
func validShape(shape []int) bool {
	_, ok := checkedNumel(shape)
	return ok
}

func cloneInts(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func contiguousStrides(shape []int) []int {
	if len(shape) == 0 {
		return nil
	}
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// normAxis turns a possibly negative axis into 0..nd-1, panicking with the
// op's name when it is out of range.
func normAxis(op string, axis, nd int) int {
	a := axis
	if a < 0 {
		a += nd
	}
	if a < 0 || a >= nd {
		panic(fmt.Sprintf("backprop: %s: axis %d out of range for %d dimensions", op, axis, nd))
	}
	return a
}

// normAxes normalizes axes, rejecting duplicates. No axes means all of them.
func normAxes(op string, axes []int, nd int) []int {
	return normAxesInto(make([]int, 0, max(len(axes), nd)), op, axes, nd)
}

// normAxesInto is normAxes appending to dst, so that a caller can keep the
// list on its stack.
func normAxesInto(dst []int, op string, axes []int, nd int) []int {
	if len(axes) == 0 {
		for i := range nd {
			dst = append(dst, i)
		}
		return dst
	}
	n0 := len(dst)
	for _, a := range axes {
		dst = append(dst, normAxis(op, a, nd))
	}
	out := dst[n0:]
	slices.Sort(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			panic(fmt.Sprintf("backprop: %s: axis %d given twice", op, out[i]))
		}
	}
	return out
}

// broadcastShapes returns the NumPy broadcast of a and b, panicking with the
// op's name and both shapes when they are incompatible.
func broadcastShapes(op string, a, b []int) []int {
	if slices.Equal(a, b) {
		return a
	}
	return broadcastShapesInto(make([]int, 0, max(len(a), len(b))), op, a, b)
}

// broadcastShapesInto is broadcastShapes appending to dst.
func broadcastShapesInto(dst []int, op string, a, b []int) []int {
	n := max(len(a), len(b))
	for i := range n {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			dst = append(dst, da)
		case da == 1:
			dst = append(dst, db)
		case db == 1:
			dst = append(dst, da)
		default:
			panic(fmt.Sprintf("backprop: %s: shapes %v and %v cannot be broadcast together", op, a, b))
		}
	}
	return dst
}

// broadcastStrides returns strides that read t as if it had shape `to`
// (a broadcast of t's shape): zero stride on expanded axes.
func broadcastStrides(t *Tensor, to []int) []int {
	st := make([]int, len(to))
	off := len(to) - len(t.shape)
	for i := range t.shape {
		if t.shape[i] == 1 && to[i+off] != 1 {
			st[i+off] = 0
		} else {
			st[i+off] = t.strides[i]
		}
	}
	return st
}

// sumToShape reduces a gradient g of a broadcast result back to shape, the
// shape of the input that was broadcast. This is the one place where
// broadcasting is undone; ops never do it themselves.
func sumToShape(g *Tensor, shape []int) *Tensor {
	if slices.Equal(g.shape, shape) {
		return g
	}
	lead := len(g.shape) - len(shape)
	if lead < 0 {
		panic(fmt.Sprintf("backprop: gradient of shape %v cannot be reduced to input shape %v", g.shape, shape))
	}
	var buf [maxPlanDims]int
	axes := buf[:0]
	for i := range g.shape {
		if i < lead {
			axes = append(axes, i)
		} else if shape[i-lead] == 1 && g.shape[i] != 1 {
			axes = append(axes, i)
		} else if shape[i-lead] != g.shape[i] {
			panic(fmt.Sprintf("backprop: gradient of shape %v cannot be reduced to input shape %v", g.shape, shape))
		}
	}
	if len(axes) == 0 {
		return g.Reshape(shape...)
	}
	return g.sum(axes, true).Reshape(shape...)
}
