package expr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobackprop/backprop/expr"
)

// eval parses src, reads the NAME=VALUE bindings and evaluates.
func eval(t *testing.T, src string, bindings ...string) *expr.Result {
	t.Helper()
	ast, err := expr.Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	vals, err := expr.ParseBindings(bindings)
	if err != nil {
		t.Fatalf("ParseBindings(%q): %v", bindings, err)
	}
	res, err := expr.Eval(ast, vals)
	if err != nil {
		t.Fatalf("Eval(%q, %v): %v", src, bindings, err)
	}
	return res
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func grad(t *testing.T, r *expr.Result, name string) float64 {
	t.Helper()
	g, ok := r.Grad(name)
	if !ok {
		t.Fatalf("no gradient for %s", name)
	}
	return g
}

func TestLectureSumTimes(t *testing.T) {
	r := eval(t, "(x+y)*z", "x=-2", "y=5", "z=-4")
	if r.Value != -12 {
		t.Errorf("value %v, want -12", r.Value)
	}
	for name, want := range map[string]float64{"x": -4, "y": -4, "z": 3} {
		if g := grad(t, r, name); g != want {
			t.Errorf("df/d%s = %v, want %v", name, g, want)
		}
	}

	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	want := `{"value":-12,"grad":{"x":-4,"y":-4,"z":3},"nodes":[` +
		`{"id":"n1","op":"Add","symbol":"+","col":3,"const":false,"inputs":[{"kind":"var","name":"x","value":-2},{"kind":"var","name":"y","value":5}],"value":3,"local":[1,1],"upstream":-4,"grad":[-4,-4]},` +
		`{"id":"n2","op":"Mul","symbol":"*","col":6,"const":false,"inputs":[{"kind":"node","name":"n1","value":3},{"kind":"var","name":"z","value":-4}],"value":-12,"local":[-4,3],"upstream":1,"grad":[-4,3]}]}` + "\n"
	if buf.String() != want {
		t.Errorf("JSON:\n got %s\nwant %s", buf.String(), want)
	}

	buf.Reset()
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	wantTable := `f = (x+y)*z
at x = -2, y = 5, z = -4

node  op   computes  value  local gradient  upstream  gradient
n1    Add  x + y     3      1, 1            -4        -4, -4
n2    Mul  n1 * z    -12    -4, 3           1         -4, 3

local gradient = d(node)/d(input); upstream = df/d(node); gradient = local gradient x upstream = df/d(input)

f = -12
df/dx = -4
df/dy = -4
df/dz = 3
`
	if buf.String() != wantTable {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), wantTable)
	}
}

const neuron = "1/(1+exp(-(w0*x0+w1*x1+w2)))"

var neuronVals = []string{"w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"}

var neuronGrads = map[string]float64{"w0": -0.1966, "x0": 0.3932, "w1": -0.3932, "x1": -0.5898, "w2": 0.1966}

