package kernels

import "unsafe"

// Packing: copying a slice of op(A) or op(B) into the slivers the
// micro-kernel reads. A slice of depth d of an operand X with cols columns
// (rows of op(A), columns of op(B)) becomes ceil(cols/w) slivers of w x d:
// sliver s holds, for each p in [0, d), the w values X(p, s*w..s*w+w),
// at dst[s*w*d+p*w:], followed by zeros past cols (tiles at the edge of C).
//
// How X lies in memory decides the traversal, so that reads run along
// stored rows (striding across rows touches a new page at every step and
// runs several times slower):
//   - along: X(p, q) = src[p*ld+q]: op(B) as stored, op(A) of a transposed
//     A. A stored row feeds every sliver; packAlong copies rows [pa, pb).
//   - across: X(p, q) = src[q*ld+p]: op(A) as stored, op(B) of a
//     transposed B. A sliver gathers w stored rows; packAcross packs
//     slivers [sa, sb), a transpose.

// packAlong packs rows [pa, pb) of a slice of depth d into all slivers.
// src[p*ld+q] is X(p, q).
func packAlong[T Float](dst, src []T, ld, pa, pb, d, cols, w int) {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		packAlong32(asF32(dst), asF32(src), ld, pa, pb, d, cols, w)
	} else {
		packAlong64(asF64(dst), asF64(src), ld, pa, pb, d, cols, w)
	}
}

// packAcross packs slivers [sa, sb) of a slice of depth d. src[q*ld+p] is
// X(p, q).
func packAcross[T Float](dst, src []T, ld, sa, sb, d, cols, w int) {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		packAcross32(asF32(dst), asF32(src), ld, sa, sb, d, cols, w)
	} else {
		packAcross64(asF64(dst), asF64(src), ld, sa, sb, d, cols, w)
	}
}

// asF32 and asF64 view a []T as the float type of its size (T's
// underlying type), so that the packing loops are compiled for it rather
// than for a generic shape.
func asF32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func asF64[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func packAlong32(dst, src []float32, ld, pa, pb, d, cols, w int) {
	for p := pa; p < pb; p++ {
		row := src[p*ld : p*ld+cols]
		for q := 0; q < cols; q += w {
			part := dst[q*d+p*w : q*d+p*w+w]
			clear(part[copySmall(part, row[q:]):])
		}
	}
}

func packAlong64(dst, src []float64, ld, pa, pb, d, cols, w int) {
	for p := pa; p < pb; p++ {
		row := src[p*ld : p*ld+cols]
		for q := 0; q < cols; q += w {
			part := dst[q*d+p*w : q*d+p*w+w]
			clear(part[copySmall(part, row[q:]):])
		}
	}
}

func packAcross32(dst, src []float32, ld, sa, sb, d, cols, w int) {
	for s := sa; s < sb; s++ {
		sl := dst[s*w*d : (s+1)*w*d]
		n := min(w, cols-s*w)
		for q := range n {
			o := (s*w + q) * ld
			for p, v := range src[o : o+d] {
				sl[p*w+q] = v
			}
		}
		for q := n; q < w; q++ {
			for p := range d {
				sl[p*w+q] = 0
			}
		}
	}
}

func packAcross64(dst, src []float64, ld, sa, sb, d, cols, w int) {
	for s := sa; s < sb; s++ {
		sl := dst[s*w*d : (s+1)*w*d]
		n := min(w, cols-s*w)
		for q := range n {
			o := (s*w + q) * ld
			for p, v := range src[o : o+d] {
				sl[p*w+q] = v
			}
		}
		for q := n; q < w; q++ {
			for p := range d {
				sl[p*w+q] = 0
			}
		}
	}
}

// copySmall is copy for the few elements of a sliver's step, where a loop
// beats copy's call into memmove.
func copySmall[T Float](dst, src []T) int {
	n := min(len(dst), len(src))
	for i, v := range src[:n] {
		dst[i] = v
	}
	return n
}
