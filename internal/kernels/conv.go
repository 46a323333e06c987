package kernels

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Convolution as im2col + Gemm, one image at a time. Each image's receptive
// fields are copied into a matrix of cg·kH·kW rows and OH·OW columns that
// stays in the core's cache (a batch-wide matrix would be megabytes
// written out to memory and read back), and one Gemm per image and group
// multiplies it with the weight. The images of a batch run side by side
// on the workers (kernels.Parallel); the Gemm inside then runs on the
// worker's goroutine. With a single image the loop is serial and the Gemm
// parallel instead. Either way every output element is computed by the
// same code in the same order, so the thread count changes no bit.

// ConvShape is the geometry of a 2-d convolution: input [N, C, H, W],
// weight [O, C/Groups, KH, KW], output [N, O, OH, OW], with strides,
// zero padding and dilations. A pooling kernel uses it with C = O = 1 and
// N planes.
type ConvShape struct {
	N, C, H, W     int
	O, KH, KW      int
	Groups         int
	SH, SW, PH, PW int
	DH, DW         int
	OH, OW         int
}

// CG is the number of input channels per group, OG of output channels.
func (s *ConvShape) CG() int { return s.C / s.Groups }

// OG is the number of output channels per group.
func (s *ConvShape) OG() int { return s.O / s.Groups }

// K is the length of one receptive field: CG·KH·KW.
func (s *ConvShape) K() int { return s.CG() * s.KH * s.KW }

// identityCols reports whether im2col would copy the input unchanged (a
// 1x1 convolution with stride 1 and no padding), so it can be skipped.
func (s *ConvShape) identityCols() bool {
	return s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PH == 0 && s.PW == 0 && s.OH == s.H && s.OW == s.W
}

