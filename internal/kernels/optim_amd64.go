//go:build amd64 && !purego

package kernels

// The AVX2 loops of optim_amd64.s for float32. The wrappers cut the slices
// to len(p) first, so a short one fails here with an index error rather
// than in assembly.

//go:noescape
func sgdPlainF32(p, grad *float32, n int, negLR float32)

//go:noescape
func sgdMomentumF32(p, grad, buf *float32, n int, mom, damp1, negLR float32)

// c is AdamArgs packed in field order; flags has adamWD for a coupled
// weight decay and adamDecay for AdamW's factor.
//
//go:noescape
func adamF32(p, grad, m, v *float32, n int, c *[9]float32, flags int)

// c is alpha, alpha1, eps, mom, negLR; buf is nil without momentum.
//
//go:noescape
func rmspropF32(p, grad, sq, buf *float32, n int, c *[9]float32)

const (
	adamWD    = 1
	adamDecay = 2
)

func sgdPlainF32Fast(p, g []float32, negLR float32) bool {
	n := len(p)
	if !useAVX2 || n == 0 {
		return n == 0
	}
	g = g[:n]
	sgdPlainF32(&p[0], &g[0], n, negLR)
	return true
}

func sgdMomentumF32Fast(p, g, buf []float32, mom, damp1, negLR float32) bool {
	n := len(p)
	if !useAVX2 || n == 0 {
		return n == 0
	}
	g, buf = g[:n], buf[:n]
	sgdMomentumF32(&p[0], &g[0], &buf[0], n, mom, damp1, negLR)
	return true
}

func adamF32Fast(p, g, m, v []float32, c *[9]float32) bool {
	n := len(p)
	if !useAVX2 || n == 0 {
		return n == 0
	}
	g, m, v = g[:n], m[:n], v[:n]
	flags := 0
	if c[4] != 0 {
		flags |= adamWD
	}
	if c[5] != 1 {
		flags |= adamDecay
	}
	adamF32(&p[0], &g[0], &m[0], &v[0], n, c, flags)
	return true
}

func rmspropF32Fast(p, g, sq, buf []float32, c *[9]float32) bool {
	n := len(p)
	if !useAVX2 || n == 0 {
		return n == 0
	}
	g, sq = g[:n], sq[:n]
	var b *float32
	if buf != nil {
		buf = buf[:n]
		b = &buf[0]
	}
	rmspropF32(&p[0], &g[0], &sq[0], b, n, c)
	return true
}
