package kernels

import "math"

// Max pooling over planes: s describes one plane's window geometry (N is
// the number of planes, C = O = 1). The forward pass finds each window's
// maximum and where it lies; the backward pass and its own backward only
// move values by those positions, so they never look at x again.

// poolingTasks splits planes of size hw into runs of about 64K input
// elements (a task per run), a split that depends on the shape alone.
func poolingTasks(planes, hw int) (tasks, per int) {
	per = max(1, (1<<16)/max(hw, 1))
	return (planes + per - 1) / per, per
}

func eachPlaneRun(planes, hw int, fn func(p0, p1 int)) {
	tasks, per := poolingTasks(planes, hw)
	Parallel(tasks, func(t int) { fn(t*per, min(planes, (t+1)*per)) })
}

// MaxPool2d sets y[p, oy, ox] to the maximum of the window of plane p of x
// [N, H, W] at (oy, ox), and idx to its position in the plane (iy·W + ix).
// Windows are scanned row by row; the first maximum wins, and a NaN beats
// every number (the first NaN wins). Padding takes no part: a window that
// lies wholly in it gives −Inf and index −1.
func MaxPool2d[T Float](s ConvShape, x, y []T, idx []int32) {
	hw, ohw := s.H*s.W, s.OH*s.OW
	simple := s.KH == 2 && s.KW == 2 && s.SH == 2 && s.SW == 2 && s.PH == 0 && s.PW == 0 && s.DH == 1 && s.DW == 1
	eachPlaneRun(s.N, hw, func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			plane := x[p*hw : (p+1)*hw]
			yp, ip := y[p*ohw:(p+1)*ohw], idx[p*ohw:(p+1)*ohw]
			if simple {
				maxPool2x2(s.W, s.OH, s.OW, plane, yp, ip)
			} else {
				maxPoolPlane(&s, plane, yp, ip)
			}
		}
	})
}

// better reports whether v replaces best as a window's maximum.
func better[T Float](v, best T) bool { return v > best || (v != v && best == best) }

// maxPool2x2 is the common 2x2, stride 2 pool. Float32 planes go to the
// AVX2 kernel where there is one (maxpool_amd64.s); it gives the same values
// and indices as maxPool2x2Go, bit for bit.
func maxPool2x2[T Float](w, oh, ow int, plane, y []T, idx []int32) {
	if isF32[T]() && maxPool2x2F32Fast(w, oh, ow, f32s(plane), f32s(y), idx) {
		return
	}
	maxPool2x2Go(w, oh, ow, plane, y, idx)
}

// maxPool2x2Go is maxPool2x2 in Go: the float64 path, the fallback, and
// the reference for the assembly. It compares pairs and picks values by
// index, which the compiler turns into flag-setting instructions rather
// than branches: on data with no order the branches of a plain scan
// mispredict and cost three times as much. A NaN anywhere in a window
// (found by its sum, which is NaN then) takes the plain scan.
func maxPool2x2Go[T Float](w, oh, ow int, plane, y []T, idx []int32) {
	for oy := range oh {
		top := plane[2*oy*w : (2*oy+2)*w]
		r0, r1 := top[:2*ow], top[w:w+2*ow]
		yr, ir := y[oy*ow:(oy+1)*ow], idx[oy*ow:(oy+1)*ow]
		base := int32(2 * oy * w)
		for ox := range yr {
			a, b, c, d := r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1]
			g0, g1 := b2i(b > a), b2i(d > c)
			g := b2i(r1[2*ox+g1] > r0[2*ox+g0])
			i := 2*ox + g0 + g*(w+g1-g0)
			if s := a + b + c + d; s != s {
				best, bi := a, 0
				if better(b, best) {
					best, bi = b, 1
				}
				if better(c, best) {
					best, bi = c, w
				}
				if better(d, best) {
					bi = w + 1
				}
				i = 2*ox + bi
			}
			ir[ox] = base + int32(i)
			yr[ox] = top[i]
		}
	}
}

func b2i(c bool) int {
	i := 0
	if c {
		i = 1
	}
	return i
}

func maxPoolPlane[T Float](s *ConvShape, plane, y []T, idx []int32) {
	for oy := range s.OH {
		for ox := range s.OW {
			var best T
			bi := int32(-1)
			for ki := range s.KH {
				iy := oy*s.SH - s.PH + ki*s.DH
				if iy < 0 || iy >= s.H {
					continue
				}
				for kj := range s.KW {
					ix := ox*s.SW - s.PW + kj*s.DW
					if ix < 0 || ix >= s.W {
						continue
					}
					q := iy*s.W + ix
					if v := plane[q]; bi < 0 || better(v, best) {
						best, bi = v, int32(q)
					}
				}
			}
			if bi < 0 {
				best = T(math.Inf(-1))
			}
			y[oy*s.OW+ox], idx[oy*s.OW+ox] = best, bi
		}
	}
}

// PoolScatter adds each g[p, i] into gx at position idx[p, i] of plane p
// (the backward pass of a max pool); entries with index −1 go nowhere. gx
// [N, H, W] is overwritten.
func PoolScatter[T Float](s ConvShape, g []T, idx []int32, gx []T) {
	hw, ohw := s.H*s.W, s.OH*s.OW
	simple := s.KH == 2 && s.KW == 2 && s.SH == 2 && s.SW == 2 && s.PH == 0 && s.PW == 0 && s.DH == 1 && s.DW == 1
	eachPlaneRun(s.N, hw, func(p0, p1 int) {
		if simple {
			for p := p0; p < p1; p++ {
				scatter2x2(s.W, s.OH, s.OW, g[p*ohw:(p+1)*ohw], idx[p*ohw:(p+1)*ohw], gx[p*hw:(p+1)*hw])
			}
			return
		}
		clear(gx[p0*hw : p1*hw])
		for p := p0; p < p1; p++ {
			plane := gx[p*hw : (p+1)*hw]
			for i, q := range idx[p*ohw : (p+1)*ohw] {
				if q >= 0 {
					plane[q] += g[p*ohw+i]
				}
			}
		}
	})
}

// scatter2x2 is PoolScatter of one plane for the 2x2, stride 2 pool, whose
// windows do not overlap: it writes each window whole (zeros, then the
// gradient at the winner) rather than clearing the plane and adding, one
// pass over it instead of two.
func scatter2x2[T Float](w, oh, ow int, g []T, idx []int32, plane []T) {
	for oy := range oh {
		top := plane[2*oy*w : (2*oy+2)*w]
		r0, r1 := top[:2*ow], top[w:w+2*ow]
		gr, ir := g[oy*ow:(oy+1)*ow], idx[oy*ow:(oy+1)*ow]
		base := int(2 * oy * w)
		for ox, v := range gr {
			r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1] = 0, 0, 0, 0
			top[int(ir[ox])-base] = v
		}
		// A last column no window covers.
		for c := 2 * ow; c < w; c++ {
			top[c], top[w+c] = 0, 0
		}
	}
	clear(plane[2*oh*w:]) // and a last row
}

// PoolGather sets y[p, i] to x at position idx[p, i] of plane p, or zero
// where the index is −1: the adjoint of PoolScatter.
func PoolGather[T Float](s ConvShape, x []T, idx []int32, y []T) {
	hw, ohw := s.H*s.W, s.OH*s.OW
	eachPlaneRun(s.N, hw, func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			plane := x[p*hw : (p+1)*hw]
			yp := y[p*ohw : (p+1)*ohw]
			for i, q := range idx[p*ohw : (p+1)*ohw] {
				var v T
				if q >= 0 {
					v = plane[q]
				}
				yp[i] = v
			}
		}
	})
}
