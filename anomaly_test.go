package backprop_test

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/nn"
)

// catchAnomaly runs f in anomaly mode and returns the *AnomalyError it
// panicked with (nil if it did not panic). Anomaly tests must not run in
// parallel with others: the mode is process-wide.
func catchAnomaly(t *testing.T, f func()) (ae *bp.AnomalyError) {
	t.Helper()
	bp.SetDetectAnomaly(true)
	defer bp.SetDetectAnomaly(false)
	defer func() {
		if r := recover(); r != nil {
			var ok bool
			if ae, ok = r.(*bp.AnomalyError); !ok {
				t.Fatalf("panic %v (%T), want an *AnomalyError", r, r)
			}
		}
	}()
	f()
	return nil
}

// lineAfter returns the number of the line after its caller's.
func lineAfter() int {
	_, _, line, _ := runtime.Caller(1)
	return line + 1
}

func TestAnomalyForward(t *testing.T) {
	x := bp.Float64.Scalar(-1).SetRequiresGrad(true)
	var line int
	ae := catchAnomaly(t, func() {
		line = lineAfter()
		_ = x.Sqrt().MulScalar(0).Add(x)
	})
	if ae == nil {
		t.Fatal("sqrt(-1) in anomaly mode did not panic")
	}
	if ae.Op != "Sqrt" || ae.Backward || ae.Input != -1 || ae.Value != "NaN" || ae.Cause != "" {
		t.Errorf("got %+v", ae)
	}
	if !strings.HasSuffix(ae.Where.File, "anomaly_test.go") || ae.Where.Line != line {
		t.Errorf("recorded at %s:%d, want anomaly_test.go:%d", ae.Where.File, ae.Where.Line, line)
	}
	msg := ae.Error()
	for _, want := range []string{"Sqrt produced NaN in its output", "input shapes [[]]", "anomaly_test.go:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var err error = ae
	var target *bp.AnomalyError
	if !errors.As(err, &target) {
		t.Error("AnomalyError is not an error that errors.As finds")
	}
}

func TestAnomalyLogTimesZeroBlamesLog(t *testing.T) {
	x := bp.Float32.Zeros(3).SetRequiresGrad(true)
	ae := catchAnomaly(t, func() { _ = x.Log().Mul(x) })
	if ae == nil || ae.Op != "Log" || ae.Value != "-Inf" || ae.Index != 0 || len(ae.Shape) != 1 || ae.Shape[0] != 3 {
		t.Fatalf("got %+v, want Log giving -Inf at element 0 of [3]", ae)
	}
}

// An infinity given to an op and passed on (a mask, data) is not an
// anomaly; the op that turns it into NaN is, and says where it came from.
func TestAnomalyInputAlreadyBad(t *testing.T) {
	w := bp.FromFloat64s([]float64{1, math.Inf(1), 2}).SetRequiresGrad(true)
	ae := catchAnomaly(t, func() {
		y := w.MulScalar(2) // +Inf at 1, passed on
		_ = y.Sub(y)        // Inf - Inf
	})
	if ae == nil || ae.Op != "Sub" || ae.Value != "NaN" || ae.Index != 1 || ae.Cause != "input 0 already holds +Inf" {
		t.Fatalf("got %+v", ae)
	}
	scores := bp.FromFloat64s([]float64{0.5, 2}).SetRequiresGrad(true)
	mask := bp.FromFloat64s([]float64{0, math.Inf(-1)})
	ae = catchAnomaly(t, func() { scores.Add(mask).Softmax(0).Select(0, 0).Backward() })
	if ae != nil {
		t.Fatalf("a -Inf mask stopped the computation: %v", ae)
	}
}

func TestAnomalyBackward(t *testing.T) {
	x := bp.Float64.Scalar(0).SetRequiresGrad(true)
	var line int
	var y *bp.Tensor
	ae := catchAnomaly(t, func() {
		line = lineAfter()
		y = x.Sqrt().AddScalar(1) // forward is fine: sqrt(0) = 0
		y.Backward()              // d sqrt(x)/dx = +Inf at 0
	})
	if ae == nil {
		t.Fatal("the backward of sqrt at 0 did not panic")
	}
	if ae.Op != "Sqrt" || !ae.Backward || ae.Input != 0 || ae.Value != "+Inf" || ae.Cause != "" {
		t.Errorf("got %+v", ae)
	}
	if !strings.HasSuffix(ae.Where.File, "anomaly_test.go") || ae.Where.Line != line {
		t.Errorf("recorded at %s:%d, want anomaly_test.go:%d", ae.Where.File, ae.Where.Line, line)
	}
	if msg := ae.Error(); !strings.Contains(msg, "the backward of Sqrt gave +Inf in the gradient for its input 0") {
		t.Errorf("message %q", msg)
	}
}

// A gradient that becomes non-finite as a sum, not in an op, is blamed on
// the first op that receives it, which says so.
func TestAnomalyBackwardUpstreamAlreadyBad(t *testing.T) {
	x := bp.Float64.Scalar(0).SetRequiresGrad(true)
	ae := catchAnomaly(t, func() {
		h := x.Exp()  // the node whose upstream gradient will overflow
		y := h.Add(h) // two finite gradients for h, whose sum is +Inf
		y.BackwardWith(bp.Float64.Scalar(0.75*math.MaxFloat64), bp.BackwardOptions{})
	})
	if ae == nil || ae.Op != "Exp" || !ae.Backward || !strings.Contains(ae.Cause, "upstream gradient already holds +Inf") {
		t.Fatalf("got %+v", ae)
	}
}

func TestAnomalyViaLayer(t *testing.T) {
	l := nn.NewLinear(2, 2, bp.NewRNG(1))
	l.Weight.F32()[1] = float32(math.NaN())
	x := bp.Ones(1, 2)
	var line int
	ae := catchAnomaly(t, func() {
		line = lineAfter()
		_ = l.Forward(x)
	})
	if ae == nil || ae.Op != "Linear" || ae.Cause != "input 1 already holds NaN" {
		t.Fatalf("got %+v", ae)
	}
	if ae.Where.Line != line || !strings.Contains(ae.Via.Function, "/nn.(*Linear).Forward") {
		t.Errorf("recorded at line %d via %s, want line %d via nn.(*Linear).Forward", ae.Where.Line, ae.Via.Function, line)
	}
}

// Off, nothing is checked and the scalar lane gives the same gradients as
// the tensor path does with it on.
func TestAnomalyOffAndLaneAgree(t *testing.T) {
	if bp.DetectAnomaly() {
		t.Fatal("anomaly mode is on by default")
	}
	x := bp.Float64.Scalar(-1).SetRequiresGrad(true)
	if v := x.Sqrt().Item(); !math.IsNaN(v) {
		t.Fatalf("sqrt(-1) = %v", v)
	}
	f := func() float64 {
		a := bp.Float32.Scalar(0.7).SetRequiresGrad(true)
		b := bp.Float32.Scalar(-1.3).SetRequiresGrad(true)
		a.Mul(b).Tanh().Add(a.Exp()).Div(b.Sigmoid()).Backward()
		return a.Grad().Item()*1000 + b.Grad().Item()
	}
	off := f()
	var on float64
	if ae := catchAnomaly(t, func() { on = f() }); ae != nil {
		t.Fatal(ae)
	}
	if on != off {
		t.Errorf("gradients differ with anomaly mode on: %v vs %v", on, off)
	}
}

// A model with causal attention (its mask and softmax) trains in anomaly
// mode without a false alarm.
func TestAnomalyModeGPTStep(t *testing.T) {
	g, err := nn.NewGPT(nn.GPTConfig{Vocab: 11, Context: 8, Layers: 1, Heads: 2, Embd: 8}, bp.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	tokens := bp.FromInt64s([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1}, 2, 6)
	targets := bp.FromInt64s([]int64{2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2}, 2, 6)
	ae := catchAnomaly(t, func() {
		logits := g.Forward(tokens)
		bp.CrossEntropy(logits.Reshape(-1, 11), targets.Reshape(-1), bp.CrossEntropyOptions{}).Backward()
	})
	if ae != nil {
		t.Fatalf("false alarm: %v", ae)
	}
}
