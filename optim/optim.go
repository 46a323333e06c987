package optim

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	bp "github.com/gobackprop/backprop"
)

// Param is a named parameter, backprop.Param: nn.Parameters returns them
// and the optimizers take them. The name keys the parameter's entries in
// the optimizer's state ("fc1.weight.exp_avg"), so a checkpoint written by
// one run can be loaded by another that builds the same model.
type Param = bp.Param

// Params names unnamed tensors by their position: "0", "1", ... It is for
// small programs and tests; a model should name its parameters so that its
// checkpoints survive a reordering.
func Params(ts ...*bp.Tensor) []Param {
	ps := make([]Param, len(ts))
	for i, t := range ts {
		ps[i] = Param{Name: fmt.Sprint(i), T: t}
	}
	return ps
}

// Optimizer updates parameters from their gradients.
//
// Step reads each parameter's Grad (parameters without one are left alone,
// state included) and writes the new values into the parameter's storage in
// place, outside autograd. ZeroGrad zeroes every gradient in place.
//
// State returns a snapshot of everything a later run needs to continue
// exactly where this one stopped: the learning rate ("lr"), the number of
// Step calls ("step"), and for each parameter that has been updated its own
// step count ("<name>.step") and buffers, named as PyTorch names them
// ("<name>.momentum_buffer", "<name>.exp_avg", ...). LoadState restores such
// a snapshot into an optimizer built with the same parameters and options;
// the run then continues bit for bit as if it had not stopped. It returns an
// error, and changes nothing, when a key is missing or unknown or a shape
// does not match.
type Optimizer interface {
	Step()
	ZeroGrad()
	LR() float64
	SetLR(lr float64)
	Params() []Param
	State() map[string]*bp.Tensor
	LoadState(state map[string]*bp.Tensor) error
}

// float is the element type of parameters and buffers.
type float interface{ ~float32 | ~float64 }

// base holds what every optimizer shares: the parameters, the learning
// rate, step counters and per-parameter buffers.
type base struct {
	op     string // "SGD", "Adam", ... for messages
	params []Param
	lr     float64
	steps  int64

	kinds []string       // names of the buffers each parameter gets
	bufs  [][]*bp.Tensor // bufs[i][k]: buffer kinds[k] of parameter i; nil until its first update
	pstep []int64        // updates parameter i has had

	// Parameter groups (groups.go). An optimizer built from a plain list
	// has one group.
	hs        []hyper            // hyperparameters of each group
	group     []int              // group of parameter i
	gsize     []int              // parameters in each group
	grouped   bool               // built from groups: State saves them
	groupable []string           // options a group may set, LRScale aside
	check     func(*hyper) error // validates a group's hyperparameters
}

// newGroupedBase is newBase for the parameters of groups, with h the
// optimizer's hyperparameters (each group's options apply over them),
// allowed the options the optimizer takes and check its validation of
// hyperparameters. grouped says the caller gave groups, not a plain list.
func newGroupedBase(op string, groups []Group, grouped bool, lr float64, kinds []string, h hyper, allowed []string, check func(*hyper) error) base {
	if err := check(&h); err != nil {
		panic(fmt.Sprintf("optim: New%s: %v", op, err))
	}
	hs := groupHypers(op, h, allowed, groups, func(gh *hyper) {
		if err := check(gh); err != nil {
			panic(fmt.Sprintf("optim: New%s: %v", op, err))
		}
	})
	params, group := flatten(groups)
	b := newBase(op, params, lr, kinds)
	b.hs, b.group, b.grouped, b.check = hs, group, grouped, check
	b.gsize = make([]int, len(groups))
	for _, g := range group {
		b.gsize[g]++
	}
	for _, o := range groupOptions {
		if o != "LRScale" && slices.Contains(allowed, o) {
			b.groupable = append(b.groupable, o)
		}
	}
	return b
}

// hyperOf returns the hyperparameters and learning rate of parameter i.
func (b *base) hyperOf(i int) (*hyper, float64) {
	h := &b.hs[b.group[i]]
	return h, b.lr * h.lrScale
}

