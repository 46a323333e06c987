package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/expr"
	"github.com/gobackprop/backprop/viz"
)

func init() { register(newGradCmd) }

const gradUsage = "grad [--json] [--dot FILE] [--svg FILE] EXPR [NAME=VALUE ...]"

func newGradCmd() *cobra.Command {
	var jsonOut bool
	var dotFile, svgFile string
	cmd := &cobra.Command{
		Use:   gradUsage,
		Short: "Differentiate a scalar expression and show its backward pass step by step",
		Long: `grad evaluates EXPR on the backprop engine at the given variable values, runs the
backward pass, and prints every operation in forward order: what it computes,
its value, its local gradient for each input, the upstream gradient, and their
product, the gradient it passes to each input. Then df/dNAME for each variable.

EXPR has numbers (3, 0.5, 1e-3), variables, + - * / (left-associative), ^ or **
(power, right-associative, tighter than a sign on its left: -x^2 is -(x^2)),
unary - and +, parentheses, and the functions exp, log, sqrt, sin, cos, tanh,
sigmoid, relu, abs, pow(a,b), max(a,b), min(a,b).

Every variable in EXPR needs exactly one NAME=VALUE; a value for a name that
EXPR does not use is an error (it is most likely a typo). Flags come before
EXPR. An EXPR that begins with - works as it is (grad -x^2 x=3), except one
that looks like a flag (-h, --x): put such an EXPR after "--". An EXPR of "-"
is read from standard input, for expressions too long for a command line.`,
		Example: `  backprop grad '(x+y)*z' x=-2 y=5 z=-4
  backprop grad --json '1/(1+exp(-(w0*x0+w1*x1+w2)))' w0=2 x0=-1 w1=-3 x1=-2 w2=-3
  backprop grad --svg neuron.svg '1/(1+exp(-(w0*x0+w1*x1+w2)))' w0=2 x0=-1 w1=-3 x1=-2 w2=-3
  backprop grad --dot circuit.dot -- -x^2 x=3 && dot -Tsvg circuit.dot > circuit.svg`,
		Args:                  cobra.ArbitraryArgs,
		DisableFlagsInUseLine: true,
		// Flags are split from EXPR by hand (splitFlags), so that an EXPR
		// beginning with a minus sign is not taken for a flag.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			rest, err := splitFlags(cmd, args)
			if err != nil {
				return err
			}
			if help, _ := cmd.Flags().GetBool("help"); help {
				return cmd.Help()
			}
			for _, name := range []string{"svg", "dot"} {
				if cmd.Flags().Changed(name) && cmd.Flags().Lookup(name).Value.String() == "" {
					return fmt.Errorf("--%s needs a file name (or - for standard output)", name)
				}
			}
			if len(rest) == 0 {
				return errors.New("grad needs an EXPR (usage: backprop " + gradUsage + ")")
			}
			src := rest[0]
			if src == "-" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading EXPR from standard input: %w", err)
				}
				src = string(b)
			}
			if dotFile == "-" && jsonOut {
				return errors.New("--json and --dot - would both write to standard output")
			}
			if svgFile == "-" && (jsonOut || dotFile == "-") {
				return errors.New("--svg - and --json or --dot - would both write to standard output")
			}
			return runGrad(cmd.OutOrStdout(), src, rest[1:], jsonOut, dotFile, svgFile)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print one JSON object: value, gradients and nodes")
	cmd.Flags().StringVar(&dotFile, "dot", "", "write the graph as Graphviz DOT to `FILE` (- for standard output, instead of the table)")
	cmd.Flags().StringVar(&svgFile, "svg", "", "draw the graph as SVG into `FILE`, values in green and gradients in red (- for standard output)")
	return cmd
}

func runGrad(out io.Writer, src string, bindings []string, jsonOut bool, dotFile, svgFile string) error {
	ast, err := expr.Parse(src)
	if err != nil {
		return err
	}
	vals, err := expr.ParseBindings(bindings)
	if err != nil {
		return err
	}
	res, err := expr.Eval(ast, vals)
	if err != nil {
		return err
	}
	switch {
	case svgFile == "-":
		return viz.FromExpr(res).WriteSVG(out)
	case svgFile != "":
		if err := checkpoint.WriteFileAtomic(svgFile, viz.FromExpr(res).WriteSVG); err != nil {
			return err
		}
	}
	switch {
	case dotFile == "-":
		return res.WriteDOT(out)
	case dotFile != "":
		if err := checkpoint.WriteFileAtomic(dotFile, res.WriteDOT); err != nil {
			return err
		}
	}
	if jsonOut {
		return res.WriteJSON(out)
	}
	return res.WriteTable(out)
}

// splitFlags parses the flags in front of EXPR and returns the arguments
// from EXPR on. Flags end at "--", at the first argument that does not
// begin with "-", and at the first one that begins with "-" but is not a
// known flag: that is an EXPR with a leading sign. An unknown "--name" is
// an error, since it is far likelier a mistyped flag than an expression.
func splitFlags(cmd *cobra.Command, args []string) ([]string, error) {
	cmd.InheritedFlags() // merges the parents' persistent flags into Flags
	fs := cmd.Flags()
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		if a[1] == '-' {
			name, _, hasValue := strings.Cut(a[2:], "=")
			f := fs.Lookup(name)
			if f == nil {
				return nil, fmt.Errorf("unknown flag %s (put an EXPR that begins with a sign after --)", a)
			}
			if !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
				i++ // the flag's value
			}
			i++
			continue
		}
		if len(a) == 2 && fs.ShorthandLookup(a[1:]) != nil {
			i++
			continue
		}
		break // an EXPR such as -x^2
	}
	flagArgs := args[:i]
	if err := fs.Parse(flagArgs); err != nil {
		return nil, err
	}
	return args[i:], nil
}
