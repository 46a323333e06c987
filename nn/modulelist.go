package nn

import (
	"fmt"
	"strconv"

	bp "github.com/gobackprop/backprop"
)

// ModuleList holds modules by position, as torch.nn.ModuleList does: its
// children are named "0", "1", ..., so their parameters appear in the state
// dict as "0.weight", and in a parent as "blocks.0.weight". Unlike
// Sequential it does not chain its modules; the parent's Forward decides
// how to use them.
type ModuleList struct {
	Base
	mods []Module
}

// NewModuleList returns a ModuleList of the given modules.
func NewModuleList(mods ...Module) *ModuleList {
	l := &ModuleList{}
	for _, m := range mods {
		l.Append(m)
	}
	return l
}

// Append adds m at the end, named by its position.
func (l *ModuleList) Append(m Module) *ModuleList {
	l.AddChild(strconv.Itoa(len(l.mods)), m)
	l.mods = append(l.mods, m)
	return l
}

// Len is the number of modules.
func (l *ModuleList) Len() int { return len(l.mods) }

// At returns module i.
func (l *ModuleList) At(i int) Module {
	if i < 0 || i >= len(l.mods) {
		panic(fmt.Sprintf("nn: ModuleList.At: index %d out of range [0, %d)", i, len(l.mods)))
	}
	return l.mods[i]
}

// All returns the modules in order (a copy of the list; the modules are
// shared).
func (l *ModuleList) All() []Module { return append([]Module(nil), l.mods...) }

// Forward panics: a ModuleList is a container, as in torch, and its
// parent calls the modules it holds.
func (l *ModuleList) Forward(*bp.Tensor) *bp.Tensor {
	panic("nn: ModuleList has no Forward; iterate over its modules (At, All)")
}
