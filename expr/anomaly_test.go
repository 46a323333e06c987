package expr_test

import (
	"testing"

	"github.com/gobackprop/backprop/expr"
)

// A value or gradient that is not a finite number is refused with the step
// where it started: its symbol, its column, and what it was given.
func TestEvalErrorsNameTheStep(t *testing.T) {
	for _, c := range []struct {
		src  string
		vals map[string]float64
		want string
	}{
		{"sqrt(x)+1", map[string]float64{"x": -1},
			"the value of the expression is NaN (not a number): it starts at sqrt (column 1), which gives NaN from input x = -1"},
		{"2 + log(x)*0", map[string]float64{"x": 0},
			"the value of the expression is NaN (not a number): it starts at log (column 5), which gives -Inf from input x = 0"},
		{"1 + 0/0", nil,
			"the value of the expression is NaN (not a number): it starts at / (column 6), which gives NaN from inputs 0 and 0"},
		{"3*sqrt(x)", map[string]float64{"x": 0},
			"the gradient df/dx is +Inf: it starts at sqrt (column 3), whose gradient for its input 1 is +Inf (local gradient +Inf times upstream 3, at input x = 0)"},
		// The branch that leads to y, not the other one, is searched.
		{"sqrt(y) + x*0", map[string]float64{"x": 1, "y": 0},
			"the gradient df/dy is +Inf: it starts at sqrt (column 1)"},
		{"(-2)^x", map[string]float64{"x": 1},
			"the gradient df/dx is NaN (not a number): it starts at ^ (column 5), whose gradient for its input 2 is NaN"},
	} {
		ast, err := expr.Parse(c.src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = expr.Eval(ast, c.vals)
		if err == nil || len(err.Error()) < len(c.want) || err.Error()[:len(c.want)] != c.want {
			t.Errorf("Eval(%q, %v):\n got %v\nwant %s...", c.src, c.vals, err, c.want)
		}
	}
}