func newBase(op string, params []Param, lr float64, kinds []string) base {
	checkLR("New"+op, lr)
	seen := make(map[string]bool, len(params))
	seenT := make(map[*bp.Tensor]string, len(params))
	for _, p := range params {
		switch {
		case p.Name == "":
			panic(fmt.Sprintf("optim: New%s: a parameter has no name (use optim.Params to name them by position)", op))
		case seen[p.Name]:
			panic(fmt.Sprintf("optim: New%s: two parameters are named %q", op, p.Name))
		case p.T == nil:
			panic(fmt.Sprintf("optim: New%s: parameter %q is nil", op, p.Name))
		case seenT[p.T] != "":
			panic(fmt.Sprintf("optim: New%s: parameters %q and %q are the same tensor", op, seenT[p.T], p.Name))
		case !p.T.DType().IsFloat():
			panic(fmt.Sprintf("optim: New%s: parameter %q is %v, not a float tensor", op, p.Name, p.T.DType()))
		case !p.T.IsLeaf():
			panic(fmt.Sprintf("optim: New%s: parameter %q (shape %v) is the result of %s, not a leaf", op, p.Name, p.T.Shape(), p.T.GradFn().Op()))
		case !p.T.IsContiguous():
			panic(fmt.Sprintf("optim: New%s: parameter %q of shape %v strides %v is not contiguous", op, p.Name, p.T.Shape(), p.T.Strides()))
		}
		seen[p.Name] = true
		seenT[p.T] = p.Name
	}
	b := base{op: op, params: slices.Clone(params), lr: lr, kinds: kinds}
	b.bufs = make([][]*bp.Tensor, len(params))
	b.pstep = make([]int64, len(params))
	return b
}

func checkLR(op string, lr float64) {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		panic(fmt.Sprintf("optim: %s: invalid learning rate %v", op, lr))
	}
}

// LR returns the learning rate the next Step uses.
func (b *base) LR() float64 { return b.lr }

// SetLR changes the learning rate (schedules call it between steps).
func (b *base) SetLR(lr float64) {
	checkLR(b.op+".SetLR", lr)
	b.lr = lr
}

// Params returns the parameters, in the order given to the constructor.
func (b *base) Params() []Param { return slices.Clone(b.params) }

// Steps returns how many times Step has been called.
func (b *base) Steps() int { return int(b.steps) }

// ZeroGrad zeroes every parameter's gradient in place, keeping its buffer.
func (b *base) ZeroGrad() {
	for _, p := range b.params {
		p.T.ZeroGrad()
	}
}

// grad returns parameter i's gradient as a contiguous tensor of its dtype,
// or nil when it has none.
func (b *base) grad(i int) *bp.Tensor {
	p := b.params[i]
	g := p.T.Grad()
	if g == nil {
		return nil
	}
	if g.DType() != p.T.DType() {
		panic(fmt.Sprintf("optim: %s.Step: gradient of %q is %v but the parameter is %v", b.op, p.Name, g.DType(), p.T.DType()))
	}
	if !g.IsContiguous() {
		// Only a gradient set by hand can be a strided view; the engine's
		// are contiguous, so the copy does not happen in a training loop.
		g = g.Detach().Contiguous()
	}
	return g
}

// buffers returns parameter i's buffers, allocating zeroed ones on its
// first update.
func (b *base) buffers(i int) []*bp.Tensor {
	if b.bufs[i] == nil && len(b.kinds) > 0 {
		bs := make([]*bp.Tensor, len(b.kinds))
		for k := range bs {
			bs[k] = bp.ZerosLike(b.params[i].T)
		}
		b.bufs[i] = bs
	}
	return b.bufs[i]
}

// stepBuf is the storage of buffer k, or nil when the optimizer's options
// leave that buffer out (k < 0 or past the kinds in use).
func stepBuf[T float](bs []*bp.Tensor, k int, raw func(*bp.Tensor) []T) []T {
	if k < 0 || k >= len(bs) {
		return nil
	}
	return raw(bs[k])
}

