package expr

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Error is a mistake in an expression, at a 1-based column counted in
// characters. Parse returns only errors of this type.
type Error struct {
	Col  int
	Msg  string // what is wrong, without the column
	Hint string // optional advice, printed after the column
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s at column %d", e.Msg, e.Col)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func syntaxErr(col int, format string, args ...any) *Error {
	return &Error{Col: col, Msg: "syntax error: " + fmt.Sprintf(format, args...)}
}

// Kind says what an AST node is.
type Kind uint8

const (
	Num    Kind = iota // a decimal literal: Value, Text
	Var                // a variable: Name
	Neg                // unary minus: Args[0]
	Binary             // Args[0] Op Args[1], Op one of + - * / ^
	Call               // a function call: Name(Args...)
)

// Node is one node of the syntax tree. Unary plus leaves no node, and
// parentheses none: they only shape the tree.
type Node struct {
	Kind  Kind
	Op    string  // Binary: "+", "-", "*", "/" or "^" (** is written as ^)
	Name  string  // Var: the variable; Call: the function
	Value float64 // Num: the literal's value
	Text  string  // Num: the literal as written
	Args  []*Node // operands, left to right
	Col   int     // 1-based column of the operator, name or literal
}

// AST is a parsed expression.
type AST struct {
	Root *Node
	Src  string
	// Vars lists the variables the expression uses, in order of first use.
	Vars []string
}

// funcArity gives the number of arguments of each function.
var funcArity = map[string]int{
	"exp": 1, "log": 1, "sqrt": 1, "sin": 1, "cos": 1, "tanh": 1,
	"sigmoid": 1, "relu": 1, "abs": 1,
	"pow": 2, "max": 2, "min": 2,
}

// Functions returns the names of the functions an expression may call,
// sorted.
func Functions() []string {
	names := make([]string, 0, len(funcArity))
	for n := range funcArity {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// maxDepth bounds how deeply parentheses and calls may nest. The parser
// recurses once per level (a handful of frames); Go stacks grow, so this
// limit is some tens of MB of stack, far above any expression a person
// writes, and keeps a hostile input from exhausting memory. A variable so
// that a test can lower it.
var maxDepth = 100_000

type parser struct {
	lx    lexer
	tok   token
	depth int
	seen  map[string]bool
	vars  []string
}

// Parse parses an expression. The grammar, loosest binding first:
//
//	expr    = term { ("+" | "-") term }
//	term    = unary { ("*" | "/") unary }
//	unary   = { "+" | "-" } power
//	power   = primary [ ("^" | "**") unary ]
//	primary = number | name | name "(" [ expr { "," expr } ] ")" | "(" expr ")"
//
// so + - * / associate to the left, ^ to the right, and ^ binds tighter
// than a sign on its left (-x^2 is -(x^2)) while its exponent may carry a
// sign of its own (2^-x). Sums, products, runs of signs and ^ chains are
// parsed by loops, not by recursion, so a flat 100,000-term sum costs no
// stack; only nesting (parentheses, calls) recurses.
func Parse(src string) (*AST, error) {
	p := &parser{lx: lexer{src: src, col: 1}, seen: map[string]bool{}}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, syntaxErr(p.tok.col, "empty expression")
	}
	root, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		if p.tok.kind == tRParen {
			return nil, syntaxErr(p.tok.col, "unmatched \")\"")
		}
		return nil, p.unexpected()
	}
	return &AST{Root: root, Src: src, Vars: p.vars}, nil
}

func (p *parser) next() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) unexpected() error {
	if p.tok.kind == tEOF {
		return syntaxErr(p.tok.col, "unexpected end of expression")
	}
	return syntaxErr(p.tok.col, "unexpected %s", p.tok.describe())
}

func binary(op token, a, b *Node) *Node {
	o := op.text
	if op.kind == tPow {
		o = "^"
	}
	return &Node{Kind: Binary, Op: o, Args: []*Node{a, b}, Col: op.col}
}

func (p *parser) expr() (*Node, error) {
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tPlus || p.tok.kind == tMinus {
		op := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		left = binary(op, left, right)
	}
	return left, nil
}

func (p *parser) term() (*Node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tStar || p.tok.kind == tSlash {
		op := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = binary(op, left, right)
	}
	return left, nil
}

