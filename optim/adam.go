package optim

import (
	"fmt"
	"math"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/kernels"
)

// Adam keeps running means of each gradient and of its square and steps by
// their bias-corrected ratio, with PyTorch's update rules (torch.optim.Adam
// and, when made by NewAdamW, torch.optim.AdamW). For each parameter p with
// gradient g, on its t-th update:
//
//	g ← g + weightDecay·p              (Adam, if weightDecay ≠ 0)
//	p ← p·(1 − lr·weightDecay)         (AdamW)
//	m ← beta1·m + (1−beta1)·g
//	v ← beta2·v + (1−beta2)·g²
//	v̂ ← max(v̂, v) if AMSGrad, else v
//	p ← p − lr/(1−beta1ᵗ) · m / (sqrt(v̂)/sqrt(1−beta2ᵗ) + eps)
//
// t counts the updates of that parameter (a step in which it had no
// gradient does not count), as PyTorch's per-parameter "step" does. Its
// state per parameter is "<name>.exp_avg", "<name>.exp_avg_sq" and, with
// AMSGrad, "<name>.max_exp_avg_sq".
type Adam struct {
	base
	decoupled bool // AdamW
	max       int  // index of max_exp_avg_sq; -1 without AMSGrad
}

var adamOptions = []string{"Betas", "Eps", "WeightDecay", "AMSGrad", "Maximize"}

// NewAdam returns an Adam optimizer over params with learning rate lr
// (PyTorch's default is 1e-3). Weight decay is an L2 penalty added to the
// gradient; NewAdamW decouples it. It takes the options Betas, Eps,
// WeightDecay, AMSGrad and Maximize.
func NewAdam(params []Param, lr float64, opts ...Option) *Adam {
	return newAdam("Adam", []Group{{Params: params}}, false, lr, 0, opts)
}

// NewAdamW returns an AdamW optimizer: Adam with decoupled weight decay,
// which shrinks the parameters by lr·weightDecay each step instead of
// adding to the gradient (Loshchilov & Hutter). The default weight decay is
// 0.01, as in PyTorch. It takes the same options as NewAdam.
func NewAdamW(params []Param, lr float64, opts ...Option) *Adam {
	return newAdam("AdamW", []Group{{Params: params}}, false, lr, 0.01, opts)
}

// NewAdamGroups returns an Adam optimizer over parameter groups, each with
// its own LRScale, WeightDecay, Betas and Eps (see Group); opts apply to
// every group.
func NewAdamGroups(groups []Group, lr float64, opts ...Option) *Adam {
	return newAdam("Adam", groups, true, lr, 0, opts)
}

// NewAdamWGroups returns an AdamW optimizer over parameter groups, each
// with its own LRScale, WeightDecay, Betas and Eps (see Group and
// DecayGroups); opts apply to every group.
func NewAdamWGroups(groups []Group, lr float64, opts ...Option) *Adam {
	return newAdam("AdamW", groups, true, lr, 0.01, opts)
}

func newAdam(op string, groups []Group, grouped bool, lr, wd float64, opts []Option) *Adam {
	h := hyper{lrScale: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd}
	applyOptions(op, &h, adamOptions, opts)
	kinds := []string{"exp_avg", "exp_avg_sq"}
	o := &Adam{decoupled: op == "AdamW", max: -1}
	if h.amsgrad {
		o.max = len(kinds)
		kinds = append(kinds, "max_exp_avg_sq")
	}
	o.base = newGroupedBase(op, groups, grouped, lr, kinds, h, adamOptions, checkAdam)
	return o
}

func checkAdam(h *hyper) error {
	switch {
	case !(h.eps >= 0) || math.IsInf(h.eps, 0):
		return fmt.Errorf("invalid eps %v", h.eps)
	case !(h.weightDecay >= 0) || math.IsInf(h.weightDecay, 0):
		return fmt.Errorf("invalid weight decay %v", h.weightDecay)
	case !(h.beta1 >= 0 && h.beta1 < 1):
		return fmt.Errorf("invalid beta1 %v, want 0 <= beta1 < 1", h.beta1)
	case !(h.beta2 >= 0 && h.beta2 < 1):
		return fmt.Errorf("invalid beta2 %v, want 0 <= beta2 < 1", h.beta2)
	}
	return nil
}

