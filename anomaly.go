package backprop

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
)

// Anomaly mode: find the op where a NaN or an infinity first appears.
//
// With it on, recording an op checks the op's output, and the backward walk
// checks every gradient a node's backward returns; the first value that is
// NaN or ±Inf stops the computation with a panic whose value is an
// *AnomalyError naming the op, its input shapes, the output or input
// concerned, and the line of the user's code that recorded the op. Each
// recorded op also keeps its call stack (runtime.Callers) so that a
// backward failure can name the line that recorded it: that costs about a
// microsecond per op and only happens while the mode is on; with it off the
// engine reads one atomic flag per recorded op and per walk.

var anomalyMode atomic.Bool

// SetDetectAnomaly turns anomaly mode on or off for the whole process (as
// torch.autograd.set_detect_anomaly does). The switch is an atomic flag:
// flipping it while other goroutines record or run backward passes is safe,
// but an op recorded while it was off has no recorded location, and a walk
// reads it once, when it starts.
//
// Only recorded ops are checked (those with an input that requires a
// gradient): the graph the backward pass will walk. Inference on NoGrad
// data, and the computations inside a backward function, are not. A NaN
// in an op's output stops the computation wherever it appears; an infinity
// does when the op made it from finite inputs (an overflow, Log(0)). An
// infinity an op was given and passed on (a -Inf attention mask, data) is
// left alone until something turns it into NaN, or into a gradient that is
// not finite: then that op is named, with the input that held it.
func SetDetectAnomaly(on bool) { anomalyMode.Store(on) }

// DetectAnomaly reports whether anomaly mode is on.
func DetectAnomaly() bool { return anomalyMode.Load() }

// AnomalyError is the panic value of anomaly mode (see SetDetectAnomaly):
// the op where a NaN or an infinity first appeared. Recover it with
//
//	defer func() {
//		if r := recover(); r != nil {
//			if ae, ok := r.(*backprop.AnomalyError); ok { ... }
//			panic(r)
//		}
//	}()
//
// After one stops a backward pass, the gradients of that pass are partly
// accumulated: call ZeroGrad on the parameters before the next one.
type AnomalyError struct {
	Op string // the op's name, as Node.Op gives it
	// Backward is false when the value is in the op's output (forward
	// pass), true when it is in a gradient the op's backward returned.
	Backward bool
	// Input is, in the backward pass, the input whose gradient holds the
	// value; -1 in the forward pass.
	Input int
	// Value is "NaN", "+Inf" or "-Inf"; Index is the row-major index of
	// the first such element and Shape the shape of the tensor holding it.
	Value string
	Index int
	Shape []int
	// InputShapes are the shapes of the op's inputs.
	InputShapes [][]int
	// Cause says what the op was given, when that already held a NaN or
	// an infinity: "input 1 already holds NaN" (forward), "its upstream
	// gradient already holds +Inf" (backward); "" when the op made it.
	Cause string
	// Where is the line of the user's code that recorded the op (see
	// UserFrame), Via the innermost frame outside the root package when it
	// differs (the nn layer, say). Both are zero when the op was recorded
	// with the mode off.
	Where, Via runtime.Frame
}

func (e *AnomalyError) Error() string {
	var b strings.Builder
	b.WriteString("backprop: anomaly: ")
	if e.Backward {
		fmt.Fprintf(&b, "the backward of %s gave %s in the gradient for its input %d (shape %v, element %d)",
			e.Op, e.Value, e.Input, e.Shape, e.Index)
	} else {
		fmt.Fprintf(&b, "%s produced %s in its output (shape %v, element %d)", e.Op, e.Value, e.Shape, e.Index)
	}
	fmt.Fprintf(&b, "; input shapes %v", e.InputShapes)
	if e.Cause != "" {
		b.WriteString("; ")
		b.WriteString(e.Cause)
	}
	switch {
	case e.Where.PC != 0:
		fmt.Fprintf(&b, "; recorded at %s", frameString(e.Where))
		if e.Via.PC != 0 {
			fmt.Fprintf(&b, " via %s", frameString(e.Via))
		}
	case e.Backward:
		b.WriteString("; recorded while anomaly mode was off, so where is not known")
	}
	return b.String()
}

// frameString is file:line (function), the file shortened to its last
// two path elements.
func frameString(f runtime.Frame) string {
	file := f.File
	if i := strings.LastIndexByte(file, '/'); i > 0 {
		if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
			file = file[j+1:]
		}
	}
	fn := f.Function
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	return fmt.Sprintf("%s:%d (%s)", file, f.Line, fn)
}

