package expr_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gobackprop/backprop/expr"
)

// FuzzParse: no input makes Parse panic; an error is always an *Error with
// a column inside the input (or just past it); and what parses prints back
// as an expression that parses to the same tree. Small results are also
// evaluated and printed, which must not panic either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"(x+y)*z", "1/(1+exp(-(w0*x0+w1*x1+w2)))", "-x^2", "2^3^2", "2**-x", "a - -b", "+x",
		"pow(x, 2) + max(a, b) - min(a, b)", "relu(abs(sin(cos(tanh(sigmoid(sqrt(log(x))))))))",
		"1e-3 + 2.5E+2 + .5", "x)", "((x", "1e", "foo(x)", "max(x)", "exp", "x $ y", "é", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		ast, err := expr.Parse(src)
		if err != nil {
			var pe *expr.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): %T %v", src, err, err)
			}
			if pe.Col < 1 || pe.Col > len([]rune(src))+1 {
				t.Fatalf("Parse(%q): column %d out of range", src, pe.Col)
			}
			return
		}
		printed := ast.Root.String()
		again, err := expr.Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", src, printed, err)
		}
		if again.Root.String() != printed {
			t.Fatalf("Parse(%q): %q reparses as %q", src, printed, again.Root.String())
		}
		if len(src) > 200 {
			return
		}
		vals := map[string]float64{}
		for i, v := range ast.Vars {
			vals[v] = 0.5 + float64(i)
		}
		res, err := expr.Eval(ast, vals)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := res.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		res.WriteTable(io.Discard)
		res.WriteDOT(io.Discard)
	})
}
