//go:build amd64 && !purego

package kernels

// The AVX2 2x2, stride 2 max pool of pool_amd64.s, for float32 planes.

// maxPool2x2F32 is maxPool2x2Go (conv_pool.go) on a float32 plane x of
// row width w, ow >= 4, bit for bit in values and indices (pool_test.go
// checks both against this plain scan): the first maximum of each window,
// a NaN beating every number (better),
//
//	for oy := range oh {
//		for ox := range ow {
//			q := 2*oy*w + 2*ox
//			best := q
//			for _, k := range [...]int{q + 1, q + w, q + w + 1} {
//				if better(x[k], x[best]) { best = k }
//			}
//			y[oy*ow+ox], idx[oy*ow+ox] = x[best], int32(best)
//		}
//	}
//
//go:noescape
func maxPool2x2F32(x, y *float32, idx *int32, w, oh, ow int)

// maxPool2x2F32Fast is maxPool2x2 of a float32 plane in assembly, if AVX2
// is there and rows have at least four outputs (the vector code's
// narrowest block), and reports whether it did. Slices too short for the
// shape are left to the Go loop, which fails on them with an index error
// rather than letting the assembly read or write past them.
func maxPool2x2F32Fast(w, oh, ow int, plane, y []float32, idx []int32) bool {
	if !useAVX2 || ow < 4 || oh < 1 || 2*ow > w ||
		len(plane) < 2*oh*w || len(y) < oh*ow || len(idx) < oh*ow {
		return false
	}
	maxPool2x2F32(&plane[0], &y[0], &idx[0], w, oh, ow)
	return true
}
