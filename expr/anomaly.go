package expr

import (
	"fmt"
	"strings"
)

// Where a NaN or an infinity came from. Eval refuses a result or a
// gradient that is not a finite number; these name the first step that
// made it (the expression's anomaly report, read from the step table as
// the engine's anomaly mode reads the graph), by its symbol and column.

// valueError is Eval's error for a value that is bad (nonFinite's name).
func valueError(res *Result, bad string) error {
	for _, st := range res.Steps { // forward order: the first bad output
		if finite(st.Value) {
			continue
		}
		return fmt.Errorf("the value of the expression is %s: it starts at %s (column %d), which gives %s from %s",
			bad, st.Symbol, st.Col, num(st.Value), inputValues(res, &st))
	}
	return fmt.Errorf("the value of the expression is %s", bad)
}

// gradError is Eval's error for variable name's gradient, which is bad.
func gradError(res *Result, name, bad string) error {
	// uses[k]: step k's subtree holds the variable.
	uses := make([]bool, len(res.Steps))
	for k, st := range res.Steps {
		for _, in := range st.Inputs {
			if (in.Kind == FromVar && in.Name == name) || (in.Kind == FromNode && uses[in.Step]) {
				uses[k] = true
			}
		}
	}
	for k := len(res.Steps) - 1; k >= 0; k-- { // backward order
		st := &res.Steps[k]
		if !uses[k] || !finite(st.Upstream) {
			continue
		}
		for i, in := range st.Inputs {
			if finite(st.Grad[i]) || !((in.Kind == FromVar && in.Name == name) || (in.Kind == FromNode && uses[in.Step])) {
				continue
			}
			return fmt.Errorf("the gradient df/d%s is %s: it starts at %s (column %d), whose gradient for its input %d is %s (local gradient %s times upstream %s, at %s)",
				name, bad, st.Symbol, st.Col, i+1, num(st.Grad[i]), num(st.Local[i]), num(st.Upstream), inputValues(res, st))
		}
	}
	return fmt.Errorf("the gradient df/d%s is %s", name, bad)
}

// inputValues says what a step was given: "input -1", "inputs 1 and 0".
func inputValues(res *Result, st *Step) string {
	vs := make([]string, len(st.Inputs))
	for i, in := range st.Inputs {
		vs[i] = num(in.Value)
		if in.Kind == FromVar {
			vs[i] = in.Name + " = " + vs[i]
		}
	}
	if len(vs) == 1 {
		return "input " + vs[0]
	}
	return "inputs " + strings.Join(vs, " and ")
}

func num(v float64) string {
	if s := nonFinite(v); s != "" {
		return strings.TrimSuffix(s, " (not a number)")
	}
	return fmt.Sprintf("%g", v)
}
