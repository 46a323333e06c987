package backprop_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// ceRefCase is one case of testdata/crossentropy_ref.json, written by
// scripts/gen_crossentropy_ref.py with PyTorch.
type ceRefCase struct {
	Name        string    `json:"name"`
	Shape       []int     `json:"shape"`
	Logits      []float64 `json:"logits"`
	Targets     []int     `json:"targets"`
	Probs       []float64 `json:"probabilities"`
	Smoothing   float64   `json:"label_smoothing"`
	Weight      []float64 `json:"weight"`
	IgnoreIndex *int64    `json:"ignore_index"`
	Reduction   string    `json:"reduction"`
	Upstream    []float64 `json:"upstream"`
	Loss        []float64 `json:"loss"`
	Grad        []float64 `json:"grad"`
}

func (c *ceRefCase) inputs() (logits, targets *bp.Tensor, opt bp.CrossEntropyOptions) {
	logits = bp.FromFloat64s(append([]float64(nil), c.Logits...), c.Shape...)
	tshape := []int{}
	if len(c.Shape) > 1 {
		tshape = append([]int{c.Shape[0]}, c.Shape[2:]...)
	}
	if c.Probs != nil {
		targets = bp.FromFloat64s(append([]float64(nil), c.Probs...), c.Shape...)
	} else {
		targets = bp.FromInts(c.Targets, tshape...)
		if len(tshape) == 0 {
			targets = targets.Reshape()
		}
	}
	opt.LabelSmoothing = c.Smoothing
	if c.Weight != nil {
		opt.Weight = bp.FromFloat64s(append([]float64(nil), c.Weight...))
	}
	if c.IgnoreIndex != nil {
		opt.Ignore, opt.IgnoreIndex = true, *c.IgnoreIndex
	}
	opt.Reduction = map[string]bp.Reduction{"mean": bp.ReduceMean, "sum": bp.ReduceSum, "none": bp.ReduceNone}[c.Reduction]
	return logits, targets, opt
}

func loadCERef(t *testing.T) []ceRefCase {
	t.Helper()
	b, err := os.ReadFile("testdata/crossentropy_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []ceRefCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no cases in testdata/crossentropy_ref.json")
	}
	return ref.Cases
}

// Loss values and gradients match PyTorch's cross_entropy, in float64 and
// float32.
func TestCrossEntropyMatchesPyTorch(t *testing.T) {
	for _, c := range loadCERef(t) {
		for _, dt := range []bp.DType{bp.Float64, bp.Float32} {
			logits, targets, opt := c.inputs()
			logits = logits.To(dt).SetRequiresGrad(true)
			if opt.Weight != nil {
				opt.Weight = opt.Weight.To(dt)
			}
			if targets.DType() != bp.Int64 {
				targets = targets.To(dt)
			}
			loss := bp.CrossEntropy(logits, targets, opt)
			tol := 1e-13
			if dt == bp.Float32 {
				tol = 1e-5
			}
			if got := loss.Float64s(); !closeAll(got, c.Loss, tol) {
				t.Errorf("%s %v: loss %v, PyTorch %v", c.Name, dt, got, c.Loss)
			}
			up := bp.FromFloat64s(append([]float64(nil), c.Upstream...), loss.Shape()...).To(dt)
			loss.Mul(up).Sum().Backward()
			if got := logits.Grad().Float64s(); !closeAll(got, c.Grad, tol) {
				t.Errorf("%s %v: gradient %v, PyTorch %v", c.Name, dt, got, c.Grad)
			}
		}
	}
}

func TestCrossEntropyGrad(t *testing.T) {
	for _, c := range loadCERef(t) {
		logits, targets, opt := c.inputs()
		checkGrad2(t, "CrossEntropy "+c.Name, func(xs ...*bp.Tensor) *bp.Tensor {
			return bp.CrossEntropy(xs[0], targets, opt)
		}, logits)
		if targets.DType() != bp.Int64 { // differentiable in the probabilities too
			checkGrad2(t, "CrossEntropy "+c.Name+" (targets)", func(xs ...*bp.Tensor) *bp.Tensor {
				return bp.CrossEntropy(xs[0], xs[1], opt)
			}, logits, targets)
		}
	}
	// Non-contiguous logits with the class axis in the middle.
	tg := bp.FromInts([]int{0, 2, 1, 1, 2, 0}, 2, 3)
	checkGrad2(t, "CrossEntropy non-contiguous", func(xs ...*bp.Tensor) *bp.Tensor {
		return bp.CrossEntropy(xs[0].Transpose(1, 2), tg, bp.CrossEntropyOptions{Weight: bp.FromFloat64s([]float64{1, 2, 0.5})})
	}, rnd(5, 2, 3, 3))
}

func TestCrossEntropyOptions(t *testing.T) {
	x := rnd(1, 4, 3)
	y := bp.FromInts([]int{0, 2, 1, 2}, 4)
	// The zero options are CrossEntropyFromLogits.
	if a, b := bp.CrossEntropy(x, y, bp.CrossEntropyOptions{}).Item(), bp.CrossEntropyFromLogits(x, y).Item(); a != b {
		t.Errorf("zero options %v, CrossEntropyFromLogits %v", a, b)
	}
	// Every target ignored: the mean is NaN (0/0), as in PyTorch; the sum 0.
	all := bp.FromInts([]int{-1, -1, -1, -1}, 4)
	if v := bp.CrossEntropy(x, all, bp.CrossEntropyOptions{Ignore: true, IgnoreIndex: -1}).Item(); !math.IsNaN(v) {
		t.Errorf("all ignored mean = %v, want NaN", v)
	}
	if v := bp.CrossEntropy(x, all, bp.CrossEntropyOptions{Ignore: true, IgnoreIndex: -1, Reduction: bp.ReduceSum}).Item(); v != 0 {
		t.Errorf("all ignored sum = %v, want 0", v)
	}
	mustPanic(t, "-1 out of range for 3 classes", func() { bp.CrossEntropy(x, all, bp.CrossEntropyOptions{}) })
	mustPanic(t, "CrossEntropy: targets of shape [4] for logits of shape [4 3 2]; want shape [4 2]", func() {
		bp.CrossEntropy(rnd(1, 4, 3, 2), y, bp.CrossEntropyOptions{})
	})
	mustPanic(t, "CrossEntropy: weight is float64 of shape [2]; want float64 [3]", func() {
		bp.CrossEntropy(x, y, bp.CrossEntropyOptions{Weight: rnd(1, 2)})
	})
	mustPanic(t, "CrossEntropy: targets are float64 of shape [4]; want int64 class indices, or float64 probabilities of the logits' shape [4 3]", func() {
		bp.CrossEntropy(x, rnd(1, 4), bp.CrossEntropyOptions{})
	})
	mustPanic(t, "CrossEntropy: label smoothing 1.5 is not in [0, 1]", func() { bp.CrossEntropy(x, y, bp.CrossEntropyOptions{LabelSmoothing: 1.5}) })
	mustPanic(t, "unknown reduction 7", func() { bp.CrossEntropy(x, y, bp.CrossEntropyOptions{Reduction: 7}) })
	mustPanic(t, "logits are 0-d", func() { bp.CrossEntropy(rnd(1), bp.FromInts([]int{0}).Reshape(), bp.CrossEntropyOptions{}) })
}