func TestLectureSigmoidNeuron(t *testing.T) {
	r := eval(t, neuron, neuronVals...)
	if !near(r.Value, 0.7311, 5e-5) {
		t.Errorf("value %v, want 0.7311", r.Value)
	}
	for name, want := range neuronGrads {
		if g := grad(t, r, name); !near(g, want, 5e-5) {
			t.Errorf("df/d%s = %.4f, want %.4f", name, g, want)
		}
	}
	// The walk-through's steps: the lecture's circuit, gate by gate.
	var ops []string
	for _, st := range r.Steps {
		ops = append(ops, st.Op)
	}
	if got := strings.Join(ops, " "); got != "Mul Mul Add Add Neg Exp Add Div" {
		t.Errorf("ops %s", got)
	}
	// exp gate: local gradient e^-1, upstream -0.53, as on the slide.
	exp := r.Steps[5]
	if !near(exp.Value, 0.3679, 5e-5) || !near(exp.Local[0], 0.3679, 5e-5) || !near(exp.Upstream, -0.5344, 5e-5) || !near(exp.Grad[0], -0.1966, 5e-5) {
		t.Errorf("exp step %+v", exp)
	}

	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Value float64
		Grad  map[string]float64
		Nodes []struct {
			ID       string
			Op       string
			Inputs   []struct{ Kind, Name string }
			Value    float64
			Local    []float64
			Upstream float64
			Grad     []float64
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !near(out.Value, 0.7311, 5e-5) || len(out.Grad) != 5 || len(out.Nodes) != 8 {
		t.Fatalf("JSON %s", buf.String())
	}
	for name, want := range neuronGrads {
		if !near(out.Grad[name], want, 5e-5) {
			t.Errorf("JSON grad %s = %v, want %v", name, out.Grad[name], want)
		}
	}
	last := out.Nodes[7]
	if last.ID != "n8" || last.Op != "Div" || last.Inputs[0].Kind != "const" || last.Inputs[0].Name != "1" || last.Inputs[1].Name != "n7" || last.Upstream != 1 {
		t.Errorf("last node %+v", last)
	}

	buf.Reset()
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"n6    Exp  exp(n5)   0.367879  0.367879          -0.534447  -0.196612",
		"n8    Div  1 / n7    0.731059  const, -0.534447  1          const, -0.534447",
		"df/dx1 = -0.5898",
	} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, buf.String())
		}
	}
}

// f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x+y)^2), the lecture's
// staged-computation example, against central differences.
func TestFiniteDifference(t *testing.T) {
	const src = "(x + sigmoid(y)) / (sigmoid(x) + (x+y)^2)"
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	f := func(x, y float64) float64 { return (x + sig(y)) / (sig(x) + (x+y)*(x+y)) }
	ast, err := expr.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for _, p := range [][2]float64{{3, -4}, {0.5, 1.5}, {-1.25, 0.75}, {2, 2}} {
		x, y := p[0], p[1]
		r, err := expr.Eval(ast, map[string]float64{"x": x, "y": y})
		if err != nil {
			t.Fatal(err)
		}
		if !near(r.Value, f(x, y), 1e-12) {
			t.Errorf("f(%v,%v) = %v, want %v", x, y, r.Value, f(x, y))
		}
		dx := (f(x+h, y) - f(x-h, y)) / (2 * h)
		dy := (f(x, y+h) - f(x, y-h)) / (2 * h)
		gx, gy := grad(t, r, "x"), grad(t, r, "y")
		if math.Abs(gx-dx) > 1e-6*math.Max(1, math.Abs(dx)) || math.Abs(gy-dy) > 1e-6*math.Max(1, math.Abs(dy)) {
			t.Errorf("at (%v,%v): grad (%v, %v), finite differences (%v, %v)", x, y, gx, gy, dx, dy)
		}
		checkChain(t, r)
	}
}

// checkChain checks the walk-through's bookkeeping: each step's gradient is
// local × upstream, and what a step sends to an earlier step is that
// step's upstream gradient.
func checkChain(t *testing.T, r *expr.Result) {
	t.Helper()
	for k, st := range r.Steps {
		for i, in := range st.Inputs {
			if st.Grad[i] != st.Local[i]*st.Upstream && !math.IsNaN(st.Grad[i]) {
				t.Errorf("%s: grad[%d] %v != local %v × upstream %v", st.ID, i, st.Grad[i], st.Local[i], st.Upstream)
			}
			if in.Kind == expr.FromNode {
				if in.Step >= k {
					t.Errorf("%s reads a later step %d", st.ID, in.Step)
				}
				if up := r.Steps[in.Step].Upstream; !near(up, st.Grad[i], 1e-12*math.Max(1, math.Abs(up))) {
					t.Errorf("%s: upstream %v, but %s sends it %v", r.Steps[in.Step].ID, up, st.ID, st.Grad[i])
				}
			}
		}
	}
	if n := len(r.Steps); n > 0 && r.Steps[n-1].Upstream != 1 {
		t.Errorf("last step's upstream %v, want 1", r.Steps[n-1].Upstream)
	}
}