func raw32(t *bp.Tensor) []float32 { return t.F32() }
func raw64(t *bp.Tensor) []float64 { return t.F64() }

// sqrtT is a correctly rounded square root in T: rounding the float64 root
// of a float32 value to float32 gives the float32 root.
func sqrtT[T float](x T) T { return T(math.Sqrt(float64(x))) }

// State returns a snapshot of the optimizer's state; see Optimizer.
func (b *base) State() map[string]*bp.Tensor {
	m := map[string]*bp.Tensor{
		"lr":   bp.Float64.Scalar(b.lr),
		"step": bp.Int64.Scalar(float64(b.steps)),
	}
	for i, p := range b.params {
		if b.pstep[i] == 0 {
			continue
		}
		m[p.Name+".step"] = bp.Int64.Scalar(float64(b.pstep[i]))
		for k, kind := range b.kinds {
			c := bp.ZerosLike(b.bufs[i][k])
			c.CopyFrom(b.bufs[i][k])
			m[p.Name+"."+kind] = c
		}
	}
	b.saveGroups(m)
	return m
}

// LoadState restores a snapshot made by State; see Optimizer. Buffers are
// copied, so the map's tensors stay the caller's. A buffer of another float
// dtype than its parameter is converted.
func (b *base) LoadState(m map[string]*bp.Tensor) error {
	op := b.op + ".LoadState"
	used := make(map[string]bool, len(m))
	get := func(key string) *bp.Tensor {
		t, ok := m[key]
		if ok {
			used[key] = true
		}
		return t
	}

	lrT := get("lr")
	if lrT == nil {
		return fmt.Errorf("optim: %s: no %q in the state", op, "lr")
	}
	lr, err := scalarOf(op, "lr", lrT)
	if err != nil {
		return err
	}
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optim: %s: invalid learning rate %v", op, lr)
	}
	stepT := get("step")
	if stepT == nil {
		return fmt.Errorf("optim: %s: no %q in the state", op, "step")
	}
	steps, err := countOf(op, "step", stepT)
	if err != nil {
		return err
	}

	hs, err := b.loadGroups(op, get)
	if err != nil {
		return err
	}

	psteps := make([]int64, len(b.params))
	bufs := make([][]*bp.Tensor, len(b.params))
	for i, p := range b.params {
		key := p.Name + ".step"
		st := get(key)
		if st == nil {
			for _, kind := range b.kinds {
				if _, ok := m[p.Name+"."+kind]; ok {
					return fmt.Errorf("optim: %s: %q without %q", op, p.Name+"."+kind, key)
				}
			}
			continue
		}
		n, err := countOf(op, key, st)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("optim: %s: %q is 0; a parameter that has not been updated has no state", op, key)
		}
		psteps[i] = n
		bufs[i] = make([]*bp.Tensor, len(b.kinds))
		for k, kind := range b.kinds {
			bk := p.Name + "." + kind
			t := get(bk)
			if t == nil {
				return fmt.Errorf("optim: %s: no %q in the state (the optimizer's options may differ from the run that saved it)", op, bk)
			}
			if !t.DType().IsFloat() {
				return fmt.Errorf("optim: %s: %q is %v, want a float tensor", op, bk, t.DType())
			}
			if !slices.Equal(t.Shape(), p.T.Shape()) {
				return fmt.Errorf("optim: %s: %q has shape %v, parameter has shape %v", op, bk, t.Shape(), p.T.Shape())
			}
			bufs[i][k] = t
		}
	}
	var unknown []string
	for key := range m {
		if !used[key] {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("optim: %s: unknown keys %s (another model, or other options?)", op, strings.Join(unknown, ", "))
	}

	b.lr, b.steps, b.hs = lr, steps, hs
	for i := range b.params {
		b.pstep[i] = psteps[i]
		if psteps[i] == 0 {
			b.bufs[i] = nil
			continue
		}
		own := b.buffers(i)
		for k := range b.kinds {
			own[k].CopyFrom(bufs[i][k])
		}
	}
	return nil
}

