package checkpoint_test

import (
	"math"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

func TestCheckFinite(t *testing.T) {
	ok := map[string]*bp.Tensor{
		"a": bp.FromFloat32s([]float32{math.MaxFloat32, -math.MaxFloat32, 0}),
		"b": bp.FromFloat64s([]float64{math.SmallestNonzeroFloat64}),
		"i": bp.FromInt64s([]int64{math.MaxInt64}),
		"e": bp.Zeros(0, 3),
	}
	if err := checkpoint.CheckFinite(ok); err != nil {
		t.Errorf("finite tensors: %v", err)
	}
	for _, c := range []struct {
		bad  *bp.Tensor
		want string
	}{
		{bp.FromFloat32s([]float32{1, 2, 3, float32(math.NaN()), 5, 6}, 2, 3), "NaN at [1 0]"},
		{bp.FromFloat64s([]float64{math.Inf(-1)}), "-Inf at [0]"},
		{bp.FromFloat32s([]float32{0, float32(math.Inf(1))}, 1, 1, 2), "+Inf at [0 0 1]"},
	} {
		m := map[string]*bp.Tensor{"a": ok["a"], "fc2.weight": c.bad, "z": bp.FromFloat32s([]float32{float32(math.NaN())})}
		err := checkpoint.CheckFinite(m)
		if err == nil || !strings.Contains(err.Error(), `"fc2.weight"`) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error naming fc2.weight and %q", err, c.want)
		}
	}
}
