package kernels

import (
	"math"
	"sync"
)

// Optimizer update kernels: the per-element rules of SGD, Adam and RMSprop
// over a parameter, its gradient and the optimizer's buffers. Each performs
// exactly the operations of the scalar Go loop it replaces, in the same
// order and each rounded in T, so that a fast path gives bit-identical
// results (the assembly uses separate multiplies and adds, never FMA, as Go
// does not fuse on amd64 either). The slices g and the buffers must be at
// least len(p) long.
//
// The update is memory-bound: three or four arrays are read and two or
// three written per element. Long slices are cut into fixed chunks of
// optimChunk elements that run on the kernel workers; since each element is
// computed alone, the cut changes who computes it, never the result.

const (
	optimChunk  = 1 << 14 // elements per parallel task (64 KiB of each float32 array)
	optimParMin = 2 * optimChunk
)

// SGDPlain sets p[i] += negLR*g[i]: SGD without momentum.
func SGDPlain[T Float](p, g []T, negLR T) {
	g = g[:len(p)]
	if len(p) >= optimParMin {
		runOptimJob(&optimJob[T]{op: opSGDPlain, p: p, g: g, c: [9]T{negLR}})
		return
	}
	sgdPlainRun(p, g, negLR)
}

// SGDMomentum applies SGD with momentum after its first step:
//
//	b := buf[i]*mom + damp1*g[i]; buf[i] = b; p[i] += negLR*b
//
// where damp1 is 1−dampening.
func SGDMomentum[T Float](p, g, buf []T, mom, damp1, negLR T) {
	g, buf = g[:len(p)], buf[:len(p)]
	if len(p) >= optimParMin {
		runOptimJob(&optimJob[T]{op: opSGDMomentum, p: p, g: g, a: buf, c: [9]T{mom, damp1, negLR}})
		return
	}
	sgdMomentumRun(p, g, buf, mom, damp1, negLR)
}

// AdamArgs holds the scalars of one Adam step, already rounded to T.
type AdamArgs[T Float] struct {
	Beta1, Beta1c, Beta2, Beta2c T // beta and 1−beta
	// WeightDecay, if not 0, is an L2 penalty added to the gradient
	// (Adam's coupled weight decay).
	WeightDecay T
	// Decay, if not 1, multiplies the parameter first (AdamW's 1−lr·wd).
	Decay   T
	NegStep T // −lr/(1−beta1ᵗ)
	BC2Sqrt T // sqrt(1−beta2ᵗ)
	Eps     T
}

func (a *AdamArgs[T]) pack() [9]T {
	return [9]T{a.Beta1, a.Beta1c, a.Beta2, a.Beta2c, a.WeightDecay, a.Decay, a.NegStep, a.BC2Sqrt, a.Eps}
}

// Adam applies one Adam step (without AMSGrad) to p, with m and v the
// running means of the gradient and of its square:
//
//	gi := g[i] + WeightDecay*p[i]          (if WeightDecay ≠ 0)
//	p[i] *= Decay                          (if Decay ≠ 1)
//	mi := m[i]*Beta1 + Beta1c*gi
//	vi := v[i]*Beta2 + Beta2c*gi*gi
//	p[i] += NegStep*mi / (sqrt(vi)/BC2Sqrt + Eps)
func Adam[T Float](p, g, m, v []T, a AdamArgs[T]) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	c := a.pack()
	if len(p) >= optimParMin {
		runOptimJob(&optimJob[T]{op: opAdam, p: p, g: g, a: m, b: v, c: c})
		return
	}
	adamRun(p, g, m, v, &c)
}

// RMSprop applies one RMSprop step (not centered, no weight decay) to p,
// with sq the running mean of squares and buf the momentum buffer, nil for
// none:
//
//	vi := sq[i]*alpha + alpha1*g[i]*g[i]; d := sqrt(vi) + eps
//	b := buf[i]*mom + g[i]/d; p[i] += negLR*b   (with momentum)
//	p[i] += negLR*g[i] / d                      (without)
//
// where alpha1 is 1−alpha.
func RMSprop[T Float](p, g, sq, buf []T, alpha, alpha1, eps, mom, negLR T) {
	g, sq = g[:len(p)], sq[:len(p)]
	if buf != nil {
		buf = buf[:len(p)]
	}
	c := [9]T{alpha, alpha1, eps, mom, negLR}
	if len(p) >= optimParMin {
		runOptimJob(&optimJob[T]{op: opRMSprop, p: p, g: g, a: sq, b: buf, c: c})
		return
	}
	rmspropRun(p, g, sq, buf, &c)
}

type optimOp uint8

const (
	opSGDPlain optimOp = iota
	opSGDMomentum
	opAdam
	opRMSprop
)

// optimJob is one update spread over the workers. Jobs are pooled, with
// their task function bound once, because Parallel keeps its function in a
// global: a closure per call would cost an allocation per parameter per
// step, and an optimizer step allocates nothing.
type optimJob[T Float] struct {
	op         optimOp
	p, g, a, b []T
	c          [9]T
	task       func(int)
}

var optimJobs [2]sync.Pool // float32, float64

