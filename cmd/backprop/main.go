// Command backprop differentiates expressions, trains and evaluates models,
// and serves them, on the backprop engine.
//
//	backprop grad '(x+y)*z' x=-2 y=5 z=-4
//
// Every subcommand lives in its own file and adds itself with register in
// an init function. Errors take one path: a subcommand returns an error,
// and run prints it as one line, "backprop: <message>", on standard error
// and exits with status 1. A panic is a bug; run catches it too, prints one
// line and exits with status 2, so no trace reaches the user.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	bp "github.com/gobackprop/backprop"
)

// commands holds the constructors of the subcommands. A constructor rather
// than a command, so that every run (and every test) gets fresh flags.
var commands []func() *cobra.Command

// register adds a subcommand; call it from an init function of the file
// that defines the command.
func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "backprop",
		Short: "Reverse-mode automatic differentiation and neural-network training",
		Long: "backprop is reverse-mode automatic differentiation (backpropagation) and neural-network\n" +
			"training in Go. Its subcommands differentiate expressions, train and evaluate models.",
		// run prints errors itself, as one line, and the usage would bury it.
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if dataParallel[cmd.CommandPath()] {
				return nil
			}
			return refuseUnderMpirun(strings.TrimPrefix(cmd.CommandPath(), "backprop "))
		},
	}
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status: 0 on
// success, 1 after an error, 2 after a panic.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			// Sizes the user gave that no machine here could hold are the
			// user's mistake, said as one; anything else is ours.
			if e, ok := r.(*bp.AllocError); ok {
				fmt.Fprintf(stderr, "%s: check the sizes given\n", oneLine(e.Error()))
				code = 1
				return
			}
			fmt.Fprintf(stderr, "backprop: internal error (a bug, please report it): %s\n", oneLine(fmt.Sprint(r)))
			code = 2
		}
	}()
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "backprop: %s\n", oneLine(err.Error()))
		return 1
	}
	return 0
}

// oneLine folds a message onto one line (cobra's suggestions, for one,
// come on several).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