func TestPrecedence(t *testing.T) {
	for _, c := range []struct{ src, tree string }{
		{"-x^2", "(-(x ^ 2))"},
		{"2^3^2", "(2 ^ (3 ^ 2))"},
		{"2**3**2", "(2 ^ (3 ^ 2))"},
		{"2^-x", "(2 ^ (-x))"},
		{"2^-x^2", "(2 ^ (-(x ^ 2)))"},
		{"2 ^ + - x", "(2 ^ (-x))"},
		{"a - -b", "(a - (-b))"},
		{"a--b", "(a - (-b))"},
		{"a+-b", "(a + (-b))"},
		{"a*-b", "(a * (-b))"},
		{"a/-b^c", "(a / (-(b ^ c)))"},
		{"-x+y", "((-x) + y)"},
		{"+x", "x"},
		{"--x", "(-(-x))"},
		{"+-+x", "(-x)"},
		{"a-b-c", "((a - b) - c)"},
		{"a/b/c", "((a / b) / c)"},
		{"a-b*c", "(a - (b * c))"},
		{"a*b^c", "(a * (b ^ c))"},
		{"(a-b)*c", "((a - b) * c)"},
		{"-(x)^2", "(-(x ^ 2))"},
		{"(-x)^2", "((-x) ^ 2)"},
		{" pow( x , 2 ) + max(a,b)*min(a ,b)\t", "(pow(x, 2) + (max(a, b) * min(a, b)))"},
		{"sigmoid(-x)^2", "(sigmoid((-x)) ^ 2)"},
		{"1e-3+2.5E+2+.5+3.", "(((1e-3 + 2.5E+2) + .5) + 3.)"},
	} {
		ast, err := expr.Parse(c.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.src, err)
			continue
		}
		if got := ast.Root.String(); got != c.tree {
			t.Errorf("Parse(%q) = %s, want %s", c.src, got, c.tree)
		}
	}

	for _, c := range []struct {
		src  string
		vals []string
		want float64
	}{
		{"-x^2", []string{"x=3"}, -9},
		{"2^3^2", nil, 512},
		{"2**3**2", nil, 512},
		{"2^-x", []string{"x=1"}, 0.5},
		{"a - -b", []string{"a=1", "b=2"}, 3},
		{"-2^2", nil, -4},
		{"1e-3", nil, 0.001},
		{"2.5E+2", nil, 250},
		{"-x + 1", []string{"x=1"}, 0},
		{"+x * 2", []string{"x=1.5"}, 3},
		{"10 - 4 - 3", nil, 3},
		{"64 / 4 / 2", nil, 8},
		{"pow(2, 10) + max(1, 2) - min(1, 2)", nil, 1025},
	} {
		if r := eval(t, c.src, c.vals...); r.Value != c.want {
			t.Errorf("%s = %v, want %v", c.src, r.Value, c.want)
		}
	}
}

// Each AST operation is exactly one engine op, and the variables are shared
// leaves whose gradients sum over their uses.
func TestOneEngineOpPerOperation(t *testing.T) {
	r := eval(t, "+x - -y*x ^ 2 / sigmoid(x) + relu(x) + abs(x) + max(x, y) + min(x, y) + exp(log(sqrt(tanh(cos(sin(x))+2))))", "x=0.5", "y=-1.5")
	var ops []string
	for _, st := range r.Steps {
		ops = append(ops, st.Op)
	}
	want := "Neg Pow Mul Sigmoid Div Sub ReLU Add Abs Add Maximum Add Minimum Add Sin Cos Add Tanh Sqrt Log Exp Add"
	if got := strings.Join(ops, " "); got != want {
		t.Errorf("ops:\n got %s\nwant %s", got, want)
	}
	// x appears many times: its gradient is the sum the engine made.
	x, y := 0.5, -1.5
	sig := 1 / (1 + math.Exp(-x))
	dx := 1 + y*2*x/sig - y*x*x*(1-sig)/sig + 1 + 1 + 0 + 1 // the max picks x, the min picks y
	s := math.Cos(math.Sin(x)) + 2
	dx += 0.5 / math.Sqrt(math.Tanh(s)) * (1 - math.Tanh(s)*math.Tanh(s)) * -math.Sin(math.Sin(x)) * math.Cos(x)
	if g := grad(t, r, "x"); !near(g, dx, 1e-12) {
		t.Errorf("df/dx = %v, want %v", g, dx)
	}
	checkChain(t, r)
}