func runOptimJob[T Float](spec *optimJob[T]) {
	pool := &optimJobs[1]
	if isF32[T]() {
		pool = &optimJobs[0]
	}
	j, _ := pool.Get().(*optimJob[T])
	if j == nil {
		j = new(optimJob[T])
		j.task = j.run
	}
	task := j.task
	*j = *spec
	j.task = task
	Parallel((len(j.p)+optimChunk-1)/optimChunk, j.task)
	j.p, j.g, j.a, j.b = nil, nil, nil, nil
	pool.Put(j)
}

// run updates chunk i.
func (j *optimJob[T]) run(i int) {
	lo := i * optimChunk
	hi := min(lo+optimChunk, len(j.p))
	p, g := j.p[lo:hi], j.g[lo:hi]
	switch j.op {
	case opSGDPlain:
		sgdPlainRun(p, g, j.c[0])
	case opSGDMomentum:
		sgdMomentumRun(p, g, j.a[lo:hi], j.c[0], j.c[1], j.c[2])
	case opAdam:
		adamRun(p, g, j.a[lo:hi], j.b[lo:hi], &j.c)
	case opRMSprop:
		var buf []T
		if j.b != nil {
			buf = j.b[lo:hi]
		}
		rmspropRun(p, g, j.a[lo:hi], buf, &j.c)
	}
}

// The runs: one goroutine's share, in assembly where there is some, else
// the Go loops below. Slices are already cut to len(p).

func sgdPlainRun[T Float](p, g []T, negLR T) {
	if isF32[T]() && sgdPlainF32Fast(f32s(p), f32s(g), float32(negLR)) {
		return
	}
	sgdPlainGo(p, g, negLR)
}

func sgdMomentumRun[T Float](p, g, buf []T, mom, damp1, negLR T) {
	if isF32[T]() && sgdMomentumF32Fast(f32s(p), f32s(g), f32s(buf), float32(mom), float32(damp1), float32(negLR)) {
		return
	}
	sgdMomentumGo(p, g, buf, mom, damp1, negLR)
}

func adamRun[T Float](p, g, m, v []T, c *[9]T) {
	if isF32[T]() && adamF32Fast(f32s(p), f32s(g), f32s(m), f32s(v), (*[9]float32)(f32s(c[:]))) {
		return
	}
	adamGo(p, g, m, v, c)
}

func rmspropRun[T Float](p, g, sq, buf []T, c *[9]T) {
	if isF32[T]() && rmspropF32Fast(f32s(p), f32s(g), f32s(sq), f32s(buf), (*[9]float32)(f32s(c[:]))) {
		return
	}
	rmspropGo(p, g, sq, buf, c)
}

// The portable loops, the definition the assembly must match bit for bit.
// The explicit conversions round each product before it is added, as the
// spec requires of them: without, a compiler may fuse x*y + z into one FMA
// (Go does on arm64, and on amd64 from GOAMD64=v3), which rounds once.

func sgdPlainGo[T Float](p, g []T, negLR T) {
	g = g[:len(p)]
	for i, d := range g {
		p[i] += T(negLR * d)
	}
}

func sgdMomentumGo[T Float](p, g, buf []T, mom, damp1, negLR T) {
	g, buf = g[:len(p)], buf[:len(p)]
	for i, d := range g {
		b := T(buf[i]*mom) + T(damp1*d)
		buf[i] = b
		p[i] += T(negLR * b)
	}
}

func adamGo[T Float](p, g, m, v []T, c *[9]T) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	beta1, beta1c, beta2, beta2c := c[0], c[1], c[2], c[3]
	wd, decay, negStep, bc2sqrt, eps := c[4], c[5], c[6], c[7], c[8]
	// One loop per weight-decay configuration keeps the branches out of
	// the element loop.
	switch {
	case wd == 0 && decay == 1:
		for i, gi := range g {
			mi := T(m[i]*beta1) + T(beta1c*gi)
			m[i] = mi
			vi := T(v[i]*beta2) + T(beta2c*gi*gi)
			v[i] = vi
			p[i] += negStep * mi / (T(math.Sqrt(float64(vi)))/bc2sqrt + eps)
		}
	default:
		useWD, useDecay := wd != 0, decay != 1
		for i, gi := range g {
			pi := p[i]
			if useWD {
				gi += T(wd * pi)
			}
			if useDecay {
				pi *= decay
			}
			mi := T(m[i]*beta1) + T(beta1c*gi)
			m[i] = mi
			vi := T(v[i]*beta2) + T(beta2c*gi*gi)
			v[i] = vi
			p[i] = pi + negStep*mi/(T(math.Sqrt(float64(vi)))/bc2sqrt+eps)
		}
	}
}

func rmspropGo[T Float](p, g, sq, buf []T, c *[9]T) {
	g, sq = g[:len(p)], sq[:len(p)]
	alpha, alpha1, eps, mom, negLR := c[0], c[1], c[2], c[3], c[4]
	if buf == nil {
		for i, gi := range g {
			vi := T(sq[i]*alpha) + T(alpha1*gi*gi)
			sq[i] = vi
			p[i] += negLR * gi / (T(math.Sqrt(float64(vi))) + eps)
		}
		return
	}
	buf = buf[:len(p)]
	for i, gi := range g {
		vi := T(sq[i]*alpha) + T(alpha1*gi*gi)
		sq[i] = vi
		b := T(buf[i]*mom) + gi/(T(math.Sqrt(float64(vi)))+eps)
		buf[i] = b
		p[i] += T(negLR * b)
	}
}
