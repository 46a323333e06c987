package viz

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteDOT writes g as a Graphviz digraph laid out left to right, as the
// lecture draws circuits. Vertices are named n0, n1, ... in node order
// (the Graph's IDs may hold anything, so they do not appear at all);
// every text is an HTML-like label, escaped. It returns an error for an
// edge to an unknown node or a duplicate ID, or when writing fails.
func (g *Graph) WriteDOT(w io.Writer) error {
	idx, err := g.check()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "digraph backprop {\n")
	fmt.Fprintf(bw, "  rankdir=LR;\n  nodesep=0.25;\n  ranksep=0.35;\n")
	fmt.Fprintf(bw, "  fontname=\"Helvetica\";\n  node [fontname=\"Helvetica\", fontsize=13];\n")
	fmt.Fprintf(bw, "  edge [fontname=\"Helvetica\", fontsize=11, arrowsize=0.7];\n")
	legend := fmt.Sprintf(`<font color="%s">values (forward)</font>   <font color="%s">gradients (backward)</font>`, valueColor, gradColor)
	title := legend
	if g.Title != "" {
		title = "<b>" + htmlLines(g.Title) + "</b><br/>" + legend
	}
	fmt.Fprintf(bw, "  labelloc=t;\n  labeljust=l;\n  label=<%s>;\n", title)
	for i, n := range g.Nodes {
		fmt.Fprintf(bw, "  n%d [%s, tooltip=\"%s\", label=<%s>];\n", i, dotNodeStyle(n.Kind), dotQuoted(xmlText(joinWith(n.Kind.String(), n.Label, ": "))), dotNodeLabel(n))
	}
	for _, e := range g.Edges {
		from, to := idx[e.From], idx[e.To]
		var attrs []string
		if lbl := dotEdgeLabel(e); lbl != "" {
			attrs = append(attrs, "label=<"+lbl+">")
		}
		switch {
		case g.Nodes[from].Kind == KindMore:
			attrs = append(attrs, `style=dashed`, `color="#9aa0a6"`)
		case g.Nodes[to].Kind == KindFork:
			attrs = append(attrs, "arrowhead=none")
		}
		if len(attrs) == 0 {
			fmt.Fprintf(bw, "  n%d -> n%d;\n", from, to)
		} else {
			fmt.Fprintf(bw, "  n%d -> n%d [%s];\n", from, to, strings.Join(attrs, ", "))
		}
	}
	fmt.Fprintf(bw, "}\n")
	return bw.Flush()
}

func dotNodeStyle(k Kind) string {
	switch k {
	case KindParam:
		return `shape=box, style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8"`
	case KindConst:
		return `shape=box, style="rounded,dashed,filled", fillcolor="#f1f3f4", color="#5f6368"`
	case KindOutput:
		return `shape=plaintext`
	case KindFork:
		return `shape=point, width=0.07`
	case KindReleased:
		return `shape=ellipse, style=dashed, color="#9aa0a6", fontcolor="#5f6368"`
	case KindMore:
		return `shape=note, style=dashed, color="#9aa0a6", fontcolor="#5f6368"`
	}
	return `shape=ellipse`
}

func dotNodeLabel(n Node) string {
	if n.Kind == KindFork {
		return ""
	}
	var parts []string
	if n.Label != "" {
		l := htmlLines(n.Label)
		if n.Kind == KindParam || n.Kind == KindOutput {
			l = "<b>" + l + "</b>"
		}
		parts = append(parts, l)
	}
	if n.Detail != "" {
		parts = append(parts, fmt.Sprintf(`<font point-size="10" color="%s">%s</font>`, labelColor, htmlLines(n.Detail)))
	}
	if n.Value != "" {
		parts = append(parts, fmt.Sprintf(`<font color="%s">%s</font>`, valueColor, htmlLines(n.Value)))
	}
	if n.Grad != "" {
		parts = append(parts, fmt.Sprintf(`<font color="%s">%s</font>`, gradColor, htmlLines(n.Grad)))
	}
	if len(parts) == 0 {
		return " "
	}
	return strings.Join(parts, "<br/>")
}

func dotEdgeLabel(e Edge) string {
	var parts []string
	if e.Label != "" {
		parts = append(parts, fmt.Sprintf(`<font point-size="10" color="%s">%s</font>`, labelColor, htmlLines(e.Label)))
	}
	if e.Value != "" {
		parts = append(parts, fmt.Sprintf(`<font color="%s">%s</font>`, valueColor, htmlLines(e.Value)))
	}
	if e.Grad != "" {
		parts = append(parts, fmt.Sprintf(`<font color="%s">%s</font>`, gradColor, htmlLines(e.Grad)))
	}
	return strings.Join(parts, "<br/>")
}

// htmlLines escapes text for an HTML-like label, newlines becoming breaks.
func htmlLines(s string) string {
	ls := lines(s)
	for i, l := range ls {
		ls[i] = xmlText(l)
	}
	return strings.Join(ls, "<br/>")
}

// dotQuoted escapes text for the inside of a DOT double-quoted string:
// only quotes and backslashes need it; newlines are dropped. Callers pass
// text through xmlText first: Graphviz keeps entities as they are and
// rejects invalid UTF-8.
func dotQuoted(s string) string { return dotQuoter.Replace(s) }

var dotQuoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ", "\r", " ")

// check validates the graph and maps IDs to node indexes.
func (g *Graph) check() (map[string]int, error) {
	idx := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		if _, dup := idx[n.ID]; dup {
			return nil, fmt.Errorf("viz: duplicate node ID %q", n.ID)
		}
		if n.Kind < KindOp || n.Kind > KindMore {
			return nil, fmt.Errorf("viz: node %q has unknown kind %d", n.ID, int(n.Kind))
		}
		idx[n.ID] = i
	}
	for i, e := range g.Edges {
		if _, ok := idx[e.From]; !ok {
			return nil, fmt.Errorf("viz: edge %d comes from unknown node %q", i, e.From)
		}
		if _, ok := idx[e.To]; !ok {
			return nil, fmt.Errorf("viz: edge %d goes to unknown node %q", i, e.To)
		}
	}
	return idx, nil
}