func TestKinks(t *testing.T) {
	// PyTorch: relu'(0) = 0, abs'(0) = 0, ties of max and min split evenly.
	r := eval(t, "relu(x)", "x=0")
	if g := grad(t, r, "x"); g != 0 {
		t.Errorf("relu'(0) = %v", g)
	}
	r = eval(t, "abs(x)", "x=0")
	if g := grad(t, r, "x"); g != 0 {
		t.Errorf("abs'(0) = %v", g)
	}
	r = eval(t, "max(x, y) + min(x, y)*2", "x=1", "y=1")
	if gx, gy := grad(t, r, "x"), grad(t, r, "y"); gx != 1.5 || gy != 1.5 {
		t.Errorf("max/min tie gradients %v %v", gx, gy)
	}
}

// Operations on literals only are folded by the engine but still shown,
// with local gradients from the engine and upstream from their consumer.
func TestFoldedSteps(t *testing.T) {
	r := eval(t, "x*(2+3)*-(4)", "x=2")
	if len(r.Steps) != 4 {
		t.Fatalf("%d steps", len(r.Steps))
	}
	add, neg := r.Steps[0], r.Steps[2]
	if !add.Folded || add.Op != "Add" || add.Value != 5 || add.Upstream != -8 || add.Local[0] != 1 || add.Grad[1] != -8 {
		t.Errorf("folded add %+v", add)
	}
	if !neg.Folded || neg.Op != "Neg" || neg.Local[0] != -1 || neg.Upstream != 10 {
		t.Errorf("folded neg %+v", neg)
	}
	if g := grad(t, r, "x"); g != -20 {
		t.Errorf("df/dx = %v", g)
	}
	checkChain(t, r)

	// No variables at all: every step folded, the last one's upstream 1.
	r = eval(t, "2^3^2")
	if r.Value != 512 || len(r.Vars) != 0 || !r.Steps[1].Folded || r.Steps[1].Upstream != 1 {
		t.Errorf("constant result %+v", r)
	}
	checkChain(t, r)
	var buf bytes.Buffer
	r.WriteJSON(&buf)
	if !strings.HasPrefix(buf.String(), `{"value":512,"grad":{},"nodes":[{`) {
		t.Errorf("JSON %s", buf.String())
	}
}

