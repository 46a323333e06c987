package kernels

// Dedicated loops for the activations on every training step's path. Map and
// Map2 call a function value per element, which costs more than the work
// itself for ops this cheap.

// ReLU sets dst[i] = max(x[px+i*sx], 0); NaN stays NaN.
func ReLU[T Float](dst, x []T, px, sx int) {
	if sx == 1 {
		x = x[px : px+len(dst)]
		for i, v := range x {
			if v <= 0 {
				v = 0
			}
			dst[i] = v
		}
		return
	}
	for i := range dst {
		v := x[px+i*sx]
		if v <= 0 {
			v = 0
		}
		dst[i] = v
	}
}

// ReLUGrad sets dst[i] = g[pg+i*sg] where x[px+i*sx] > 0 and 0 elsewhere:
// the upstream gradient masked by the input's sign. A stride of 0
// broadcasts one value.
func ReLUGrad[T Float](dst, g []T, pg, sg int, x []T, px, sx int) {
	n := len(dst)
	if sg == 1 && sx == 1 {
		g, x = g[pg:pg+n], x[px:px+n]
		for i, v := range x {
			if v > 0 {
				dst[i] = g[i]
			} else {
				dst[i] = 0
			}
		}
		return
	}
	for i := range dst {
		if x[px+i*sx] > 0 {
			dst[i] = g[pg+i*sg]
		} else {
			dst[i] = 0
		}
	}
}