// Step updates every parameter that has a gradient.
func (o *Adam) Step() {
	o.steps++
	for i, p := range o.params {
		g := o.grad(i)
		if g == nil {
			continue
		}
		o.pstep[i]++
		bs := o.buffers(i)
		h, lr := o.hyperOf(i)
		c := adamConsts(lr, o.pstep[i], h, o.decoupled)
		if p.T.DType() == bp.Float32 {
			adamUpdate(p.T.F32(), g.F32(), bs[0].F32(), bs[1].F32(), stepBuf(bs, o.max, raw32), &c)
		} else {
			adamUpdate(p.T.F64(), g.F64(), bs[0].F64(), bs[1].F64(), stepBuf(bs, o.max, raw64), &c)
		}
	}
}

// adamStep holds the scalars of one Adam update, computed in float64 as
// PyTorch computes them in Python.
type adamStep struct {
	beta1, beta1c, beta2, beta2c float64 // beta and 1−beta
	coupledWD, decay             float64 // L2 weight decay; AdamW's factor 1−lr·wd (1 for Adam)
	negStep, bc2sqrt, eps        float64
	maximize                     bool
}

func adamConsts(lr float64, t int64, h *hyper, decoupled bool) adamStep {
	step := float64(t)
	bc1 := 1 - math.Pow(h.beta1, step)
	bc2 := 1 - math.Pow(h.beta2, step)
	c := adamStep{
		beta1: h.beta1, beta1c: 1 - h.beta1, beta2: h.beta2, beta2c: 1 - h.beta2,
		decay: 1, negStep: -(lr / bc1), bc2sqrt: math.Sqrt(bc2), eps: h.eps, maximize: h.maximize,
	}
	if decoupled {
		c.decay = 1 - lr*h.weightDecay
	} else {
		c.coupledWD = h.weightDecay
	}
	return c
}

// adamUpdate applies one Adam step to p: m and v are the running means of
// the gradient and its square, vmax their running maximum (nil without
// AMSGrad).
func adamUpdate[T float](p, g, m, v, vmax []T, c *adamStep) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	beta1, beta1c, beta2, beta2c := T(c.beta1), T(c.beta1c), T(c.beta2), T(c.beta2c)
	wd, decay, negStep, bc2sqrt, eps := T(c.coupledWD), T(c.decay), T(c.negStep), T(c.bc2sqrt), T(c.eps)
	useWD, useDecay, maximize, ams := c.coupledWD != 0, c.decay != 1, c.maximize, vmax != nil
	// The vector kernel does the loop below without AMSGrad and maximize.
	// It applies the decays when their values rounded to T are not 0 and
	// 1; the rare constants for which that differs from the float64 test
	// stay here, so the two paths agree bit for bit.
	if !maximize && !ams && useWD == (wd != 0) && useDecay == (decay != 1) {
		kernels.Adam(p, g, m, v, kernels.AdamArgs[T]{
			Beta1: beta1, Beta1c: beta1c, Beta2: beta2, Beta2c: beta2c,
			WeightDecay: wd, Decay: decay, NegStep: negStep, BC2Sqrt: bc2sqrt, Eps: eps,
		})
		return
	}
	if ams {
		vmax = vmax[:len(p)]
	}
	for i := range p {
		gi := g[i]
		if maximize {
			gi = -gi
		}
		if useWD {
			gi += wd * p[i]
		}
		if useDecay {
			p[i] *= decay
		}
		mi := m[i]*beta1 + beta1c*gi
		m[i] = mi
		vi := v[i]*beta2 + beta2c*gi*gi
		v[i] = vi
		if ams {
			// NaN wins, as in torch.maximum.
			if mx := vmax[i]; !(vi > mx || vi != vi) {
				vi = mx
			}
			vmax[i] = vi
		}
		d := sqrtT(vi)/bc2sqrt + eps
		p[i] += negStep * mi / d
	}
}