// The derivative with respect to the literal exponent of a negative base is
// 9·log(-3) = NaN: null in the JSON, and no error, since neither the value
// nor df/dx is affected.
func TestNullIntermediateGradient(t *testing.T) {
	r := eval(t, "x^2", "x=-3")
	if r.Value != 9 || grad(t, r, "x") != -6 {
		t.Fatalf("value %v, df/dx %v", r.Value, grad(t, r, "x"))
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	want := `{"value":9,"grad":{"x":-6},"nodes":[{"id":"n1","op":"Pow","symbol":"^","col":2,"const":false,"inputs":[{"kind":"var","name":"x","value":-3},{"kind":"const","name":"2","value":2}],"value":9,"local":[-6,null],"upstream":1,"grad":[-6,null]}]}` + "\n"
	if buf.String() != want {
		t.Errorf("JSON\n got %s\nwant %s", buf.String(), want)
	}
	if !json.Valid(buf.Bytes()) {
		t.Error("invalid JSON")
	}
	b, err := json.Marshal(r)
	if err != nil || string(b)+"\n" != want {
		t.Errorf("json.Marshal: %s, %v", b, err)
	}
	buf.Reset()
	r.WriteTable(&buf)
	if !strings.Contains(buf.String(), "-6, const") || strings.Contains(buf.String(), "NaN") {
		t.Errorf("table:\n%s", buf.String())
	}

	// An infinite intermediate value is null too: exp(1000) overflows, but
	// its reciprocal is a fine 0.
	r = eval(t, "x + 1/exp(1000)", "x=1")
	buf.Reset()
	r.WriteJSON(&buf)
	if r.Value != 1 || grad(t, r, "x") != 1 || !strings.Contains(buf.String(), `"value":null`) || !json.Valid(buf.Bytes()) {
		t.Errorf("value %v, JSON %s", r.Value, buf.String())
	}
}

// The 2 of (x+y)^2 is a constant: the table says so where its gradients
// would be, whatever number the engine computes for it (NaN for a
// negative base, a^2·log(a) for a positive one), and explains the word
// once; the legend is left out when no literal is read.
func TestTableMarksConstants(t *testing.T) {
	for _, vars := range [][]string{{"x=-2", "y=1"}, {"x=2", "y=1"}} {
		r := eval(t, "(x+y)^2", vars...)
		var buf bytes.Buffer
		if err := r.WriteTable(&buf); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		row := regexp.MustCompile(`(?m)^n2 .*$`).FindString(out)
		if strings.Count(row, ", const") != 2 || strings.Contains(out, "NaN") || strings.Count(out, "const = the input is a literal") != 1 {
			t.Errorf("%v: table\n%s", vars, out)
		}
	}
	r := eval(t, "x*y", "x=1", "y=2")
	var buf bytes.Buffer
	r.WriteTable(&buf)
	if strings.Contains(buf.String(), "const") {
		t.Errorf("no literal, yet\n%s", buf.String())
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		src  string
		col  int
		want string
	}{
		{"", 1, "syntax error: empty expression"},
		{"   ", 4, "syntax error: empty expression"},
		{"x+", 3, "syntax error: unexpected end of expression"},
		{"x y", 3, `syntax error: unexpected "y"`},
		{"(x", 3, `syntax error: missing ")" at column 3 (the "(" at column 1 is not closed)`},
		{"x)", 2, `syntax error: unmatched ")"`},
		{"(x y)", 4, `syntax error: unexpected "y" at column 4 (expected ")" to close the "(" at column 1)`},
		{"()", 2, "syntax error: empty parentheses"},
		{"x * * y", 5, `syntax error: unexpected "*"`},
		{"x^*2", 3, `syntax error: unexpected "*"`},
		{"x $ y", 3, `syntax error: unexpected character '$'`},
		{"x + é", 5, `syntax error: unexpected character 'é'`},
		{"é + $", 1, `syntax error: unexpected character 'é'`},
		{"1e", 1, `syntax error: malformed number "1e"`},
		{"1e+", 1, `syntax error: malformed number "1e+"`},
		{"x+2x", 3, `syntax error: malformed number "2x"`},
		{"1.2.3", 1, `syntax error: malformed number "1.2.3"`},
		{".", 1, `syntax error: malformed number "."`},
		{"max(1,)", 7, `syntax error: unexpected ")"`},
		{"max(1 2)", 7, `unexpected "2" at column 7 (expected ")"`},
		{"exp(x", 6, `missing ")" at column 6 (the "(" at column 4 is not closed)`},
		{",", 1, `syntax error: unexpected ","`},
		{"x,y", 2, `syntax error: unexpected ","`},
		{"1e999", 1, "number 1e999 is out of the range of float64"},
		{"foo(x)", 1, `unknown function "foo"`},
		{"x + Exp(x)", 5, `unknown function "Exp"`},
		{"exp", 1, "exp is a function, not a variable"},
		{"2*sin", 3, "sin is a function, not a variable"},
		{"max(x)", 1, "wrong number of arguments to max"},
		{"x+exp(x, y)", 3, "wrong number of arguments to exp"},
		{"pow()", 1, "wrong number of arguments to pow"},
		{"exp()", 1, "wrong number of arguments to exp"},
	} {
		_, err := expr.Parse(c.src)
		var pe *expr.Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): error %v, want *expr.Error", c.src, err)
			continue
		}
		if pe.Col != c.col || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): %q (column %d), want %q at column %d", c.src, err, pe.Col, c.want, c.col)
		}
		if !strings.Contains(err.Error(), "column") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q): message %q", c.src, err)
		}
	}
	_, err := expr.Parse("max(x)")
	if want := "wrong number of arguments to max at column 1 (max takes 2 arguments, got 1)"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestBindingErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"x"}, `"x" is not NAME=VALUE`},
		{[]string{"--json"}, `"--json" is not NAME=VALUE (flags go before EXPR)`},
		{[]string{"=3"}, `"" in "=3" is not a valid variable name`},
		{[]string{"1x=3"}, `"1x" in "1x=3" is not a valid variable name`},
		{[]string{"x-y=3"}, `"x-y" in "x-y=3" is not a valid variable name`},
		{[]string{"x=1", "x=2"}, "variable x is given twice"},
		{[]string{"x=1", "y=2", "x=1"}, "variable x is given twice"},
		{[]string{"x=abc"}, `value "abc" of x is not a number`},
		{[]string{"x="}, `value "" of x is not a number`},
		{[]string{"x= 1"}, `value " 1" of x is not a number`},
		{[]string{"x=NaN"}, `value "NaN" of x is not a finite number`},
		{[]string{"x=inf"}, `value "inf" of x is not a finite number`},
		{[]string{"x=-Infinity"}, `value "-Infinity" of x is not a finite number`},
		{[]string{"x=1e999"}, `value "1e999" of x is out of the range of float64`},
	} {
		_, err := expr.ParseBindings(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseBindings(%q): %v, want %q", c.args, err, c.want)
		}
	}
	vals, err := expr.ParseBindings([]string{"x=-2", "_y1=1e-3", "Z=2.5E+2", "w=0x1p-2"})
	if err != nil || vals["x"] != -2 || vals["_y1"] != 0.001 || vals["Z"] != 250 || vals["w"] != 0.25 {
		t.Errorf("ParseBindings: %v %v", vals, err)
	}
}

