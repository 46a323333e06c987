package optim

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/kernels"
)

// SGD is stochastic gradient descent with optional momentum, dampening,
// Nesterov momentum and L2 weight decay, with PyTorch's update rule
// (torch.optim.SGD). For each parameter p with gradient g:
//
//	g ← g + weightDecay·p                      (if weightDecay ≠ 0)
//	b ← g on the first step, else momentum·b + (1−dampening)·g
//	g ← g + momentum·b if Nesterov, else b     (if momentum ≠ 0)
//	p ← p − lr·g
//
// Its state is "<name>.momentum_buffer" per parameter when momentum is on.
type SGD struct {
	base
}

// NewSGD returns an SGD optimizer over params with learning rate lr. It
// takes the options Momentum, Dampening, Nesterov, WeightDecay and Maximize.
func NewSGD(params []Param, lr float64, opts ...Option) *SGD {
	return newSGD([]Group{{Params: params}}, false, lr, opts)
}

// NewSGDGroups returns an SGD optimizer over parameter groups, each with
// its own LRScale and WeightDecay (see Group); opts apply to every group.
func NewSGDGroups(groups []Group, lr float64, opts ...Option) *SGD {
	return newSGD(groups, true, lr, opts)
}

var sgdOptions = []string{"Momentum", "Dampening", "Nesterov", "WeightDecay", "Maximize"}

func newSGD(groups []Group, grouped bool, lr float64, opts []Option) *SGD {
	h := hyper{lrScale: 1}
	applyOptions("SGD", &h, sgdOptions, opts)
	var kinds []string
	if h.momentum != 0 {
		kinds = []string{"momentum_buffer"}
	}
	return &SGD{base: newGroupedBase("SGD", groups, grouped, lr, kinds, h, sgdOptions, checkSGD)}
}

func checkSGD(h *hyper) error {
	switch {
	case !(h.momentum >= 0) || math.IsInf(h.momentum, 0):
		return fmt.Errorf("invalid momentum %v", h.momentum)
	case !(h.weightDecay >= 0) || math.IsInf(h.weightDecay, 0):
		return fmt.Errorf("invalid weight decay %v", h.weightDecay)
	case h.dampening != h.dampening:
		return fmt.Errorf("invalid dampening %v", h.dampening)
	case h.nesterov && (h.momentum <= 0 || h.dampening != 0):
		return fmt.Errorf("Nesterov momentum needs momentum > 0 and zero dampening (have momentum %v, dampening %v)", h.momentum, h.dampening)
	}
	return nil
}

// Step updates every parameter that has a gradient.
func (o *SGD) Step() {
	o.steps++
	for i, p := range o.params {
		g := o.grad(i)
		if g == nil {
			continue
		}
		first := o.pstep[i] == 0
		o.pstep[i]++
		bs := o.buffers(i)
		h, lr := o.hyperOf(i)
		if p.T.DType() == bp.Float32 {
			sgdUpdate(p.T.F32(), g.F32(), stepBuf(bs, 0, raw32), first, lr, h)
		} else {
			sgdUpdate(p.T.F64(), g.F64(), stepBuf(bs, 0, raw64), first, lr, h)
		}
	}
}

// sgdUpdate applies one SGD step to p. buf is the momentum buffer (nil
// without momentum); first says it holds nothing yet. The constants are
// rounded to T once, as PyTorch rounds its Python scalars to the tensor's
// dtype, and each operation rounds in T.
func sgdUpdate[T float](p, g, buf []T, first bool, lr float64, h *hyper) {
	g = g[:len(p)]
	wd, mom, damp1, negLR := T(h.weightDecay), T(h.momentum), T(1-h.dampening), T(-lr)
	useWD, useMom, nesterov, maximize := h.weightDecay != 0, h.momentum != 0, h.nesterov, h.maximize
	if useMom {
		buf = buf[:len(p)]
	}
	if !useWD && !nesterov && !maximize {
		// The usual configurations go to the vector kernels, which do the
		// same operations in the same order as the loop below. On the
		// first step the buffer is just the gradient.
		switch {
		case !useMom:
			kernels.SGDPlain(p, g, negLR)
		case first:
			copy(buf, g)
			kernels.SGDPlain(p, g, negLR)
		default:
			kernels.SGDMomentum(p, g, buf, mom, damp1, negLR)
		}
		return
	}
	for i := range p {
		d := g[i]
		if maximize {
			d = -d
		}
		if useWD {
			d += wd * p[i]
		}
		if useMom {
			b := d
			if !first {
				b = buf[i]*mom + damp1*d
			}
			buf[i] = b
			if nesterov {
				d += mom * b
			} else {
				d = b
			}
		}
		p[i] += negLR * d
	}
}
