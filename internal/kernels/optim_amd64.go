//go:build amd64 && !purego

package kernels

// The AVX2 loops of optim_amd64.s for float32. The wrappers cut the slices
// to len(p) first, so a short one fails here with an index error rather
// than in assembly.

// sgdPlainF32 is, for any n >= 0, sgdPlainGo (optim.go):
//
//	for i := range n { p[i] += float32(negLR * grad[i]) } // the product rounded, not fused
//
//go:noescape
func sgdPlainF32(p, grad *float32, n int, negLR float32)

// sgdMomentumF32 is, for any n >= 0, sgdMomentumGo, each product rounded:
//
//	for i := range n {
//		b := float32(buf[i]*mom) + float32(damp1*grad[i])
//		buf[i] = b
//		p[i] += float32(negLR * b)
//	}
//
//go:noescape
func sgdMomentumF32(p, grad, buf *float32, n int, mom, damp1, negLR float32)

// adamF32 is, for any n >= 0, adamGo (optim.go), each product rounded.
// c is AdamArgs packed in field order (beta1, beta1c, beta2, beta2c, wd,
// decay, negStep, bc2sqrt, eps); flags has adamWD for a coupled weight
// decay and adamDecay for AdamW's factor:
//
//	for i := range n {
//		gi, pi := grad[i], p[i]
//		if flags&adamWD != 0 { gi += float32(wd * pi) }
//		if flags&adamDecay != 0 { pi *= decay }
//		mi := float32(m[i]*beta1) + float32(beta1c*gi)
//		vi := float32(v[i]*beta2) + float32(beta2c*gi*gi)
//		m[i], v[i] = mi, vi
//		p[i] = pi + negStep*mi/(sqrt32(vi)/bc2sqrt+eps)
//	}
//
//go:noescape
func adamF32(p, grad, m, v *float32, n int, c *[9]float32, flags int)

// rmspropF32 is, for any n >= 0, rmspropGo (optim.go), each product
// rounded. c is alpha, alpha1, eps, mom, negLR; buf is nil without
// momentum:
//
//	for i := range n {
//		gi := grad[i]
//		vi := float32(sq[i]*alpha) + float32(alpha1*gi*gi)
//		sq[i] = vi
//		if buf == nil {
//			p[i] += negLR * gi / (sqrt32(vi) + eps)
//		} else {
//			b := float32(buf[i]*mom) + gi/(sqrt32(vi)+eps)
//			buf[i] = b
//			p[i] += float32(negLR * b)
//		}
//	}
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
