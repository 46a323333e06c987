package expr

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"

	bp "github.com/gobackprop/backprop"
)

// OperandKind says what an op reads.
type OperandKind uint8

const (
	FromNode  OperandKind = iota // the output of an earlier step
	FromVar                      // a variable
	FromConst                    // a literal
)

// Operand is one input of a step.
type Operand struct {
	Kind  OperandKind
	Step  int     // FromNode: index into Result.Steps
	Name  string  // FromVar: the variable's name
	Text  string  // FromConst: the literal as written
	Value float64 // the input's forward value
}

// Step is one operation of the expression, as the engine ran it.
type Step struct {
	ID     string // n1, n2, ... in forward order
	Op     string // the engine's name for the op: Add, Mul, Pow, Sigmoid, ...
	Symbol string // how the expression wrote it: +, -, *, /, ^, neg, exp, max, ...
	Col    int    // 1-based column of the operator or function name
	Inputs []Operand
	Value  float64 // forward value of the step's output
	// Local holds d(output)/d(input) for each input, as the engine's
	// backward function computes it (Node.VJP with upstream 1).
	Local []float64
	// Upstream is df/d(output), the gradient arriving from above.
	Upstream float64
	// Grad holds Local[i] * Upstream: the gradient the step sends to input i.
	Grad []float64
	// Folded is true when every input is a literal: the engine computes
	// such an op without recording a node, so its local gradients come from
	// running the op again on inputs that require a gradient, and its
	// upstream gradient from the step that consumes it.
	Folded bool

	node *Node
}

// Variable is one variable of the expression.
type Variable struct {
	Name  string
	Value float64
	Grad  float64 // df/dName, summed over every use
}

// Result is an evaluated expression: its value, the gradient for every
// variable, and every step of the walk-through.
type Result struct {
	Src   string
	Value float64
	Vars  []Variable // in order of first use
	Steps []Step     // in forward order
	// Out says where the value comes from: the last step, or, for an
	// expression without operations, a variable or a literal.
	Out Operand
}

// Grad returns df/dname and whether the expression uses name.
func (r *Result) Grad(name string) (float64, bool) {
	for _, v := range r.Vars {
		if v.Name == name {
			return v.Grad, true
		}
	}
	return 0, false
}

// apply runs the op of an AST node on the engine: one engine op per node.
func apply(n *Node, args []*bp.Tensor) *bp.Tensor {
	switch n.Kind {
	case Neg:
		return args[0].Neg()
	case Binary:
		a, b := args[0], args[1]
		switch n.Op {
		case "+":
			return a.Add(b)
		case "-":
			return a.Sub(b)
		case "*":
			return a.Mul(b)
		case "/":
			return a.Div(b)
		case "^":
			return a.Pow(b)
		}
	case Call:
		a := args[0]
		switch n.Name {
		case "exp":
			return a.Exp()
		case "log":
			return a.Log()
		case "sqrt":
			return a.Sqrt()
		case "sin":
			return a.Sin()
		case "cos":
			return a.Cos()
		case "tanh":
			return a.Tanh()
		case "sigmoid":
			return a.Sigmoid()
		case "relu":
			return a.ReLU()
		case "abs":
			return a.Abs()
		case "pow":
			return a.Pow(args[1])
		case "max":
			return a.Maximum(args[1])
		case "min":
			return a.Minimum(args[1])
		}
	}
	panic(fmt.Sprintf("backprop: expr: no engine op for %v node %q%q", n.Kind, n.Op, n.Name))
}

func symbol(n *Node) string {
	switch n.Kind {
	case Neg:
		return "neg"
	case Call:
		return n.Name
	}
	return n.Op
}

// nodePrefix picks the prefix of step ids: "n" unless a variable is itself
// called n<digits>, in which case more underscores go in front until no
// variable can be mistaken for a step.
func nodePrefix(vars []string) string {
	prefix := "n"
	for {
		re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9]+$")
		clash := false
		for _, v := range vars {
			if re.MatchString(v) {
				clash = true
				break
			}
		}
		if !clash {
			return prefix
		}
		prefix = "_" + prefix
	}
}

