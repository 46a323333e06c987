package main

import (
	"fmt"
	"math"
)

// Value is one number in an expression: its data, the gradient of the
// final output with respect to it (filled in by Backward), and the values
// it was computed from.
type Value struct {
	Data float64
	Grad float64

	op       string
	children []*Value
	// backward adds this value's Grad, times the local derivative, into the
	// Grad of each child: one step of the chain rule.
	backward func()
}

// V returns a new leaf value.
func V(data float64) *Value { return &Value{Data: data} }

func result(data float64, op string, children ...*Value) *Value {
	return &Value{Data: data, op: op, children: children}
}

// Add returns a + b. Both inputs get the upstream gradient as it is.
func (a *Value) Add(b *Value) *Value {
	out := result(a.Data+b.Data, "+", a, b)
	out.backward = func() {
		a.Grad += out.Grad
		b.Grad += out.Grad
	}
	return out
}

// Mul returns a * b. Each input's gradient is the other input's value
// times the upstream gradient: the "switch" of the lecture.
func (a *Value) Mul(b *Value) *Value {
	out := result(a.Data*b.Data, "*", a, b)
	out.backward = func() {
		a.Grad += b.Data * out.Grad
		b.Grad += a.Data * out.Grad
	}
	return out
}

// Pow returns a raised to the constant power p.
func (a *Value) Pow(p float64) *Value {
	out := result(math.Pow(a.Data, p), fmt.Sprintf("^%g", p), a)
	out.backward = func() { a.Grad += p * math.Pow(a.Data, p-1) * out.Grad }
	return out
}

// Exp returns e^a, which is its own derivative.
func (a *Value) Exp() *Value {
	out := result(math.Exp(a.Data), "exp", a)
	out.backward = func() { a.Grad += out.Data * out.Grad }
	return out
}

// Tanh returns tanh(a), whose derivative 1 - tanh² reuses the output.
func (a *Value) Tanh() *Value {
	out := result(math.Tanh(a.Data), "tanh", a)
	out.backward = func() { a.Grad += (1 - out.Data*out.Data) * out.Grad }
	return out
}

// ReLU returns max(a, 0): it passes the gradient where a > 0, else none.
func (a *Value) ReLU() *Value {
	out := result(max(a.Data, 0), "relu", a)
	out.backward = func() {
		if a.Data > 0 {
			a.Grad += out.Grad
		}
	}
	return out
}

// Neg, Sub and Div are built from the ops above, as micrograd builds them.
func (a *Value) Neg() *Value         { return a.Mul(V(-1)) }
func (a *Value) Sub(b *Value) *Value { return a.Add(b.Neg()) }
func (a *Value) Div(b *Value) *Value { return a.Mul(b.Pow(-1)) }

// Backward sets the gradient of v with respect to every value it was
// computed from. It orders the graph so that each value comes after all
// the values computed from it, then runs the chain rule backwards along
// that order: by the time a value's backward runs, every consumer has
// added its share into the value's Grad (gradients sum where a value is
// used several times). Like micrograd, it adds to Grad without zeroing it
// first, so a second call on the same graph doubles the gradients.
func (v *Value) Backward() {
	topo := v.topoSort()
	v.Grad = 1
	for i := len(topo) - 1; i >= 0; i-- {
		if u := topo[i]; u.backward != nil {
			u.backward()
		}
	}
}

// topoSort lists v and the values below it, each after all its children:
// a depth-first walk that adds a value once its children are done.
func (v *Value) topoSort() []*Value {
	var topo []*Value
	visited := map[*Value]bool{}
	var build func(u *Value)
	build = func(u *Value) {
		if visited[u] {
			return
		}
		visited[u] = true
		for _, c := range u.children {
			build(c)
		}
		topo = append(topo, u)
	}
	build(v)
	return topo
}

func (v *Value) String() string {
	return fmt.Sprintf("Value(data=%.6g, grad=%.6g)", v.Data, v.Grad)
}
