package kernels

// Float is the element type of the arithmetic kernels.
type Float interface{ ~float32 | ~float64 }

// Map sets dst[i] = f(x[px+i*sx]) for each i.
func Map[T Float](dst, x []T, px, sx int, f func(T) T) {
	if sx == 1 {
		x = x[px : px+len(dst)]
		for i, v := range x {
			dst[i] = f(v)
		}
		return
	}
	for i := range dst {
		dst[i] = f(x[px+i*sx])
	}
}

// Map2 sets dst[i] = f(a[pa+i*sa], b[pb+i*sb]) for each i; a stride of 0
// broadcasts one value.
func Map2[T Float](dst, a []T, pa, sa int, b []T, pb, sb int, f func(x, y T) T) {
	n := len(dst)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[pa:pa+n], b[pb:pb+n]
		for i := range dst {
			dst[i] = f(a[i], b[i])
		}
	case sa == 1 && sb == 0:
		a = a[pa : pa+n]
		y := b[pb]
		for i := range dst {
			dst[i] = f(a[i], y)
		}
	case sa == 0 && sb == 1:
		b = b[pb : pb+n]
		x := a[pa]
		for i := range dst {
			dst[i] = f(x, b[i])
		}
	default:
		for i := range dst {
			dst[i] = f(a[pa+i*sa], b[pb+i*sb])
		}
	}
}

// Add sets dst[i] = a[i] + b[i] (the common case without a function call).
func Add[T Float](dst, a, b []T) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i, v := range a {
		dst[i] = v + b[i]
	}
}