// Eval evaluates the expression on the backprop engine at the given
// variable values and runs the backward pass. Each variable becomes one
// 0-d float64 leaf that requires a gradient (so a variable used several
// times gets the sum of its uses' gradients from the engine), each literal
// a 0-d float64 constant, and each operation one engine op.
//
// It returns an error when a variable has no value, when values names a
// variable the expression does not use (a typo, most likely), when a value
// is not finite, and when the result or a variable's gradient is NaN or
// infinite. Intermediate values and gradients may be anything.
func Eval(ast *AST, values map[string]float64) (*Result, error) {
	for _, name := range ast.Vars {
		if _, ok := values[name]; !ok {
			return nil, fmt.Errorf("variable %s has no value (give %s=VALUE)", name, name)
		}
	}
	for _, name := range sortedKeys(values) {
		v := values[name]
		if !ast.uses(name) {
			return nil, fmt.Errorf("a value is given for %s, which the expression does not use", name)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("value of %s is %v, not a finite number", name, v)
		}
	}

	res := &Result{Src: ast.Src}
	leaves := make(map[string]*bp.Tensor, len(ast.Vars))
	for _, name := range ast.Vars {
		leaves[name] = bp.Float64.Scalar(values[name]).SetRequiresGrad(true).SetName(name)
		res.Vars = append(res.Vars, Variable{Name: name, Value: values[name]})
	}
	prefix := nodePrefix(ast.Vars)

	// Post-order walk with an explicit stack: a 100,000-term sum is a
	// 100,000-deep tree.
	type frame struct {
		n    *Node
		i    int // next argument to evaluate
		args []Operand
		argT []*bp.Tensor
	}
	var outs []*bp.Tensor // output tensor of each step
	var result Operand
	var resultT *bp.Tensor
	stack := []frame{{n: ast.Root}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		var done Operand
		var doneT *bp.Tensor
		switch f.n.Kind {
		case Num:
			done = Operand{Kind: FromConst, Text: f.n.Text, Value: f.n.Value}
			doneT = bp.Float64.Scalar(f.n.Value)
		case Var:
			done = Operand{Kind: FromVar, Name: f.n.Name, Value: values[f.n.Name]}
			doneT = leaves[f.n.Name]
		default:
			if f.i < len(f.n.Args) {
				f.i++
				stack = append(stack, frame{n: f.n.Args[f.i-1]})
				continue
			}
			out := apply(f.n, f.argT).RetainGrad()
			st := Step{
				ID:     prefix + strconv.Itoa(len(res.Steps)+1),
				Symbol: symbol(f.n),
				Col:    f.n.Col,
				Inputs: f.args,
				Value:  out.Item(),
				Folded: out.GradFn() == nil,
				node:   f.n,
			}
			if !st.Folded {
				st.Op = out.GradFn().Op()
			}
			done = Operand{Kind: FromNode, Step: len(res.Steps), Value: st.Value}
			doneT = out
			res.Steps = append(res.Steps, st)
			outs = append(outs, out)
		}
		stack = stack[:len(stack)-1]
		if len(stack) == 0 {
			result, resultT = done, doneT
			break
		}
		parent := &stack[len(stack)-1]
		parent.args = append(parent.args, done)
		parent.argT = append(parent.argT, doneT)
	}
	res.Out = result
	res.Value = result.Value
	if bad := nonFinite(res.Value); bad != "" {
		return nil, valueError(res, bad)
	}

	if resultT.RequiresGrad() {
		resultT.BackwardWith(nil, bp.BackwardOptions{RetainGraph: true})
	}

	// Local and upstream gradients, from the output back: a folded step
	// learns its upstream gradient from the step that consumes it (every
	// step's output feeds exactly one consumer, the expression being a
	// tree).
	one := bp.Float64.Scalar(1)
	upstream := make([]float64, len(res.Steps))
	if n := len(res.Steps); n > 0 && result.Kind == FromNode {
		upstream[n-1] = 1
	}
	for k := len(res.Steps) - 1; k >= 0; k-- {
		st := &res.Steps[k]
		node := outs[k].GradFn()
		if st.Folded {
			node = refold(st)
			st.Upstream = upstream[k]
		} else {
			st.Upstream = item(outs[k].Grad())
		}
		st.Op = node.Op()
		local := node.VJP(one)
		st.Local = make([]float64, len(st.Inputs))
		st.Grad = make([]float64, len(st.Inputs))
		for i := range st.Inputs {
			st.Local[i] = item(local[i])
			st.Grad[i] = st.Local[i] * st.Upstream
			if in := st.Inputs[i]; in.Kind == FromNode {
				upstream[in.Step] = st.Grad[i]
			}
		}
	}

	for i := range res.Vars {
		v := &res.Vars[i]
		v.Grad = item(leaves[v.Name].Grad())
		if bad := nonFinite(v.Grad); bad != "" {
			return nil, gradError(res, v.Name, bad)
		}
	}
	return res, nil
}

// refold runs a folded step's op again on copies of its (constant) inputs
// that require a gradient, so the engine records a node whose backward
// gives the local gradients.
func refold(st *Step) *bp.Node {
	ins := make([]*bp.Tensor, len(st.Inputs))
	for i, in := range st.Inputs {
		ins[i] = bp.Float64.Scalar(in.Value).SetRequiresGrad(true)
	}
	return apply(st.node, ins).GradFn()
}

// item reads a 0-d gradient; nil (no gradient flowed) is 0.
func item(t *bp.Tensor) float64 {
	if t == nil {
		return 0
	}
	return t.Item()
}

// nonFinite names v when it is NaN or infinite, and returns "" otherwise.
func nonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN (not a number)"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return ""
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
