package train

import (
	"context"
	"math"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/internal/synthetic"
)

// Training and test sets of different example shapes (a 32x32 training
// folder with a 28x28 test folder) are refused before any training.
func TestNewRefusesMismatchedSets(t *testing.T) {
	cfg, _ := Defaults("mlp")
	_, err := New(cfg, synthetic.Images(8, 8, 1), synthetic.Images(8, 6, 2))
	if err == nil || !strings.Contains(err.Error(), "[1 8 8]") || !strings.Contains(err.Error(), "[1 6 6]") {
		t.Errorf("got %v, want an error naming both shapes", err)
	}
	four := data.NewTensorDataset(make([]float32, 8*36), []int{1, 6, 6}, make([]int64, 8), 4)
	if _, err := New(cfg, synthetic.Images(8, 6, 1), four); err == nil || !strings.Contains(err.Error(), "classes") {
		t.Errorf("class counts 3 and 4: got %v", err)
	}
}

// A checkpoint whose weights or optimizer moments hold NaN or Inf is
// refused by Restore, naming the tensor.
func TestRestoreRefusesNonFinite(t *testing.T) {
	trainSet, testSet := synthetic.Images(32, 6, 1), synthetic.Images(16, 6, 2)
	cfg, _ := Defaults("softmax")
	cfg.SetOptim("adam")
	cfg.Epochs, cfg.Batch = 1, 16
	tr, err := New(cfg, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), "", nil); err != nil {
		t.Fatal(err)
	}
	for _, optim := range []bool{false, true} {
		st := mustState(t, tr)
		m := st.Model
		if optim {
			m = st.Optim
		}
		var name string
		for n, x := range m {
			if x.DType() == bp.Float32 && x.Numel() > 0 {
				name = n
				break
			}
		}
		bad := m[name].Clone()
		bad.F32()[bad.Numel()-1] = float32(math.Inf(1))
		m[name] = bad
		cfg2 := cfg
		cfg2.Epochs = 2
		other, err := New(cfg2, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		err = other.Restore(st)
		if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "Inf") {
			t.Errorf("optimizer %v: got %v, want an error naming %s", optim, err, name)
		}
	}
}

// Sizes near MaxInt give schedules that hold the rate, not a panic from a
// product that overflowed into a negative length.
func TestScheduleHugeSizes(t *testing.T) {
	for _, c := range []struct {
		schedule               string
		epochs, stepSize, warm int
	}{
		{"step", 1, math.MaxInt, 0},
		{"step", 1, math.MaxInt / 3, 0},
		{"cosine", math.MaxInt, 1, 0},
		{"cosine", math.MaxInt / 3, 1, 5},
		{"constant", 1, 1, math.MaxInt},
		{"cosine", 2, 1, math.MaxInt},
	} {
		cfg, _ := Defaults("softmax")
		cfg.Schedule, cfg.Epochs, cfg.StepSize, cfg.Warmup = c.schedule, c.epochs, c.stepSize, c.warm
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s := cfg.NewSchedule(4)
		for _, step := range []int{0, 1, 1000, math.MaxInt / 2} {
			lr := s.LR(0.1, step)
			if !(lr > 0 && lr <= 0.1) {
				t.Errorf("%+v: step %d: rate %v", c, step, lr)
			}
		}
	}
}

func TestDescribePlural(t *testing.T) {
	cfg, _ := Defaults("softmax")
	cfg.Epochs, cfg.Schedule, cfg.StepSize = 1, "step", 1
	d := cfg.Describe()
	if strings.Contains(d, "1 epochs") || !strings.Contains(d, "1 epoch,") || !strings.Contains(d, "every 1 epoch") {
		t.Errorf("Describe: %q", d)
	}
	cfg.Epochs = 2
	if d := cfg.Describe(); !strings.Contains(d, "2 epochs,") {
		t.Errorf("Describe: %q", d)
	}
}
