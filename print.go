package backprop

import (
	"fmt"
	"strconv"
	"strings"
)

// String prints t the way PyTorch does: nested brackets, values with a
// shared format, then the dtype when it is not float32 and the op that made
// t when it has one. Large tensors are summarized with "..." past
// printEdge elements per axis.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString("tensor(")
	if t.Numel() == 0 {
		fmt.Fprintf(&b, "[], shape=%v", t.shape)
	} else {
		fmtVal := t.valueFormatter()
		t.writeAxis(&b, 0, t.offset, fmtVal, 7)
	}
	if t.dtype != Float32 {
		fmt.Fprintf(&b, ", dtype=%v", t.dtype)
	}
	if t.node != nil {
		fmt.Fprintf(&b, ", grad_fn=%s", t.node.op)
	} else if t.requiresGrad {
		b.WriteString(", requires_grad=true")
	}
	b.WriteString(")")
	return b.String()
}

const printEdge = 3
const printMax = 1000

func (t *Tensor) writeAxis(b *strings.Builder, d, off int, f func(float64) string, indent int) {
	if d == len(t.shape) {
		b.WriteString(f(t.getFlat(off)))
		return
	}
	n := t.shape[d]
	summarize := t.Numel() > printMax && n > 2*printEdge
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if summarize && i == printEdge {
			b.WriteString("...")
			i = n - printEdge
			t.sep(b, d, indent)
		}
		t.writeAxis(b, d+1, off+i*t.strides[d], f, indent+1)
		if i < n-1 {
			t.sep(b, d, indent)
		}
	}
	b.WriteByte(']')
}

func (t *Tensor) sep(b *strings.Builder, d, indent int) {
	if d == len(t.shape)-1 {
		b.WriteString(", ")
		return
	}
	b.WriteString(",")
	b.WriteString(strings.Repeat("\n", len(t.shape)-1-d))
	b.WriteString(strings.Repeat(" ", indent+1))
}

// valueFormatter picks one format for every element: integers print without
// decimals, others with 4 decimals, or in scientific notation when the
// magnitudes call for it.
func (t *Tensor) valueFormatter() func(float64) string {
	if t.dtype == Int64 {
		return func(v float64) string { return strconv.FormatInt(int64(v), 10) }
	}
	allInt := true
	maxAbs, minAbs := 0.0, -1.0
	t.eachOffset(func(p int) {
		v := t.getFlat(p)
		if v != float64(int64(v)) {
			allInt = false
		}
		a := v
		if a < 0 {
			a = -a
		}
		if a > maxAbs {
			maxAbs = a
		}
		if a != 0 && (minAbs < 0 || a < minAbs) {
			minAbs = a
		}
	})
	switch {
	case allInt && maxAbs < 1e8:
		return func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "." }
	case maxAbs >= 1e8 || (minAbs > 0 && minAbs < 1e-4):
		return func(v float64) string { return strconv.FormatFloat(v, 'e', 4, 64) }
	default:
		return func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	}
}
