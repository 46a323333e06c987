package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/dist/mpi"
)

func init() { benchSubcommands = append(benchSubcommands, newBenchAllreduceCmd) }

func newBenchAllreduceCmd() *cobra.Command {
	var minBytes, maxBytes, iters, warmup int
	cmd := &cobra.Command{
		Use:   "allreduce [--min-bytes B] [--max-bytes B]",
		Short: "in-place float32 allreduce (sum) across the processes of mpirun: time and bus bandwidth per buffer size",
		Long: `allreduce times the in-place float32 sum across the processes started by mpirun,
the collective that data-parallel training runs after every backward pass, for
buffer sizes from --min-bytes to --max-bytes, doubling. Rank 0 prints one JSON
line per size with the slowest rank's mean time and the bandwidths as
nccl-tests define them: algbw = bytes / time, and busbw = algbw * 2(n-1)/n,
the traffic each link carries in a ring allreduce of n processes, which makes
figures comparable across process counts.

  mpirun -np 2 backprop bench allreduce
  mpirun -np 4 --mca btl self,tcp backprop bench allreduce --max-bytes 16777216`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if minBytes < 4 || maxBytes < minBytes || iters < 1 || warmup < 0 {
				return fmt.Errorf("want 4 <= --min-bytes <= --max-bytes, --iters >= 1 and --warmup >= 0")
			}
			c, err := mpi.Init()
			if err != nil {
				return err
			}
			defer c.Close()
			if !dist.Launched() {
				fmt.Fprintln(cmd.ErrOrStderr(), "backprop: not started by mpirun: timing a world of one process (try mpirun -np 2 backprop bench allreduce)")
			}
			n := c.Size()
			buf := make([]float32, maxBytes/4)
			times := make([]float64, n)
			for size := minBytes; size <= maxBytes; size *= 2 {
				b := buf[:size/4]
				clear(b)
				for range warmup {
					if err := c.AllreduceFloat32(b); err != nil {
						return err
					}
				}
				if err := c.Barrier(); err != nil {
					return err
				}
				start := time.Now()
				for range iters {
					if err := c.AllreduceFloat32(b); err != nil {
						return err
					}
				}
				clear(times)
				times[c.Rank()] = time.Since(start).Seconds() / float64(iters)
				if err := c.AllreduceFloat64(times); err != nil {
					return err
				}
				if c.Rank() != 0 {
					continue
				}
				sec := slices.Max(times)
				bytes := float64(len(b) * 4)
				algbw := bytes / sec / 1e9
				if err := printJSON(cmd.OutOrStdout(), map[string]any{
					"bench": "allreduce", "ranks": n, "bytes": len(b) * 4, "count": len(b), "dtype": "float32",
					"op": "sum", "in_place": true, "library": c.Name(),
					"algorithm":  "MPI_Allreduce (the library's choice for this size and process count)",
					"time_us":    round(sec*1e6, 2),
					"algbw_GBps": round(algbw, 3),
					"busbw_GBps": round(algbw*2*float64(n-1)/float64(n), 3),
				}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&minBytes, "min-bytes", 4, "smallest buffer, bytes")
	cmd.Flags().IntVar(&maxBytes, "max-bytes", 64<<20, "largest buffer, bytes")
	cmd.Flags().IntVar(&iters, "iters", 20, "timed allreduces per size")
	cmd.Flags().IntVar(&warmup, "warmup", 5, "untimed allreduces first")
	return cmd
}
