package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"

	"github.com/spf13/cobra"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/bench"
	"github.com/gobackprop/backprop/internal/kernels"
)

func init() { register(newBenchCmd) }

// benchSubcommands lets other files (bench train) add to `backprop bench`.
var benchSubcommands []func() *cobra.Command

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure kernels and training speed; one JSON line per measurement",
		Long: `bench runs the project's speed workloads, the same ones as the PyTorch twins in
shared/bench, and prints one JSON line per measurement: the median of several timed
repeats after a warm-up. scripts/compare.sh runs them side by side with the twins.`,
	}
	cmd.AddCommand(newBenchGemmCmd(), newBenchAutogradCmd())
	for _, c := range benchSubcommands {
		cmd.AddCommand(c())
	}
	return cmd
}

// setThreads applies --threads to the kernels and the Go scheduler.
func setThreads(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("--threads must be positive, got %d", n)
	}
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	runtime.GOMAXPROCS(n)
	bp.SetThreads(n)
	return n, nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func newBenchGemmCmd() *cobra.Command {
	var m, n, k, threads, reps int
	var ta, tb bool
	cmd := &cobra.Command{
		Use:   "gemm --m M --n N --k K [--ta] [--tb] [--threads T]",
		Short: "float32 matrix multiply C = A*B, GFLOP/s",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := setThreads(threads)
			if err != nil {
				return err
			}
			g, err := bench.GEMM(m, n, k, ta, tb, reps)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{
				"bench": "gemm", "m": m, "n": n, "k": k, "ta": ta, "tb": tb, "threads": t,
				"gflops": round(bench.Median(g), 2), "impl": kernels.GemmImpl(),
			})
		},
	}
	cmd.Flags().IntVar(&m, "m", 512, "rows of A and C")
	cmd.Flags().IntVar(&n, "n", 512, "columns of B and C")
	cmd.Flags().IntVar(&k, "k", 512, "columns of A, rows of B")
	cmd.Flags().BoolVar(&ta, "ta", false, "A is stored k x m and read transposed")
	cmd.Flags().BoolVar(&tb, "tb", false, "B is stored n x k and read transposed")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (default GOMAXPROCS)")
	cmd.Flags().IntVar(&reps, "reps", 7, "timed repeats (the median is printed)")
	return cmd
}

func newBenchAutogradCmd() *cobra.Command {
	var ops, reps int
	cmd := &cobra.Command{
		Use:   "autograd [--ops N]",
		Short: "record and differentiate a chain of scalar ops; ns per op, forward and backward",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ops < 4 || reps < 1 {
				return fmt.Errorf("--ops must be at least 4 and --reps at least 1")
			}
			bench.ScalarChain(ops) // warm-up
			var fwd, bwd []float64
			for range reps {
				f, b, _ := bench.ScalarChain(ops)
				fwd, bwd = append(fwd, f), append(bwd, b)
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{
				"bench": "autograd", "ops": ops,
				"ns_per_op_fwd": round(bench.Median(fwd), 1), "ns_per_op_bwd": round(bench.Median(bwd), 1),
			})
		},
	}
	cmd.Flags().IntVar(&ops, "ops", 100_000, "ops in the chain")
	cmd.Flags().IntVar(&reps, "reps", 5, "timed repeats (the median is printed)")
	return cmd
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
