package expr

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Colors of the circuit diagram, as in the lecture: values forward in
// green, gradients backward in red.
const (
	valueColor = "darkgreen"
	gradColor  = "red"
	constColor = "gray40" // "const" where a literal's gradient would be
)

// dotNum formats a number for a picture: four significant digits.
func dotNum(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// wire is an HTML-like DOT label with a value over a gradient.
func wire(value, grad float64) string {
	return fmt.Sprintf(`<<font color="%s">%s</font><br/><font color="%s">%s</font>>`,
		valueColor, dotNum(value), gradColor, dotNum(grad))
}

// dotID names a graph vertex. Variables, steps and literals get different
// prefixes, so no name of one kind can collide with another.
func (r *Result) dotID(a Operand, literal int) string {
	switch a.Kind {
	case FromNode:
		return "s_" + r.Steps[a.Step].ID
	case FromVar:
		return "v_" + a.Name
	}
	return "k_" + strconv.Itoa(literal)
}

func dotSymbol(s string) string {
	switch s {
	case "*":
		return "&times;"
	case "neg":
		return "&minus;"
	case "-":
		return "&minus;"
	}
	return s
}

// WriteDOT writes the expression as a Graphviz circuit diagram, read left
// to right: each variable is a box (with its value and total gradient),
// each literal a plain label, each operation a circle, and every wire
// carries the value flowing forward (green) over the gradient flowing
// back (red). The last wire leads to f, with gradient df/df = 1.
func (r *Result) WriteDOT(w io.Writer) error {
	bw := bufio.NewWriter(w)
	title := strings.Join(strings.Fields(r.Src), " ")
	fmt.Fprintf(bw, "digraph backprop {\n")
	fmt.Fprintf(bw, "  rankdir=LR;\n  labelloc=t;\n  fontname=\"Helvetica\";\n  label=%s;\n", strconv.Quote("f = "+title+"   (green: values, red: gradients)"))
	fmt.Fprintf(bw, "  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=11];\n")
	for _, v := range r.Vars {
		fmt.Fprintf(bw, "  v_%s [shape=box, label=<%s<br/><font color=\"%s\">%s</font><br/><font color=\"%s\">%s</font>>];\n",
			v.Name, v.Name, valueColor, dotNum(v.Value), gradColor, dotNum(v.Grad))
	}
	literals := 0
	edge := func(from Operand, to string, grad float64, toStep bool) {
		id := r.dotID(from, literals)
		if from.Kind == FromConst {
			literals++
			id = r.dotID(from, literals)
			fmt.Fprintf(bw, "  %s [shape=plaintext, label=%s];\n", id, strconv.Quote(from.Text))
		}
		label := wire(from.Value, grad)
		if from.Kind == FromConst && toStep {
			// A literal has no gradient to show (see gradCells).
			label = fmt.Sprintf(`<<font color="%s">%s</font><br/><font color="%s">const</font>>`,
				valueColor, dotNum(from.Value), constColor)
		}
		fmt.Fprintf(bw, "  %s -> %s [label=%s];\n", id, to, label)
	}
	for k := range r.Steps {
		st := &r.Steps[k]
		id := "s_" + st.ID
		style := ""
		if st.Folded {
			style = ", style=dashed"
		}
		fmt.Fprintf(bw, "  %s [shape=circle, label=<%s>, xlabel=%s, tooltip=%s%s];\n", id, dotSymbol(st.Symbol),
			strconv.Quote(st.ID), strconv.Quote(st.Op), style)
		for i, in := range st.Inputs {
			edge(in, id, st.Grad[i], true)
		}
	}
	fmt.Fprintf(bw, "  f [shape=plaintext, label=\"f\"];\n")
	edge(r.Out, "f", 1, false) // df/df = 1, even when f is a literal
	fmt.Fprintf(bw, "}\n")
	return bw.Flush()
}
