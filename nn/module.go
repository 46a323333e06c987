package nn

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	bp "github.com/gobackprop/backprop"
)

// Module is a layer or a model: something with a Forward pass, named
// parameters and buffers, and named children. A type becomes a Module by
// embedding Base (which supplies the unexported method below) and defining
// Forward; its constructor registers its tensors and children with
// AddParam, AddBuffer and AddChild. Modules are used through pointers.
type Module interface {
	Forward(x *bp.Tensor) *bp.Tensor
	base() *Base
}

// Base holds what every module shares: its registered parameters, buffers
// and children, in registration order, and whether it is in training mode.
// Its zero value is an empty module in training mode, as a new torch module
// is.
//
// Parameters and buffers are registered by the address of the field that
// holds them (AddParam("weight", &l.Weight)), so the layer's Forward reads
// its own field while the functions of this package can still find and
// replace the tensor: To swaps in a converted copy, and a gradient check
// swaps in its perturbed inputs. A field that holds nil is skipped, which
// is how a layer drops its bias (torch's bias=False).
type Base struct {
	params   []slot
	buffers  []slot
	children []child
	eval     bool // false means training, so the zero value trains
}

type slot struct {
	name string
	t    **bp.Tensor
}

type child struct {
	name string
	m    Module
}

func (b *Base) base() *Base { return b }

// Training reports whether the module is in training mode (the default).
// Dropout and BatchNorm behave differently in the two modes.
func (b *Base) Training() bool { return !b.eval }

// AddParam registers the tensor in *field as the parameter name and marks
// it as requiring a gradient. The name must be unique within the module and
// must not contain a dot (dots separate the levels of a full name).
func (b *Base) AddParam(name string, field **bp.Tensor) {
	b.checkName("AddParam", name)
	if t := *field; t != nil {
		if !t.DType().IsFloat() {
			panic(fmt.Sprintf("nn: AddParam: parameter %q is %v; parameters are float tensors", name, t.DType()))
		}
		t.SetRequiresGrad(true)
	}
	b.params = append(b.params, slot{name, field})
}

// AddBuffer registers the tensor in *field as the buffer name: state that
// is saved in the state dict but is not trained (BatchNorm's running
// statistics).
func (b *Base) AddBuffer(name string, field **bp.Tensor) {
	b.checkName("AddBuffer", name)
	b.buffers = append(b.buffers, slot{name, field})
}

// AddChild registers m as the child name; its parameters and buffers
// appear under "name.".
func (b *Base) AddChild(name string, m Module) {
	b.checkName("AddChild", name)
	if m == nil {
		panic(fmt.Sprintf("nn: AddChild: child %q is nil", name))
	}
	b.children = append(b.children, child{name, m})
}

func (b *Base) checkName(op, name string) {
	if name == "" || strings.Contains(name, ".") {
		panic(fmt.Sprintf("nn: %s: invalid name %q (it must be non-empty and contain no dot)", op, name))
	}
	taken := func(n string) bool { return n == name }
	for _, s := range b.params {
		if taken(s.name) {
			panic(fmt.Sprintf("nn: %s: name %q is already a parameter", op, name))
		}
	}
	for _, s := range b.buffers {
		if taken(s.name) {
			panic(fmt.Sprintf("nn: %s: name %q is already a buffer", op, name))
		}
	}
	for _, c := range b.children {
		if taken(c.name) {
			panic(fmt.Sprintf("nn: %s: name %q is already a child", op, name))
		}
	}
}

// NamedModule is a module with its full dotted name ("" for the root).
type NamedModule struct {
	Name string
	M    Module
}