func TestEvalErrors(t *testing.T) {
	for _, c := range []struct {
		src  string
		vals map[string]float64
		want string
	}{
		{"x+y", map[string]float64{"x": 1}, "variable y has no value (give y=VALUE)"},
		{"x", map[string]float64{"x": 1, "y": 2}, "a value is given for y, which the expression does not use"},
		{"2", map[string]float64{"exp": 2}, "a value is given for exp, which the expression does not use"},
		{"x", map[string]float64{"x": math.NaN()}, "value of x is NaN, not a finite number"},
		{"x", map[string]float64{"x": math.Inf(-1)}, "value of x is -Inf, not a finite number"},
		{"sqrt(x)", map[string]float64{"x": -1}, "the value of the expression is NaN"},
		{"1/x", map[string]float64{"x": 0}, "the value of the expression is +Inf"},
		{"log(x)", map[string]float64{"x": 0}, "the value of the expression is -Inf"},
		{"exp(x)", map[string]float64{"x": 1000}, "the value of the expression is +Inf"},
		{"0/0", nil, "the value of the expression is NaN"},
		{"sqrt(x)", map[string]float64{"x": 0}, "the gradient df/dx is +Inf"},
		{"(-2)^x", map[string]float64{"x": 1}, "the gradient df/dx is NaN"},
		{"x*0 + sqrt(y)", map[string]float64{"x": 1, "y": 0}, "the gradient df/dy is +Inf"},
	} {
		ast, err := expr.Parse(c.src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = expr.Eval(ast, c.vals)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Eval(%q, %v): %v, want %q", c.src, c.vals, err, c.want)
		}
	}
}