// modulePath is this module's import path, read from the runtime's name of
// a function of the root package (so a fork or a vendored copy works too).
var modulePath = func() string {
	name := runtime.FuncForPC(reflect.ValueOf(SetDetectAnomaly).Pointer()).Name()
	return strings.TrimSuffix(name, ".SetDetectAnomaly")
}()

// funcPackage is the import path of the package of a runtime function name
// such as "example.com/m/nn.(*Linear).Forward".
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}

// libraryFrame reports whether a frame belongs to the library's op
// machinery rather than to its user: the root package (ops and engine),
// nn (layers are compositions of ops; the user is whoever called the
// layer) and internal packages. A test file counts as user code, even in
// the root package.
func libraryFrame(f runtime.Frame) bool {
	if strings.HasSuffix(f.File, "_test.go") {
		return false
	}
	pkg := funcPackage(f.Function)
	return pkg == modulePath || pkg == modulePath+"/nn" || strings.HasPrefix(pkg, modulePath+"/internal/")
}

// userFrame picks, from a call stack, the line of the user's code: the
// innermost frame outside the library (see libraryFrame), and via, the
// innermost frame outside the root package when that is a library frame
// (an nn layer's line). Both are zero when absent.
func userFrame(pcs []uintptr) (where, via runtime.Frame) {
	if len(pcs) == 0 {
		return
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && strings.HasPrefix(f.Function, "runtime.") {
			if !more {
				break
			}
			continue
		}
		if !libraryFrame(f) {
			return f, via
		}
		if via.PC == 0 && funcPackage(f.Function) != modulePath {
			via = f
		}
		if !more {
			break
		}
	}
	return runtime.Frame{}, via
}

// anomalyStackDepth bounds the frames kept per recorded op.
const anomalyStackDepth = 32

// callers returns the caller's stack above skip frames.
func callers(skip int) []uintptr {
	pcs := make([]uintptr, anomalyStackDepth)
	return pcs[:runtime.Callers(skip+1, pcs)]
}

// anomalyRecorded is recordSaved's hook in anomaly mode, called once n has
// been attached to its output: it checks the output and keeps the stack
// for the backward pass.
func anomalyRecorded(n *Node) {
	out := n.out
	pcs := callers(3) // above anomalyRecorded and recordSaved
	if v, i := firstNonFinite(out); v != "" {
		e := &AnomalyError{Op: n.op, Input: -1, Value: v, Index: i, Shape: cloneInts(out.shape),
			InputShapes: inputShapes(n)}
		for j, in := range n.inputs {
			if w, _ := firstNonFinite(in); w != "" {
				e.Cause = fmt.Sprintf("input %d already holds %s", j, w)
				break
			}
		}
		if v == "NaN" || e.Cause == "" { // an infinity passed on is not this op's doing
			e.Where, e.Via = userFrame(pcs)
			panic(e)
		}
	}
	out.ext().recordedAt = pcs
}

// anomalyBackward is the walk's hook in anomaly mode, called after n's
// backward turned the upstream gradient g into gs.
func anomalyBackward(c *BackwardContext, n *Node, g *Tensor, gs []*Tensor) {
	for j := range n.inputs {
		if j >= len(gs) || gs[j] == nil || !c.NeedsGrad(j) {
			continue
		}
		v, i := firstNonFinite(gs[j])
		if v == "" {
			continue
		}
		e := &AnomalyError{Op: n.op, Backward: true, Input: j, Value: v, Index: i,
			Shape: cloneInts(gs[j].shape), InputShapes: inputShapes(n)}
		if w, _ := firstNonFinite(g); w != "" {
			e.Cause = "its upstream gradient already holds " + w + " (a sum of gradients overflowed, or a hook or the seed gave it)"
		}
		if n.out != nil && n.out.extra != nil {
			e.Where, e.Via = userFrame(n.out.extra.recordedAt)
		}
		releaseClaims(c.id)
		panic(e)
	}
}

func inputShapes(n *Node) [][]int {
	s := make([][]int, len(n.inputs))
	for i, in := range n.inputs {
		s[i] = cloneInts(in.shape)
		if s[i] == nil {
			s[i] = []int{}
		}
	}
	return s
}

// firstNonFinite names the first NaN or infinite element of a float tensor
// ("" when there is none) and gives its row-major index.
func firstNonFinite(t *Tensor) (string, int) {
	if t == nil || !t.dtype.IsFloat() {
		return "", -1
	}
	k, bad, at := 0, "", -1
	t.eachOffset(func(p int) {
		if bad == "" {
			v := t.getFlat(p)
			switch {
			case math.IsNaN(v):
				bad, at = "NaN", k
			case math.IsInf(v, 1):
				bad, at = "+Inf", k
			case math.IsInf(v, -1):
				bad, at = "-Inf", k
			}
		}
		k++
	})
	return bad, at
}
