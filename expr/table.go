package expr

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// short formats a number for the table and pictures: six significant
// digits, enough to follow the arithmetic without drowning in it.
func short(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// exact formats a number as the shortest decimal that reads back as the
// same float64.
func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// operandName is how the walk-through refers to an input: a step by id, a
// variable by name, a literal as written.
func (r *Result) operandName(a Operand) string {
	switch a.Kind {
	case FromNode:
		return r.Steps[a.Step].ID
	case FromVar:
		return a.Name
	}
	return a.Text
}

// Formula writes step k in terms of its inputs: "n1 * z", "exp(n3)", "-x".
func (r *Result) Formula(k int) string {
	st := &r.Steps[k]
	names := make([]string, len(st.Inputs))
	for i, in := range st.Inputs {
		names[i] = r.operandName(in)
	}
	switch {
	case st.Symbol == "neg":
		return "-" + names[0]
	case len(names) == 2 && len(st.Symbol) == 1:
		return names[0] + " " + st.Symbol + " " + names[1]
	}
	return st.Symbol + "(" + strings.Join(names, ", ") + ")"
}

// gradCells writes a step's gradients toward its inputs, local or total,
// with "const" for a literal: a literal has no gradient worth showing (the
// number the engine computes for it, such as d(a^2)/d2 = a^2·log(a), is
// NaN for a negative a, and means nothing for a number that never
// changes).
func gradCells(st *Step, vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = short(v)
		if st.Inputs[i].Kind == FromConst {
			s[i] = "const"
		}
	}
	return strings.Join(s, ", ")
}

// WriteTable writes the lecture's walk-through: the variables, then one
// row per operation in forward order (what it computes, its value, the
// local gradient for each input, the upstream gradient, and their product,
// the gradient it sends to each input), then the value and df/dNAME for
// each variable. Table numbers have six significant digits; the final
// lines are exact.
func (r *Result) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "f = %s\n", strings.Join(strings.Fields(r.Src), " "))
	if len(r.Vars) > 0 {
		at := make([]string, len(r.Vars))
		for i, v := range r.Vars {
			at[i] = v.Name + " = " + exact(v.Value)
		}
		fmt.Fprintf(bw, "at %s\n", strings.Join(at, ", "))
	}
	bw.WriteString("\n")
	if len(r.Steps) == 0 {
		bw.WriteString("no operations\n")
	} else {
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "node\top\tcomputes\tvalue\tlocal gradient\tupstream\tgradient")
		literals := false
		for k := range r.Steps {
			st := &r.Steps[k]
			op := st.Op
			if st.Folded {
				op += " (const)"
			}
			for _, in := range st.Inputs {
				literals = literals || in.Kind == FromConst
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.ID, op, r.Formula(k), short(st.Value),
				gradCells(st, st.Local), short(st.Upstream), gradCells(st, st.Grad))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		bw.WriteString("\nlocal gradient = d(node)/d(input); upstream = df/d(node); gradient = local gradient x upstream = df/d(input)\n")
		if literals {
			bw.WriteString("const = the input is a literal: a constant has no gradient\n")
		}
	}
	bw.WriteString("\n")
	fmt.Fprintf(bw, "f = %s\n", exact(r.Value))
	for _, v := range r.Vars {
		fmt.Fprintf(bw, "df/d%s = %s\n", v.Name, exact(v.Grad))
	}
	return bw.Flush()
}