// A variable that is itself called n1 must not be mistaken for step n1.
func TestStepNamesAvoidVariables(t *testing.T) {
	r := eval(t, "n1*n2 + _n1", "n1=2", "n2=3", "_n1=1")
	if r.Steps[0].ID != "__n1" || r.Formula(0) != "n1 * n2" || r.Formula(1) != "__n1 + _n1" {
		t.Errorf("ids %s: %s, %s", r.Steps[0].ID, r.Formula(0), r.Formula(1))
	}
	r = eval(t, "nn1 + n + n_1", "nn1=1", "n=2", "n_1=3")
	if r.Steps[0].ID != "n1" {
		t.Errorf("id %s", r.Steps[0].ID)
	}
}

// A flat 100,000-term sum and 10,000 nested parentheses: no recursion per
// term, and fast. The bounds are generous because the test machine is
// shared; on an idle one each case takes well under a second.
func TestLargeExpressions(t *testing.T) {
	if testing.Short() {
		t.Skip("large expressions")
	}
	start := time.Now()
	sum := "x" + strings.Repeat("+x", 99_999)
	r := eval(t, sum, "x=1.5")
	if r.Value != 150_000 || grad(t, r, "x") != 100_000 || len(r.Steps) != 99_999 {
		t.Errorf("sum: value %v, df/dx %v, %d steps", r.Value, grad(t, r, "x"), len(r.Steps))
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil || !json.Valid(buf.Bytes()) {
		t.Errorf("JSON of the sum: %v", err)
	}
	buf.Reset()
	if err := r.WriteTable(&buf); err != nil || !strings.HasSuffix(buf.String(), "df/dx = 100000\n") {
		t.Errorf("table of the sum: %v", err)
	}

	nested := strings.Repeat("(", 10_000) + "x*2" + strings.Repeat(")", 10_000)
	r = eval(t, nested, "x=3")
	if r.Value != 6 || grad(t, r, "x") != 2 {
		t.Errorf("nested: %v %v", r.Value, grad(t, r, "x"))
	}
	calls := strings.Repeat("sin(", 10_000) + "x" + strings.Repeat(")", 10_000)
	r = eval(t, calls, "x=0.1")
	if len(r.Steps) != 10_000 || !(r.Value > 0 && r.Value < 0.1) {
		t.Errorf("nested calls: %d steps, value %v", len(r.Steps), r.Value)
	}
	chain := "x" + strings.Repeat("^x", 9_999) // a right-leaning tree 10,000 deep
	r = eval(t, chain, "x=1")
	if r.Value != 1 || grad(t, r, "x") != 1 {
		t.Errorf("power chain: %v %v", r.Value, grad(t, r, "x"))
	}
	signs := strings.Repeat("-", 10_000) + "x"
	r = eval(t, signs, "x=1")
	if r.Value != 1 || len(r.Steps) != 10_000 {
		t.Errorf("signs: %v, %d steps", r.Value, len(r.Steps))
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("large expressions took %v", d)
	}
}

func TestDOTPicture(t *testing.T) {
	r := eval(t, "(x+y)*z", "x=-2", "y=5", "z=-4")
	var buf bytes.Buffer
	if err := r.WriteDOT(&buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{
		`<font color="darkgreen">-12</font><br/><font color="red">1</font>`, // the wire to f
		`v_x -> s_n1 [label=<<font color="darkgreen">-2</font><br/><font color="red">-4</font>>]`,
		`v_z -> s_n2 [label=<<font color="darkgreen">-4</font><br/><font color="red">3</font>>]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("DOT lacks %s:\n%s", want, s)
		}
	}
}