// Modules returns m and every module below it, parents before children,
// each with its full name: "", "0", "0.fc1", ...
func Modules(m Module) []NamedModule {
	var out []NamedModule
	var walk func(prefix string, m Module)
	walk = func(prefix string, m Module) {
		out = append(out, NamedModule{prefix, m})
		for _, c := range m.base().children {
			walk(join(prefix, c.name), c.m)
		}
	}
	walk("", m)
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// namedSlot is a registered field with its full name.
type namedSlot struct {
	name string
	t    **bp.Tensor
	buf  bool
}

// slots lists the registered fields below m in the order of a torch state
// dict: each module's parameters, then its buffers, then its children.
// Fields holding nil are skipped.
func slots(m Module, params, buffers bool) []namedSlot {
	var out []namedSlot
	for _, nm := range Modules(m) {
		b := nm.M.base()
		if params {
			for _, s := range b.params {
				if *s.t != nil {
					out = append(out, namedSlot{join(nm.Name, s.name), s.t, false})
				}
			}
		}
		if buffers {
			for _, s := range b.buffers {
				if *s.t != nil {
					out = append(out, namedSlot{join(nm.Name, s.name), s.t, true})
				}
			}
		}
	}
	return out
}

// Parameters returns m's parameters with their full dotted names
// ("0.weight", "fc1.bias"), in a fixed order, ready for an optimizer. A
// tensor registered under several names (tied weights) is listed once,
// under its first name.
func Parameters(m Module) []bp.Param {
	var out []bp.Param
	seen := map[*bp.Tensor]bool{}
	for _, s := range slots(m, true, false) {
		if t := *s.t; !seen[t] {
			seen[t] = true
			out = append(out, bp.Param{Name: s.name, T: t})
		}
	}
	return out
}

// Buffers returns m's buffers with their full dotted names.
func Buffers(m Module) []bp.Param {
	var out []bp.Param
	for _, s := range slots(m, false, true) {
		out = append(out, bp.Param{Name: s.name, T: *s.t})
	}
	return out
}

// StateKeys returns the keys of m's state dict in torch's order: for each
// module, parents first, its parameters and then its buffers.
func StateKeys(m Module) []string {
	var out []string
	for _, s := range slots(m, true, true) {
		out = append(out, s.name)
	}
	return out
}

// StateDict returns m's parameters and buffers by full name. The tensors
// are detached views of the module's own (sharing storage, so they follow
// later training steps); save them, or copy them, as needed.
func StateDict(m Module) map[string]*bp.Tensor {
	sd := map[string]*bp.Tensor{}
	for _, s := range slots(m, true, true) {
		sd[s.name] = (*s.t).Detach()
	}
	return sd
}

// LoadStateDict copies the values of sd into m's parameters and buffers,
// in place (tensors keep their identity, so an optimizer built over them
// stays valid). sd must have exactly m's keys, each with the same shape and
// dtype; otherwise LoadStateDict changes nothing and returns an error
// listing every missing key, unexpected key and mismatch.
func LoadStateDict(m Module, sd map[string]*bp.Tensor) error {
	have := slots(m, true, true)
	known := map[string]bool{}
	var errs []error
	for _, s := range have {
		known[s.name] = true
		src, ok := sd[s.name]
		dst := *s.t
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("missing key %q", s.name))
		case src == nil:
			errs = append(errs, fmt.Errorf("key %q holds no tensor", s.name))
		case !slices.Equal(src.Shape(), dst.Shape()):
			errs = append(errs, fmt.Errorf("key %q: shape %v in the state dict, %v in the model", s.name, src.Shape(), dst.Shape()))
		case src.DType() != dst.DType():
			errs = append(errs, fmt.Errorf("key %q: dtype %v in the state dict, %v in the model", s.name, src.DType(), dst.DType()))
		}
	}
	var extra []string
	for k := range sd {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		errs = append(errs, fmt.Errorf("unexpected key %q", k))
	}
	if len(errs) > 0 {
		return fmt.Errorf("nn: LoadStateDict: %w", errors.Join(errs...))
	}
	for _, s := range have {
		(*s.t).CopyFrom(sd[s.name])
	}
	return nil
}

// NumParams is the number of scalar values in m's parameters.
func NumParams(m Module) int {
	n := 0
	for _, p := range Parameters(m) {
		n += p.T.Numel()
	}
	return n
}

// Train puts m and every module below it in training mode, and returns m.
func Train[M Module](m M) M {
	setMode(m, false)
	return m
}

// Eval puts m and every module below it in evaluation mode (Dropout is the
// identity, BatchNorm uses its running statistics), and returns m.
func Eval[M Module](m M) M {
	setMode(m, true)
	return m
}

func setMode(m Module, eval bool) {
	for _, nm := range Modules(m) {
		nm.M.base().eval = eval
	}
}

// ZeroGrad zeroes the gradients of m's parameters in place.
func ZeroGrad(m Module) {
	for _, p := range Parameters(m) {
		p.T.ZeroGrad()
	}
}

// To converts m's float parameters and buffers to dtype dt (Float64 for a
// gradient check, say) and returns m. Each converted tensor is a new leaf
// that replaces the old one in its field, so build optimizers after
// calling To. Int64 buffers (BatchNorm's batch count) stay as they are.
func To[M Module](m M, dt bp.DType) M {
	if !dt.IsFloat() {
		panic(fmt.Sprintf("nn: To: %v is not a float dtype", dt))
	}
	for _, s := range slots(m, true, true) {
		t := *s.t
		if !t.DType().IsFloat() || t.DType() == dt {
			continue
		}
		c := t.Detach().To(dt)
		if t.RequiresGrad() {
			c.SetRequiresGrad(true)
		}
		*s.t = c
	}
	return m
}