func scalarOf(op, key string, t *bp.Tensor) (float64, error) {
	if t.Numel() != 1 {
		return 0, fmt.Errorf("optim: %s: %q has shape %v, want a scalar", op, key, t.Shape())
	}
	return t.Item(), nil
}

func countOf(op, key string, t *bp.Tensor) (int64, error) {
	v, err := scalarOf(op, key, t)
	if err != nil {
		return 0, err
	}
	if v < 0 || v != math.Trunc(v) || v > 1<<53 {
		return 0, fmt.Errorf("optim: %s: %q is %v, want a count", op, key, v)
	}
	return int64(v), nil
}

// Option sets a hyperparameter of an optimizer. Each constructor accepts
// the options PyTorch's optimizer of that name accepts, and panics on
// others, so a misplaced option is caught rather than ignored.
type Option struct {
	name  string
	apply func(*hyper)
}

// hyper is the union of every optimizer's hyperparameters.
type hyper struct {
	lrScale                          float64 // a group's learning rate over the optimizer's
	momentum, dampening, weightDecay float64
	alpha, eps, beta1, beta2         float64
	nesterov, centered, amsgrad      bool
	maximize                         bool
}

// Momentum sets the momentum factor (SGD, RMSprop; default 0).
func Momentum(m float64) Option {
	return Option{"Momentum", func(h *hyper) { h.momentum = m }}
}

// Dampening sets SGD's momentum dampening (default 0).
func Dampening(d float64) Option {
	return Option{"Dampening", func(h *hyper) { h.dampening = d }}
}

// Nesterov turns on Nesterov momentum (SGD; needs momentum and no
// dampening).
func Nesterov() Option { return Option{"Nesterov", func(h *hyper) { h.nesterov = true }} }

// WeightDecay sets the weight decay: an L2 penalty added to the gradient
// for SGD, RMSprop and Adam (default 0), decoupled for AdamW (default 0.01).
func WeightDecay(wd float64) Option {
	return Option{"WeightDecay", func(h *hyper) { h.weightDecay = wd }}
}

// Alpha sets RMSprop's smoothing constant (default 0.99).
func Alpha(a float64) Option { return Option{"Alpha", func(h *hyper) { h.alpha = a }} }

// Eps sets the term added to the denominator (RMSprop, Adam, AdamW;
// default 1e-8).
func Eps(e float64) Option { return Option{"Eps", func(h *hyper) { h.eps = e }} }

// Centered makes RMSprop normalize by an estimate of the gradient's
// variance instead of its second moment.
func Centered() Option { return Option{"Centered", func(h *hyper) { h.centered = true }} }

// Betas sets Adam's and AdamW's averaging coefficients (default 0.9, 0.999).
func Betas(beta1, beta2 float64) Option {
	return Option{"Betas", func(h *hyper) { h.beta1, h.beta2 = beta1, beta2 }}
}

// AMSGrad turns on the AMSGrad variant of Adam and AdamW.
func AMSGrad() Option { return Option{"AMSGrad", func(h *hyper) { h.amsgrad = true }} }

// Maximize makes the optimizer climb the objective instead of descending.
func Maximize() Option { return Option{"Maximize", func(h *hyper) { h.maximize = true }} }

// applyOptions applies opts to h, panicking on options that op does not
// take.
func applyOptions(op string, h *hyper, allowed []string, opts []Option) {
	for _, o := range opts {
		if o.apply == nil {
			panic(fmt.Sprintf("optim: New%s: zero Option", op))
		}
		if o.name == "LRScale" {
			panic(fmt.Sprintf("optim: New%s: LRScale is an option of a Group, not of the whole optimizer", op))
		}
		if !slices.Contains(allowed, o.name) {
			panic(fmt.Sprintf("optim: New%s: option %s does not apply to %s (it takes %s)", op, o.name, op, strings.Join(allowed, ", ")))
		}
		o.apply(h)
	}
}
