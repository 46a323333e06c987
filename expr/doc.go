// Package expr is the scalar expression language of `backprop grad`: it
// parses an expression such as (x+y)*z, evaluates it on the backprop engine
// (not on an evaluator of its own), runs the backward pass, and reports
// every operation the way the cs231n lecture walks through a circuit:
// forward value, local gradient, upstream gradient and their product.
//
//	ast, err := expr.Parse("(x+y)*z")
//	if err != nil { ... }                  // *expr.Error, with the column
//	vals, err := expr.ParseBindings([]string{"x=-2", "y=5", "z=-4"})
//	if err != nil { ... }
//	res, err := expr.Eval(ast, vals)       // res.Value == -12
//	if err != nil { ... }
//	g, _ := res.Grad("x")                  // -4
//	res.WriteTable(os.Stdout)              // the walk-through
//	res.WriteJSON(os.Stdout)               // {"value":-12,"grad":{"x":-4,"y":-4,"z":3},"nodes":[...]}
//	res.WriteDOT(f)                        // Graphviz circuit diagram
//
// From the command line:
//
//	$ backprop grad '(x+y)*z' x=-2 y=5 z=-4
//	$ backprop grad --json '1/(1+exp(-(w0*x0+w1*x1+w2)))' w0=2 x0=-1 w1=-3 x1=-2 w2=-3
//	$ backprop grad --dot circuit.dot -- '-x^2' x=3
//
// # Language
//
// Numbers are decimal literals (3, 0.5, .5, 1e-3, 2.5E+2); names are
// [A-Za-z_][A-Za-z0-9_]*. Operators, loosest first: + and - (binary, left
// associative); * and / (left associative); unary - and +; ^ or ** (power,
// right associative). A sign may follow any binary operator, ^ included,
// and binds looser than a ^ on its right: -x^2 is -(x^2), 2^-x is 2^(-x),
// 2^3^2 is 2^9, a - -b is a - (-b). Functions: exp, log (natural), sqrt,
// sin, cos, tanh, sigmoid, relu, abs of one argument; pow(a, b), max(a, b),
// min(a, b). Spaces, tabs and newlines between tokens are ignored. Function
// names are reserved: they cannot name variables.
//
// # Evaluation on the engine
//
// Each variable is one 0-d float64 leaf that requires a gradient, however
// often it is used (the engine sums the gradients of its uses); each literal
// is a 0-d float64 constant; each operation is one engine op: a-b is Sub,
// unary minus is Neg, x^y and pow are Pow, max and min are Maximum and
// Minimum, sigmoid is Sigmoid. Unary plus and parentheses add nothing. At a
// kink the engine follows PyTorch: relu and abs have gradient 0 at 0, and
// max and min split the gradient evenly on a tie.
//
// Every intermediate tensor retains its gradient, and one backward pass
// with RetainGraph runs from the output. A step's upstream gradient is its
// output's Grad; its local gradients come from the engine's own backward
// function, Node.VJP with upstream 1, for every input including literals.
// An operation whose inputs are all literals is folded by the engine (it
// records no node); it is still shown, its local gradients taken from the
// same op run on inputs that require a gradient, and its upstream gradient
// from the step that consumes it.
//
// The value and every variable's gradient must be finite, or Eval returns
// an error. Intermediate numbers may be NaN or infinite: the derivative of
// x^2 with respect to its literal exponent at x = -3 is 9·log(-3), NaN,
// while df/dx = -6 is fine. A literal is a constant, so the table and the
// DOT picture (and the SVG and the explorer, which read the same Result)
// write "const" where its gradient would be; the JSON keeps the engine's
// number (null when not finite), for a reader that wants it.
//
// # JSON
//
// Result.WriteJSON writes one object:
//
//	{"value": f, "grad": {"NAME": df/dNAME, ...}, "nodes": [NODE, ...]}
//
// grad has an entry for every variable of the expression, in order of
// first use, summed over its uses ({} when there is none). nodes lists the
// operations in forward order, each as
//
//	{
//	  "id": "n2",                 // name of the step (n1, n2, ... as in the table)
//	  "op": "Mul",                // the engine's op
//	  "symbol": "*",              // as written: + - * / ^ neg exp log ... pow max min
//	  "col": 6,                   // 1-based column of the operator or function name
//	  "const": false,             // all inputs literals: folded by the engine
//	  "inputs": [                 // in argument order
//	    {"kind": "node", "name": "n1", "value": 3},     // an earlier step
//	    {"kind": "var", "name": "z", "value": -4}       // a variable; "const" for a literal, name as written
//	  ],
//	  "value": -12,               // forward value
//	  "local": [-4, 3],           // d(value)/d(input), per input
//	  "upstream": 1,              // df/d(value)
//	  "grad": [-4, 3]             // local × upstream = df/d(input) through this use, per input
//	}
//
// Numbers are printed as encoding/json prints a float64: the shortest
// decimal that reads back as the same number. A number in nodes that is NaN
// or infinite is null. Step ids are n1, n2, ...; if a variable is itself
// named like that (n1), the prefix becomes _n (or __n, ...) so that a name
// always means one thing.
package expr
