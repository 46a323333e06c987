package optim

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/kernels"
)

// RMSprop divides each gradient by a running root mean square of recent
// gradients, with PyTorch's update rule (torch.optim.RMSprop). For each
// parameter p with gradient g:
//
//	g ← g + weightDecay·p                    (if weightDecay ≠ 0)
//	v ← alpha·v + (1−alpha)·g²
//	a ← alpha·a + (1−alpha)·g                (centered)
//	d ← sqrt(v − a²) + eps if centered, else sqrt(v) + eps
//	b ← momentum·b + g/d;  p ← p − lr·b      (if momentum > 0)
//	p ← p − lr·g/d                           (otherwise)
//
// Note that eps is added after the square root (TensorFlow adds it
// inside). Its state per parameter is "<name>.square_avg", plus
// "<name>.momentum_buffer" with momentum and "<name>.grad_avg" when
// centered.
type RMSprop struct {
	base
	mom, avg int // buffer indices; -1 when absent
}

// NewRMSprop returns an RMSprop optimizer over params with learning rate lr
// (PyTorch's default is 0.01). It takes the options Alpha, Eps,
// WeightDecay, Momentum, Centered and Maximize.
func NewRMSprop(params []Param, lr float64, opts ...Option) *RMSprop {
	return newRMSprop([]Group{{Params: params}}, false, lr, opts)
}

// NewRMSpropGroups returns an RMSprop optimizer over parameter groups, each
// with its own LRScale, WeightDecay, Alpha and Eps (see Group); opts apply
// to every group.
func NewRMSpropGroups(groups []Group, lr float64, opts ...Option) *RMSprop {
	return newRMSprop(groups, true, lr, opts)
}

var rmspropOptions = []string{"Alpha", "Eps", "WeightDecay", "Momentum", "Centered", "Maximize"}

func newRMSprop(groups []Group, grouped bool, lr float64, opts []Option) *RMSprop {
	h := hyper{lrScale: 1, alpha: 0.99, eps: 1e-8}
	applyOptions("RMSprop", &h, rmspropOptions, opts)
	o := &RMSprop{mom: -1, avg: -1}
	kinds := []string{"square_avg"}
	if h.momentum > 0 {
		o.mom = len(kinds)
		kinds = append(kinds, "momentum_buffer")
	}
	if h.centered {
		o.avg = len(kinds)
		kinds = append(kinds, "grad_avg")
	}
	o.base = newGroupedBase("RMSprop", groups, grouped, lr, kinds, h, rmspropOptions, checkRMSprop)
	return o
}

func checkRMSprop(h *hyper) error {
	for _, f := range []struct {
		what string
		v    float64
	}{{"alpha", h.alpha}, {"eps", h.eps}, {"momentum", h.momentum}, {"weight decay", h.weightDecay}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("invalid %s %v", f.what, f.v)
		}
	}
	return nil
}

// Step updates every parameter that has a gradient.
func (o *RMSprop) Step() {
	o.steps++
	for i, p := range o.params {
		g := o.grad(i)
		if g == nil {
			continue
		}
		o.pstep[i]++
		bs := o.buffers(i)
		h, lr := o.hyperOf(i)
		if p.T.DType() == bp.Float32 {
			rmspropUpdate(p.T.F32(), g.F32(), bs[0].F32(), stepBuf(bs, o.mom, raw32), stepBuf(bs, o.avg, raw32), lr, h)
		} else {
			rmspropUpdate(p.T.F64(), g.F64(), bs[0].F64(), stepBuf(bs, o.mom, raw64), stepBuf(bs, o.avg, raw64), lr, h)
		}
	}
}

// rmspropUpdate applies one RMSprop step to p: sq is the running mean of
// squares, buf the momentum buffer (nil without momentum) and ga the running
// mean (nil unless centered).
func rmspropUpdate[T float](p, g, sq, buf, ga []T, lr float64, h *hyper) {
	g, sq = g[:len(p)], sq[:len(p)]
	wd, alpha, alpha1, eps := T(h.weightDecay), T(h.alpha), T(1-h.alpha), T(h.eps)
	mom, negLR := T(h.momentum), T(-lr)
	useWD, maximize := h.weightDecay != 0, h.maximize
	useMom, centered := buf != nil, ga != nil
	if useMom {
		buf = buf[:len(p)]
	}
	if centered {
		ga = ga[:len(p)]
	}
	if !useWD && !maximize && !centered {
		// The vector kernel does the loop below in this configuration.
		kernels.RMSprop(p, g, sq, buf, alpha, alpha1, eps, mom, negLR)
		return
	}
	for i := range p {
		gi := g[i]
		if maximize {
			gi = -gi
		}
		if useWD {
			gi += wd * p[i]
		}
		v := sq[i]*alpha + alpha1*gi*gi
		sq[i] = v
		if centered {
			a := ga[i]*alpha + alpha1*gi
			ga[i] = a
			v -= a * a
		}
		d := sqrtT(v) + eps
		if useMom {
			b := buf[i]*mom + gi/d
			buf[i] = b
			p[i] += negLR * b
		} else {
			p[i] += negLR * gi / d
		}
	}
}