// validRange returns the outputs o in [lo, hi) whose input position
// o*stride + off lies in [0, size), of the out outputs.
func validRange(off, stride, size, out int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if size-off > 0 {
		hi = min(out, (size-off+stride-1)/stride)
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// im2col copies the receptive fields of CG channels of one image (x holds
// CG planes of H·W) into cols [CG·KH·KW, OH·OW]: row (ci, ki, kj), column
// (oy, ox) holds x[ci, oy·SH − PH + ki·DH, ox·SW − PW + kj·DW], zero where
// that lies in the padding.
func im2col[T Float](s *ConvShape, x, cols []T) {
	ohw, hw := s.OH*s.OW, s.H*s.W
	// A stride-1 convolution that keeps the width maps each row of cols
	// onto one contiguous run of the plane: one copy, then zeros at the
	// columns that wrapped around an edge.
	flat := s.SH == 1 && s.SW == 1 && s.OW == s.W
	row := 0
	for ci := range s.CG() {
		plane := x[ci*hw : (ci+1)*hw]
		for ki := range s.KH {
			offY := ki*s.DH - s.PH
			oy0, oy1 := validRange(offY, s.SH, s.H, s.OH)
			for kj := range s.KW {
				dst := cols[row*ohw : (row+1)*ohw]
				row++
				offX := kj*s.DW - s.PW
				ox0, ox1 := validRange(offX, s.SW, s.W, s.OW)
				clear(dst[:oy0*s.OW])
				clear(dst[oy1*s.OW:])
				if ox0 == ox1 {
					clear(dst[oy0*s.OW : oy1*s.OW])
					continue
				}
				if flat {
					if oy0 == oy1 {
						continue
					}
					lo, hi := oy0*s.OW+ox0, (oy1-1)*s.OW+ox1
					d := offY*s.W + offX
					copy(dst[lo:hi], plane[lo+d:hi+d])
					if ox0 > 0 || ox1 < s.OW {
						for oy := oy0; oy < oy1; oy++ {
							r := dst[oy*s.OW : (oy+1)*s.OW]
							zeroSmall(r[:ox0])
							zeroSmall(r[ox1:])
						}
					}
					continue
				}
				for oy := oy0; oy < oy1; oy++ {
					r := dst[oy*s.OW : (oy+1)*s.OW]
					zeroSmall(r[:ox0])
					zeroSmall(r[ox1:])
					src := plane[(oy*s.SH+offY)*s.W:]
					if s.SW == 1 {
						copy(r[ox0:ox1], src[ox0+offX:ox1+offX])
						continue
					}
					ix := ox0*s.SW + offX
					for ox := ox0; ox < ox1; ox++ {
						r[ox] = src[ix]
						ix += s.SW
					}
				}
			}
		}
	}
}

// col2im adds cols [CG·KH·KW, OH·OW] back into CG planes of one image:
// the adjoint of im2col. Each input element receives its contributions
// in the order of cols' rows. It may overwrite the entries of cols that
// fall in the padding.
func col2im[T Float](s *ConvShape, cols, x []T) {
	ohw, hw := s.OH*s.OW, s.H*s.W
	if s.SH == 1 && s.SW == 1 && s.OW == s.W {
		for ci := range s.CG() {
			col2imFlat(s, cols[ci*s.KH*s.KW*ohw:], x[ci*hw:(ci+1)*hw])
		}
		return
	}
	row := 0
	for ci := range s.CG() {
		plane := x[ci*hw : (ci+1)*hw]
		for ki := range s.KH {
			offY := ki*s.DH - s.PH
			oy0, oy1 := validRange(offY, s.SH, s.H, s.OH)
			for kj := range s.KW {
				src := cols[row*ohw : (row+1)*ohw]
				row++
				offX := kj*s.DW - s.PW
				ox0, ox1 := validRange(offX, s.SW, s.W, s.OW)
				for oy := oy0; oy < oy1 && ox0 < ox1; oy++ {
					r := src[oy*s.OW+ox0 : oy*s.OW+ox1]
					dst := plane[(oy*s.SH+offY)*s.W:]
					if s.SW == 1 {
						addTo(dst[ox0+offX:ox1+offX], r)
						continue
					}
					ix := ox0*s.SW + offX
					for _, v := range r {
						dst[ix] += v
						ix += s.SW
					}
				}
			}
		}
	}
}

// zeroSmall clears the few elements of d, the columns of a row that lie in
// the padding: a loop, where clear would call memclr for one or two.
func zeroSmall[T Float](d []T) {
	for i := 0; i < len(d); i++ {
		d[i] = 0
	}
}

// addTo adds src into dst, element by element.
func addTo[T Float](dst, src []T) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// col2imFlat is col2im of one channel for a stride-1 convolution that keeps
// the width: as in im2col, each row of cols then maps onto one run of the
// plane, shifted. The entries of the columns that would wrap around an
// edge are zeroed first, so that they add nothing (the plane starts at +0
// and never holds −0, so adding +0 changes no bit). With three kernel
// columns, the three rows of a kernel row are added in one pass where
// their runs overlap, which reads and writes the plane once rather than
// three times; each element still receives its terms in row order.
func col2imFlat[T Float](s *ConvShape, cols, plane []T) {
	ohw := s.OH * s.OW
	var lo, hi, d [3]int
	for ki := range s.KH {
		offY := ki*s.DH - s.PH
		oy0, oy1 := validRange(offY, 1, s.H, s.OH)
		if oy0 == oy1 {
			continue
		}
		rows := cols[ki*s.KW*ohw : (ki+1)*s.KW*ohw]
		// span zeroes row kj's wrapped entries and returns its run: src
		// [lo, hi) adds into plane [lo+d, hi+d).
		span := func(kj int) (lo, hi, d int) {
			src := rows[kj*ohw : (kj+1)*ohw]
			offX := kj*s.DW - s.PW
			ox0, ox1 := validRange(offX, 1, s.W, s.OW)
			if ox0 == ox1 {
				return 0, 0, 0
			}
			if ox0 > 0 || ox1 < s.OW {
				for oy := oy0; oy < oy1; oy++ {
					r := src[oy*s.OW : (oy+1)*s.OW]
					zeroSmall(r[:ox0])
					zeroSmall(r[ox1:])
				}
			}
			return oy0*s.OW + ox0, (oy1-1)*s.OW + ox1, offY*s.W + offX
		}
		if s.KW != 3 {
			for kj := range s.KW {
				l, h, dd := span(kj)
				addTo(plane[l+dd:h+dd], rows[kj*ohw+l:kj*ohw+h])
			}
			continue
		}
		qa, qb := 0, len(plane)
		for kj := range 3 {
			lo[kj], hi[kj], d[kj] = span(kj)
			qa, qb = max(qa, lo[kj]+d[kj]), min(qb, hi[kj]+d[kj])
		}
		if qa >= qb { // no common run: one row at a time
			for kj := range 3 {
				addTo(plane[lo[kj]+d[kj]:hi[kj]+d[kj]], rows[kj*ohw+lo[kj]:kj*ohw+hi[kj]])
			}
			continue
		}
		// The parts before the common run, row by row; the common run, all
		// three rows at once; the parts after it, row by row.
		for kj := range 3 {
			if q := lo[kj] + d[kj]; q < qa {
				addTo(plane[q:qa], rows[kj*ohw+lo[kj]:])
			}
		}
		p := plane[qa:qb]
		r0 := rows[qa-d[0] : qb-d[0]][:len(p)]
		r1 := rows[ohw+qa-d[1] : ohw+qb-d[1]][:len(p)]
		r2 := rows[2*ohw+qa-d[2] : 2*ohw+qb-d[2]][:len(p)]
		for i := range p {
			p[i] = p[i] + r0[i] + r1[i] + r2[i]
		}
		for kj := range 3 {
			if q := hi[kj] + d[kj]; qb < q {
				addTo(plane[qb:q], rows[kj*ohw+qb-d[kj]:])
			}
		}
	}
}

// eachImage calls fn for every image of a batch, side by side when there
// are several, else with the products parallel inside.
func eachImage(n int, fn func(n int)) {
	if n > 1 {
		Parallel(n, fn)
		return
	}
	for i := range n {
		fn(i)
	}
}

// ConvForward computes y [N, O, OH, OW] = x [N, C, H, W] ⋆ w [O, CG, KH,
// KW] (cross-correlation), plus bias [O] when bias is not nil. All slices
// are contiguous.
func ConvForward[T Float](s ConvShape, x, w, bias, y []T) {
	K, ohw, og, cg, hw := s.K(), s.OH*s.OW, s.OG(), s.CG(), s.H*s.W
	eachImage(s.N, func(n int) {
		var colsBuf *[]T
		if !s.identityCols() {
			colsBuf = getConvScratch[T](K * ohw)
		}
		for g := range s.Groups {
			cols := x[(n*s.C+g*cg)*hw:]
			if colsBuf != nil {
				cols = *colsBuf
				im2col(&s, x[(n*s.C+g*cg)*hw:], cols)
			}
			// The product starts from the bias, so that adding it costs
			// no extra pass over the output.
			yg := y[(n*s.O+g*og)*ohw : (n*s.O+(g+1)*og)*ohw]
			beta := T(0)
			if bias != nil {
				for o := range og {
					fill(yg[o*ohw:(o+1)*ohw], bias[g*og+o])
				}
				beta = 1
			}
			Gemm(false, false, og, ohw, K, 1, w[g*og*K:], K, cols, ohw, beta, yg, ohw)
		}
		if colsBuf != nil {
			putConvScratch(colsBuf)
		}
	})
}

func fill[T Float](d []T, v T) {
	for i := range d {
		d[i] = v
	}
}

// transpose sets dst [cols, rows] to the transpose of the rows x cols
// matrix src with row stride ld. It reads four rows at a time and writes
// four neighbouring values of dst per column, which runs about three
// times as fast as a plain double loop.
func transpose[T Float](rows, cols int, src []T, ld int, dst []T) {
	i := 0
	for ; i+4 <= rows; i += 4 {
		r0 := src[i*ld : i*ld+cols]
		r1 := src[(i+1)*ld : (i+1)*ld+cols][:len(r0)]
		r2 := src[(i+2)*ld : (i+2)*ld+cols][:len(r0)]
		r3 := src[(i+3)*ld : (i+3)*ld+cols][:len(r0)]
		for j, v := range r0 {
			d := (*[4]T)(dst[j*rows+i:])
			d[0], d[1], d[2], d[3] = v, r1[j], r2[j], r3[j]
		}
	}
	for ; i < rows; i++ {
		for j, v := range src[i*ld : i*ld+cols] {
			dst[j*rows+i] = v
		}
	}
}

// ConvBackwardInput computes gx [N, C, H, W], the gradient of a
// convolution with respect to its input, from the output gradient gy
// [N, O, OH, OW] and the weight w: a transposed convolution, the
// product wᵀ·gy_n for each image followed by col2im. gx is overwritten.
func ConvBackwardInput[T Float](s ConvShape, gy, w, gx []T) {
	K, ohw, og, cg, hw := s.K(), s.OH*s.OW, s.OG(), s.CG(), s.H*s.W
	eachImage(s.N, func(n int) {
		var colsBuf *[]T
		if !s.identityCols() {
			colsBuf = getConvScratch[T](K * ohw)
		}
		for g := range s.Groups {
			gxg := gx[(n*s.C+g*cg)*hw : (n*s.C+(g+1)*cg)*hw]
			gyg := gy[(n*s.O+g*og)*ohw:]
			if colsBuf == nil { // a 1x1 kernel: the product is the gradient
				Gemm(true, false, K, ohw, og, 1, w[g*og*K:], K, gyg, ohw, 0, gxg, ohw)
				continue
			}
			cols := *colsBuf
			Gemm(true, false, K, ohw, og, 1, w[g*og*K:], K, gyg, ohw, 0, cols, ohw)
			clear(gxg)
			col2im(&s, cols, gxg)
		}
		if colsBuf != nil {
			putConvScratch(colsBuf)
		}
	})
}

// convChunks is how many runs of images the weight and bias gradients of
// a batch are summed in, so that the runs can be computed side by side.
// It depends on the batch size alone, which fixes the order of every sum:
// each run sums its images in order, then the runs are added in order.
func convChunks(n int) int {
	if n <= 1 {
		return 1
	}
	return min(n, 8)
}

func chunkImages(c, chunks, n int) (n0, n1 int) { return c * n / chunks, (c + 1) * n / chunks }

// ConvBackwardWeight computes gw [O, CG, KH, KW], the gradient of a
// convolution with respect to its weight, from the input x and the output
// gradient gy; and, when gb is not nil, gb [O], the gradient of its bias,
// exactly as ConvBiasGrad does, while gy is in cache. gw and gb are
// overwritten.
//
// Each image's product is gy_n [OG, OH·OW] times its receptive fields laid
// out one output position per row, [OH·OW, KH·KW·CG] (im2row, channels
// last, so that each position and kernel row is one run of the input):
// Gemm packs that operand with copies along its rows, where im2col's
// layout would have it transposed element by element. When the runs
// would be short (few channels), the rows are im2col's transposed
// instead. When a group has fewer weights per output channel than output
// channels (a first layer on one input channel), the product is taken
// the other way round, rowsᵀ·gy_nᵀ, which fits Gemm's tiles better. The
// sums are permuted into the weight's layout at the end. All of these
// choices follow from the shape.
func ConvBackwardWeight[T Float](s ConvShape, x, gy, gw, gb []T) {
	K, ohw, og, cg, hw := s.K(), s.OH*s.OW, s.OG(), s.CG(), s.H*s.W
	size := s.O * K
	if s.N == 0 {
		clear(gw)
		clear(gb)
		return
	}
	flip := K < og
	viaCols := s.KW*cg < 16
	chunks := convChunks(s.N)
	part := getConvScratch[T](chunks * size)
	partial := *part
	var bacc []float64
	if gb != nil {
		bacc = make([]float64, chunks*s.O)
	}
	// run sums the images of chunk c into its partial sums: per group,
	// [OG, K] or, when flipped, [K, OG].
	run := func(c int) {
		n0, n1 := chunkImages(c, chunks, s.N)
		dst := partial[c*size : (c+1)*size]
		rowsBuf := getConvScratch[T](ohw * K)
		rows := *rowsBuf
		var xtBuf *[]T
		if viaCols {
			xtBuf = getConvScratch[T](K * ohw)
		} else if cg > 1 {
			xtBuf = getConvScratch[T](hw * cg)
		}
		for n := n0; n < n1; n++ {
			beta := T(1)
			if n == n0 {
				beta = 0
			}
			for g := range s.Groups {
				xg := x[(n*s.C+g*cg)*hw : (n*s.C+(g+1)*cg)*hw]
				switch {
				case viaCols:
					cols := *xtBuf
					im2col(&s, xg, cols)
					transpose(K, ohw, cols, ohw, rows)
				case xtBuf != nil:
					xt := *xtBuf
					transpose(cg, hw, xg, hw, xt)
					im2row(&s, xt, rows)
				default:
					im2row(&s, xg, rows)
				}
				gyg := gy[(n*s.O+g*og)*ohw:]
				if flip {
					Gemm(true, true, K, og, ohw, 1, rows, K, gyg, ohw, beta, dst[g*og*K:], og)
				} else {
					Gemm(false, false, og, K, ohw, 1, gyg, ohw, rows, K, beta, dst[g*og*K:], K)
				}
			}
			if bacc != nil {
				biasRows(gy[n*s.O*ohw:(n+1)*s.O*ohw], ohw, bacc[c*s.O:(c+1)*s.O])
			}
		}
		putConvScratch(rowsBuf)
		if xtBuf != nil {
			putConvScratch(xtBuf)
		}
	}
	if chunks == 1 {
		run(0)
	} else {
		Parallel(chunks, run)
	}
	sum := partial[:size]
	for c := 1; c < chunks; c++ {
		for i, v := range partial[c*size : (c+1)*size] {
			sum[i] += v
		}
	}
	// sum holds, per group, [o][r] (or [r][o] when flipped), where r is
	// (ki·KW + kj)·CG + ci, or the weight's own ci·KH·KW + ki·KW + kj when
	// the rows came from im2col.
	kk := s.KH * s.KW
	for g := range s.Groups {
		sg := sum[g*og*K : (g+1)*og*K]
		for o := range og {
			dst := gw[(g*og+o)*K : (g*og+o+1)*K]
			for t := range kk {
				for ci := range cg {
					r := t*cg + ci
					if viaCols {
						r = ci*kk + t
					}
					if flip {
						dst[ci*kk+t] = sg[r*og+o]
					} else {
						dst[ci*kk+t] = sg[o*K+r]
					}
				}
			}
		}
	}
	putConvScratch(part)
	if gb != nil {
		sumChunks(bacc, chunks, gb)
	}
}

// biasRows adds the sum of each row of the [O, ohw] matrix g to acc[o].
// A row sums in float64 in four interleaved running sums (one alone would
// wait on every addition), combined as (s0 + s1) + (s2 + s3).
func biasRows[T Float](g []T, ohw int, acc []float64) {
	for o := range acc {
		r := g[o*ohw : (o+1)*ohw]
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= len(r); i += 4 {
			s0 += float64(r[i])
			s1 += float64(r[i+1])
			s2 += float64(r[i+2])
			s3 += float64(r[i+3])
		}
		for ; i < len(r); i++ {
			s0 += float64(r[i])
		}
		acc[o] += (s0 + s1) + (s2 + s3)
	}
}

// sumChunks sets out[o] to the sum over chunks of acc[c*len(out)+o], in
// chunk order.
func sumChunks[T Float](acc []float64, chunks int, out []T) {
	for o := range out {
		v := 0.0
		for c := range chunks {
			v += acc[c*len(out)+o]
		}
		out[o] = T(v)
	}
}

// ConvBiasGrad sets gb[o] to the sum of gy [N, O, OH·OW] over its images
// and positions, for each output channel: the gradient of a convolution's
// bias. It sums in float64, in the runs of images of ConvBackwardWeight
// and in the same order, so that both give the same bits.
func ConvBiasGrad[T Float](s ConvShape, gy, gb []T) {
	ohw := s.OH * s.OW
	chunks := convChunks(s.N)
	acc := make([]float64, chunks*s.O)
	Parallel(chunks, func(c int) {
		n0, n1 := chunkImages(c, chunks, s.N)
		for n := n0; n < n1; n++ {
			biasRows(gy[n*s.O*ohw:(n+1)*s.O*ohw], ohw, acc[c*s.O:(c+1)*s.O])
		}
	})
	sumChunks(acc, chunks, gb)
}

// im2row writes the receptive fields of one image's group of channels,
// given channels last (xt [H·W, CG]), as rows [OH·OW, KH·KW·CG]: row
// (oy, ox), column (ki, kj, ci) holds x[ci, oy·SH − PH + ki·DH,
// ox·SW − PW + kj·DW], zero in the padding. With dilation 1 the kj of
// one ki are neighbours in xt, so each (oy, ox, ki) is one run.
func im2row[T Float](s *ConvShape, xt, rows []T) {
	cg := s.CG()
	K := s.KH * s.KW * cg
	span := s.KW * cg
	for oy := range s.OH {
		for ox := range s.OW {
			r := rows[(oy*s.OW+ox)*K : (oy*s.OW+ox+1)*K]
			ix0 := ox*s.SW - s.PW
			for ki := range s.KH {
				d := r[ki*span : (ki+1)*span]
				iy := oy*s.SH - s.PH + ki*s.DH
				if iy < 0 || iy >= s.H {
					clear(d)
					continue
				}
				src := xt[iy*s.W*cg : (iy+1)*s.W*cg]
				if s.DW == 1 && ix0 >= 0 && ix0+s.KW <= s.W {
					copyRun(d, src[ix0*cg:(ix0+s.KW)*cg])
					continue
				}
				for kj := range s.KW {
					dk := d[kj*cg : (kj+1)*cg]
					ix := ix0 + kj*s.DW
					if ix < 0 || ix >= s.W {
						clear(dk)
						continue
					}
					copyRun(dk, src[ix*cg:(ix+1)*cg])
				}
			}
		}
	}
}

// copyRun is copy for the short runs of im2row, where a loop beats a call
// into memmove.
func copyRun[T Float](dst, src []T) {
	if len(src) >= 32 {
		copy(dst, src)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// Scratch matrices (im2col's columns, partial sums) are reused across
// calls: a training step convolves the same shapes again and again. Pools
// are kept per power-of-two size, so that the small matrices of one layer
// do not crowd out the large ones of another.
var convScratch [2][48]sync.Pool

func getConvScratch[T Float](n int) *[]T {
	var zero T
	class := bits.Len(uint(max(n, 1) - 1))
	p := &convScratch[unsafe.Sizeof(zero)/8][class]
	if v, ok := p.Get().(*[]T); ok {
		*v = (*v)[:n]
		return v
	}
	s := make([]T, n, 1<<class)
	return &s
}

func putConvScratch[T Float](s *[]T) {
	var zero T
	class := bits.Len(uint(cap(*s) - 1))
	convScratch[unsafe.Sizeof(zero)/8][class].Put(s)
}
