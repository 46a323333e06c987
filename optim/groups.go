package optim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	bp "github.com/gobackprop/backprop"
)

// Group is a set of parameters with hyperparameters of their own: one entry
// of PyTorch's param_groups. Options override the optimizer's options for
// these parameters. A group may set LRScale, WeightDecay, Eps, Betas and
// Alpha, where the optimizer takes them; options that decide which buffers
// a parameter has (Momentum, Centered, AMSGrad, Nesterov) belong to the
// whole optimizer.
//
// The usual split of GPT training, weight decay on the weights and
// embeddings but not on biases and LayerNorms, is DecayGroups:
//
//	opt := optim.NewAdamWGroups(optim.DecayGroups(params, 0.1), 3e-3, optim.Betas(0.9, 0.95))
type Group struct {
	Params  []Param
	Options []Option
}

// groupOptions are the options a Group may set.
var groupOptions = []string{"LRScale", "WeightDecay", "Eps", "Betas", "Alpha"}

// LRScale makes a Group's learning rate scale times the optimizer's (the
// default is 1). It is a Group option: the optimizer's learning rate (LR,
// SetLR, and so every Scheduler) stays one number, and each group follows
// it in proportion, as PyTorch's schedulers scale every group's rate by the
// same factor.
func LRScale(s float64) Option {
	return Option{"LRScale", func(h *hyper) { h.lrScale = s }}
}

// DecayGroups splits params into two groups for weight decay as GPT
// training does: group 0 holds the parameters of two or more dimensions
// (weight matrices, embeddings, convolution kernels) with WeightDecay(wd);
// group 1 holds the rest (biases, normalization weights) with
// WeightDecay(0). The order within each group is that of params.
func DecayGroups(params []Param, wd float64) []Group {
	var decay, other []Param
	for _, p := range params {
		if p.T != nil && p.T.Dim() >= 2 {
			decay = append(decay, p)
		} else {
			other = append(other, p)
		}
	}
	return []Group{
		{Params: decay, Options: []Option{WeightDecay(wd)}},
		{Params: other, Options: []Option{WeightDecay(0)}},
	}
}

// flatten lists the groups' parameters in order and the group of each.
func flatten(groups []Group) (params []Param, group []int) {
	for g, gr := range groups {
		for _, p := range gr.Params {
			params = append(params, p)
			group = append(group, g)
		}
	}
	return params, group
}

// groupHypers applies each group's options over the optimizer's h and
// checks them with valid, which panics on a bad value.
func groupHypers(op string, h hyper, allowed []string, groups []Group, valid func(h *hyper)) []hyper {
	if len(groups) == 0 {
		panic(fmt.Sprintf("optim: New%s: no parameter groups", op))
	}
	var mine []string
	for _, o := range groupOptions {
		if o == "LRScale" || slices.Contains(allowed, o) {
			mine = append(mine, o)
		}
	}
	hs := make([]hyper, len(groups))
	for g, gr := range groups {
		hs[g] = h
		for _, o := range gr.Options {
			if o.apply == nil {
				panic(fmt.Sprintf("optim: New%s: zero Option in group %d", op, g))
			}
			if !slices.Contains(mine, o.name) {
				panic(fmt.Sprintf("optim: New%s: group %d: option %s cannot differ between groups of %s (a group takes %s)", op, g, o.name, op, strings.Join(mine, ", ")))
			}
			o.apply(&hs[g])
		}
		if s := hs[g].lrScale; !(s >= 0) || math.IsInf(s, 0) {
			panic(fmt.Sprintf("optim: New%s: group %d: invalid LRScale %v", op, g, s))
		}
		valid(&hs[g])
	}
	return hs
}

// NumGroups is the number of parameter groups (1 for an optimizer built
// from a plain parameter list).
func (b *base) NumGroups() int { return len(b.gsize) }

// GroupLR is the learning rate group g's parameters get in the next Step:
// the optimizer's LR times the group's LRScale.
func (b *base) GroupLR(g int) float64 {
	if g < 0 || g >= len(b.gsize) {
		panic(fmt.Sprintf("optim: %s.GroupLR: group %d of %d", b.op, g, len(b.gsize)))
	}
	return b.lr * b.hs[g].lrScale
}

// groupFields lists the per-group hyperparameters a grouped optimizer
// saves in its State as "param_groups.<g>.<name>", with PyTorch's names.
func (b *base) groupFields() []groupField {
	fields := []groupField{{"lr_scale", func(h *hyper) *float64 { return &h.lrScale }}}
	for _, o := range b.groupable {
		switch o {
		case "WeightDecay":
			fields = append(fields, groupField{"weight_decay", func(h *hyper) *float64 { return &h.weightDecay }})
		case "Eps":
			fields = append(fields, groupField{"eps", func(h *hyper) *float64 { return &h.eps }})
		case "Betas":
			fields = append(fields,
				groupField{"beta1", func(h *hyper) *float64 { return &h.beta1 }},
				groupField{"beta2", func(h *hyper) *float64 { return &h.beta2 }})
		case "Alpha":
			fields = append(fields, groupField{"alpha", func(h *hyper) *float64 { return &h.alpha }})
		}
	}
	return fields
}

type groupField struct {
	name string
	at   func(h *hyper) *float64
}

func groupKey(g int, name string) string { return "param_groups." + strconv.Itoa(g) + "." + name }

// saveGroups adds the groups' hyperparameters and sizes to a State.
func (b *base) saveGroups(m map[string]*bp.Tensor) {
	if !b.grouped {
		return
	}
	for g := range b.gsize {
		m[groupKey(g, "params")] = bp.Int64.Scalar(float64(b.gsize[g]))
		for _, f := range b.groupFields() {
			m[groupKey(g, f.name)] = bp.Float64.Scalar(*f.at(&b.hs[g]))
		}
	}
}

// loadGroups reads the groups' hyperparameters of a State into new
// hypers, checking them with valid; get marks the keys it reads.
func (b *base) loadGroups(op string, get func(string) *bp.Tensor) ([]hyper, error) {
	hs := slices.Clone(b.hs)
	if !b.grouped {
		return hs, nil
	}
	for g := range b.gsize {
		t := get(groupKey(g, "params"))
		if t == nil {
			return nil, fmt.Errorf("optim: %s: no %q in the state (was it saved by an optimizer without groups?)", op, groupKey(g, "params"))
		}
		n, err := countOf(op, groupKey(g, "params"), t)
		if err != nil {
			return nil, err
		}
		if int(n) != b.gsize[g] {
			return nil, fmt.Errorf("optim: %s: group %d had %d parameters when saved, has %d now", op, g, n, b.gsize[g])
		}
		for _, f := range b.groupFields() {
			key := groupKey(g, f.name)
			t := get(key)
			if t == nil {
				return nil, fmt.Errorf("optim: %s: no %q in the state", op, key)
			}
			v, err := scalarOf(op, key, t)
			if err != nil {
				return nil, err
			}
			if !(v >= 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("optim: %s: %q is %v, want a finite value >= 0", op, key, v)
			}
			*f.at(&hs[g]) = v
		}
		if err := b.check(&hs[g]); err != nil {
			return nil, fmt.Errorf("optim: %s: group %d: %v", op, g, err)
		}
	}
	return hs, nil
}
