package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type gradJSON struct {
	Value float64
	Grad  map[string]float64
	Nodes []struct {
		ID       string
		Op       string
		Value    *float64
		Local    []*float64
		Upstream *float64
		Grad     []*float64
	}
}

func decode(t *testing.T, s string) gradJSON {
	t.Helper()
	var g gradJSON
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return g
}

func TestGradLectureTable(t *testing.T) {
	code, out, errs := cli(t, "", "grad", "(x+y)*z", "x=-2", "y=5", "z=-4")
	if code != 0 || errs != "" {
		t.Fatalf("status %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"n1    Add  x + y     3      1, 1            -4        -4, -4\n",
		"n2    Mul  n1 * z    -12    -4, 3           1         -4, 3\n",
		"f = -12\ndf/dx = -4\ndf/dy = -4\ndf/dz = 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = cli(t, "", "grad", "1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3")
	if code != 0 || errs != "" {
		t.Fatalf("status %d, stderr %q", code, errs)
	}
	for _, want := range []string{"f = 0.7310585786300049", "df/dw0 = -0.1966", "df/dx0 = 0.3932", "df/dw1 = -0.3932", "df/dx1 = -0.5898", "df/dw2 = 0.1966"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestGradLectureJSON(t *testing.T) {
	code, out, errs := cli(t, "", "grad", "--json", "(x+y)*z", "x=-2", "y=5", "z=-4")
	if code != 0 || errs != "" {
		t.Fatalf("status %d, stderr %q", code, errs)
	}
	if !strings.HasPrefix(out, `{"value":-12,"grad":{"x":-4,"y":-4,"z":3},"nodes":[`) || strings.Count(out, "\n") != 1 {
		t.Errorf("JSON %s", out)
	}
	g := decode(t, out)
	if g.Value != -12 || g.Grad["x"] != -4 || g.Grad["y"] != -4 || g.Grad["z"] != 3 || len(g.Nodes) != 2 {
		t.Errorf("%+v", g)
	}

	code, out, _ = cli(t, "", "grad", "--json", "1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3")
	g = decode(t, out)
	want := map[string]float64{"w0": -0.1966, "x0": 0.3932, "w1": -0.3932, "x1": -0.5898, "w2": 0.1966}
	if code != 0 || math.Abs(g.Value-0.7311) > 5e-5 || len(g.Grad) != len(want) {
		t.Errorf("status %d, %+v", code, g)
	}
	for k, v := range want {
		if math.Abs(g.Grad[k]-v) > 5e-5 {
			t.Errorf("df/d%s = %v, want %v", k, g.Grad[k], v)
		}
	}

	// No variables: grad is {}.
	code, out, _ = cli(t, "", "grad", "--json", "2^3^2")
	if code != 0 || !strings.HasPrefix(out, `{"value":512,"grad":{},"nodes":[`) {
		t.Errorf("status %d, %s", code, out)
	}
}

// x^2 at x = -3: the local gradient for the literal exponent is 9·log(-3),
// NaN, printed as null; the command succeeds.
func TestGradNullIntermediate(t *testing.T) {
	code, out, errs := cli(t, "", "grad", "--json", "x^2", "x=-3")
	if code != 0 || errs != "" {
		t.Fatalf("status %d, stderr %q", code, errs)
	}
	g := decode(t, out)
	n := g.Nodes[0]
	if g.Value != 9 || g.Grad["x"] != -6 || *n.Local[0] != -6 || n.Local[1] != nil || n.Grad[1] != nil || *n.Upstream != 1 {
		t.Errorf("%s", out)
	}
	if !strings.Contains(out, `"local":[-6,null]`) {
		t.Errorf("%s", out)
	}
}

func TestGradLeadingSign(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"grad", "-x^2", "x=3"}, "f = -9\ndf/dx = -6\n"},
		{[]string{"grad", "--", "-x^2", "x=3"}, "f = -9\ndf/dx = -6\n"},
		{[]string{"grad", "-2*x", "x=1"}, "f = -2\ndf/dx = -2\n"},
		{[]string{"grad", "--", "-h", "h=1"}, "f = -1\ndf/dh = -1\n"},
		{[]string{"grad", "--", "--x", "x=1"}, "f = 1\ndf/dx = 1\n"},
		{[]string{"grad", "+x", "x=1"}, "f = 1\ndf/dx = 1\n"},
		{[]string{"grad", "2^-x", "x=1"}, "f = 0.5\n"},
		{[]string{"grad", "a - -b", "a=1", "b=2"}, "f = 3\ndf/da = 1\ndf/db = 1\n"},
	} {
		code, out, errs := cli(t, "", c.args...)
		if code != 0 || errs != "" || !strings.Contains(out, c.want) {
			t.Errorf("%q: status %d, stderr %q, stdout:\n%s", c.args, code, errs, out)
		}
	}
	code, out, errs := cli(t, "", "grad", "--json", "--", "-x^2", "x=3")
	if code != 0 || errs != "" || decode(t, out).Value != -9 {
		t.Errorf("status %d, stderr %q, stdout %s", code, errs, out)
	}
	code, out, errs = cli(t, "", "grad", "--json", "-x*y", "x=3", "y=2")
	if code != 0 || errs != "" || decode(t, out).Grad["y"] != -3 {
		t.Errorf("status %d, stderr %q, stdout %s", code, errs, out)
	}
}

func TestGradHelp(t *testing.T) {
	for _, args := range [][]string{{"grad", "--help"}, {"grad", "-h"}, {"help", "grad"}} {
		code, out, errs := cli(t, "", args...)
		if code != 0 || errs != "" || !strings.Contains(out, "backprop grad [--json] [--dot FILE] [--svg FILE] EXPR [NAME=VALUE ...]") || !strings.Contains(out, "--svg FILE") {
			t.Errorf("%q: status %d, stderr %q, stdout:\n%s", args, code, errs, out)
		}
	}
}

func TestGradErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		// syntax, with the column
		{[]string{"x+"}, "syntax error: unexpected end of expression at column 3"},
		{[]string{"(x+y"}, `syntax error: missing ")" at column 5 (the "(" at column 1 is not closed)`},
		{[]string{"x $ y"}, "syntax error: unexpected character '$' at column 3"},
		{[]string{"x y"}, `syntax error: unexpected "y" at column 3`},
		{[]string{"1e+"}, `syntax error: malformed number "1e+" at column 1`},
		{[]string{""}, "syntax error: empty expression at column 1"},
		// functions
		{[]string{"foo(x)", "x=1"}, `unknown function "foo" at column 1`},
		{[]string{"max(x)", "x=1"}, "wrong number of arguments to max at column 1 (max takes 2 arguments, got 1)"},
		{[]string{"1 + exp(x, x)", "x=1"}, "wrong number of arguments to exp at column 5"},
		// variables and values
		{[]string{"x*y", "x=1"}, "variable y has no value (give y=VALUE)"},
		{[]string{"x", "x=1", "y=2"}, "a value is given for y, which the expression does not use"},
		{[]string{"x", "x=1", "x=2"}, "variable x is given twice"},
		{[]string{"x", "1x=2"}, `"1x" in "1x=2" is not a valid variable name`},
		{[]string{"x", "x"}, `"x" is not NAME=VALUE`},
		{[]string{"x", "x=abc"}, `value "abc" of x is not a number`},
		{[]string{"x", "x=NaN"}, `value "NaN" of x is not a finite number`},
		{[]string{"x", "x=+Inf"}, `value "+Inf" of x is not a finite number`},
		{[]string{"x", "x=1", "--json"}, `"--json" is not NAME=VALUE (flags go before EXPR)`},
		// results that are not finite
		{[]string{"sqrt(x)", "x=-1"}, "the value of the expression is NaN"},
		{[]string{"1/x", "x=0"}, "the value of the expression is +Inf"},
		{[]string{"sqrt(x)", "x=0"}, "the gradient df/dx is +Inf"},
		{[]string{"(-2)^x", "x=1"}, "the gradient df/dx is NaN"},
		// usage
		{nil, "grad needs an EXPR"},
		{[]string{"--"}, "grad needs an EXPR"},
		{[]string{"--nope", "x"}, "unknown flag --nope"},
		{[]string{"--x", "x=1"}, "unknown flag --x (put an EXPR that begins with a sign after --)"},
		{[]string{"--dot"}, "flag needs an argument: --dot"},
		{[]string{"--json", "--dot", "-", "x", "x=1"}, "--json and --dot - would both write to standard output"},
		{[]string{"--dot", filepath.Join(t.TempDir(), "no", "such", "dir", "g.dot"), "x", "x=1"}, "writing "},
	} {
		code, out, errs := cli(t, "", append([]string{"grad"}, c.args...)...)
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			wantError(t, code, out, errs, 1, c.want)
		})
	}
}

func TestGradDOTFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "circuit.dot")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "", "grad", "--dot", path, "--json", "(x+y)*z", "x=-2", "y=5", "z=-4")
	if code != 0 || errs != "" || decode(t, out).Value != -12 {
		t.Fatalf("status %d, stderr %q, stdout %s", code, errs, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "digraph backprop {") || !strings.HasSuffix(s, "}\n") || !strings.Contains(s, "v_x -> s_n1") ||
		!strings.Contains(s, `<font color="darkgreen">-12</font><br/><font color="red">1</font>`) {
		t.Errorf("DOT file:\n%s", s)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	// --dot=FILE and --dot - (standard output, instead of the table).
	code, _, errs = cli(t, "", "grad", "--dot="+filepath.Join(dir, "b.dot"), "x", "x=1")
	if _, err := os.Stat(filepath.Join(dir, "b.dot")); code != 0 || errs != "" || err != nil {
		t.Errorf("--dot=FILE: status %d, stderr %q, %v", code, errs, err)
	}
	code, out, errs = cli(t, "", "grad", "--dot", "-", "x*2", "x=1")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "digraph") || strings.Contains(out, "df/dx") {
		t.Errorf("--dot -: status %d, stderr %q, stdout %s", code, errs, out)
	}
}

// An EXPR of "-" is read from standard input: for expressions longer than a
// command line may be, such as 10,000 nested parentheses.
func TestGradStdin(t *testing.T) {
	nested := strings.Repeat("(", 10_000) + "x*x" + strings.Repeat(")", 10_000) + "\n"
	code, out, errs := cli(t, nested, "grad", "--json", "-", "x=3")
	if code != 0 || errs != "" {
		t.Fatalf("status %d, stderr %q", code, errs)
	}
	if g := decode(t, out); g.Value != 9 || g.Grad["x"] != 6 {
		t.Errorf("%s", out)
	}
	code, out, errs = cli(t, "x+", "grad", "-", "x=3")
	wantError(t, code, out, errs, 1, "syntax error: unexpected end of expression at column 3")
}