// signs consumes a run of + and - and returns the minus signs, outermost
// first (plus signs leave no node).
func (p *parser) signs() ([]token, error) {
	var minus []token
	for p.tok.kind == tPlus || p.tok.kind == tMinus {
		if p.tok.kind == tMinus {
			minus = append(minus, p.tok)
		}
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	return minus, nil
}

// negate wraps n in the given minus signs, innermost (last) first.
func negate(minus []token, n *Node) *Node {
	for i := len(minus) - 1; i >= 0; i-- {
		n = &Node{Kind: Neg, Op: "-", Args: []*Node{n}, Col: minus[i].col}
	}
	return n
}

func (p *parser) unary() (*Node, error) {
	minus, err := p.signs()
	if err != nil {
		return nil, err
	}
	n, err := p.power()
	if err != nil {
		return nil, err
	}
	return negate(minus, n), nil
}

// power parses primary ^ s1 primary ^ s2 primary ... (each s a run of
// signs) and folds it from the right: a ^ -b ^ c is a ^ (-(b ^ c)).
func (p *parser) power() (*Node, error) {
	base, err := p.primary()
	if err != nil || p.tok.kind != tPow {
		return base, err
	}
	operands := []*Node{base}
	ops := []token{}
	signs := [][]token{nil}
	for p.tok.kind == tPow {
		ops = append(ops, p.tok)
		if err := p.next(); err != nil {
			return nil, err
		}
		s, err := p.signs()
		if err != nil {
			return nil, err
		}
		prim, err := p.primary()
		if err != nil {
			return nil, err
		}
		operands = append(operands, prim)
		signs = append(signs, s)
	}
	last := len(operands) - 1
	acc := negate(signs[last], operands[last])
	for i := last - 1; i >= 0; i-- {
		acc = negate(signs[i], binary(ops[i], operands[i], acc))
	}
	return acc, nil
}

func (p *parser) primary() (*Node, error) {
	t := p.tok
	switch t.kind {
	case tNum:
		if err := p.next(); err != nil {
			return nil, err
		}
		return &Node{Kind: Num, Value: t.num, Text: t.text, Col: t.col}, nil
	case tIdent:
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tLParen {
			return p.call(t)
		}
		if _, ok := funcArity[t.text]; ok {
			return nil, &Error{Col: t.col, Msg: fmt.Sprintf("%s is a function, not a variable", t.text), Hint: fmt.Sprintf("call it as %s(...)", t.text)}
		}
		if !p.seen[t.text] {
			p.seen[t.text] = true
			p.vars = append(p.vars, t.text)
		}
		return &Node{Kind: Var, Name: t.text, Col: t.col}, nil
	case tLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tRParen {
			return nil, syntaxErr(p.tok.col, "empty parentheses")
		}
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.close(t); err != nil {
			return nil, err
		}
		return n, nil
	}
	return nil, p.unexpected()
}

func (p *parser) enter(open token) error {
	p.depth++
	if p.depth > maxDepth {
		return &Error{Col: open.col, Msg: fmt.Sprintf("expression nests more than %d levels deep", maxDepth)}
	}
	return nil
}

// close expects the ")" that matches open.
func (p *parser) close(open token) error {
	if p.tok.kind != tRParen {
		if p.tok.kind == tEOF {
			e := syntaxErr(p.tok.col, "missing \")\"")
			e.Hint = fmt.Sprintf("the \"(\" at column %d is not closed", open.col)
			return e
		}
		e := syntaxErr(p.tok.col, "unexpected %s", p.tok.describe())
		e.Hint = fmt.Sprintf("expected \")\" to close the \"(\" at column %d", open.col)
		return e
	}
	p.depth--
	return p.next()
}

// call parses the arguments of name, whose "(" is the current token.
func (p *parser) call(name token) (*Node, error) {
	arity, ok := funcArity[name.text]
	if !ok {
		return nil, &Error{Col: name.col, Msg: fmt.Sprintf("unknown function %q", name.text), Hint: "known: " + strings.Join(Functions(), ", ")}
	}
	open := p.tok
	if err := p.enter(open); err != nil {
		return nil, err
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	var args []*Node
	if p.tok.kind != tRParen {
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.tok.kind != tComma {
				break
			}
			if err := p.next(); err != nil {
				return nil, err
			}
		}
	}
	if err := p.close(open); err != nil {
		return nil, err
	}
	if len(args) != arity {
		return nil, &Error{Col: name.col, Msg: "wrong number of arguments to " + name.text,
			Hint: fmt.Sprintf("%s takes %s, got %d", name.text, plural(arity, "argument"), len(args))}
	}
	return &Node{Kind: Call, Name: name.text, Args: args, Col: name.col}, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// String writes the tree back as an expression with every operation in
// parentheses, which shows how it was grouped: -x^2 gives (-(x ^ 2)).
// It walks the tree without recursion, so it is safe on any tree Parse
// returns.
func (n *Node) String() string {
	var b strings.Builder
	type frame struct {
		n *Node
		i int // next argument to write
	}
	stack := []frame{{n: n}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		m := f.n
		switch m.Kind {
		case Num:
			b.WriteString(m.Text)
			stack = stack[:len(stack)-1]
			continue
		case Var:
			b.WriteString(m.Name)
			stack = stack[:len(stack)-1]
			continue
		}
		if f.i == 0 {
			switch m.Kind {
			case Neg:
				b.WriteString("(-")
			case Binary:
				b.WriteString("(")
			case Call:
				b.WriteString(m.Name + "(")
			}
		} else if f.i < len(m.Args) {
			if m.Kind == Binary {
				b.WriteString(" " + m.Op + " ")
			} else {
				b.WriteString(", ")
			}
		}
		if f.i == len(m.Args) {
			b.WriteString(")")
			stack = stack[:len(stack)-1]
			continue
		}
		f.i++
		stack = append(stack, frame{n: m.Args[f.i-1]})
	}
	return b.String()
}

// uses reports whether the expression uses variable name.
func (a *AST) uses(name string) bool { return slices.Contains(a.Vars, name) }
